//! The command line: `serve` (default), `migrate`, `schema`, `create-user`.

use clap::{Parser, Subcommand, ValueEnum};
use secrecy::ExposeSecret;

use crate::{
    config::Settings,
    db,
    domains::auth::service::{
        Provisioned, announce_sessions_revoked, deactivate_by_email, provision_user,
    },
    kernel::viewer::Role,
    metrics::Metrics,
    startup::{self, Application},
    telemetry,
};

/// WhatsApp booking assistant backend.
#[derive(Debug, Parser)]
#[command(name = "waba-bot", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API, webhooks and the job worker (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Stop a user from signing in and end their sessions.
    DeactivateUser {
        #[arg(long)]
        email: String,
    },
    /// Create a user, or reset the password of an existing one.
    CreateUser {
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: String,
        #[arg(long, value_enum, default_value_t = RoleArg::Tenant)]
        role: RoleArg,
        /// Mark the e-mail as verified.
        #[arg(long)]
        verified: bool,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum RoleArg {
    Admin,
    Tenant,
}

impl Cli {
    pub async fn run(self) -> anyhow::Result<()> {
        let command = self.command.unwrap_or(Command::Serve);
        if let Command::Schema = command {
            print!("{}", crate::schema::sdl());
            return Ok(());
        }
        // Logging starts before the settings load so their warnings (generated secrets) show.
        telemetry::init_from_env();
        let settings = Settings::from_env()?;
        match command {
            Command::Serve => {
                Application::build(settings)
                    .await?
                    .run_until_stopped()
                    .await
            }
            Command::Migrate => {
                let db = db::connect(&settings.database, &Metrics::new(), "api", 2).await?;
                db::migrate(&db).await?;
                tracing::info!("migrations applied");
                Ok(())
            }
            Command::CreateUser {
                email,
                password,
                role,
                verified,
            } => {
                let db = db::connect(&settings.database, &Metrics::new(), "api", 2).await?;
                db::migrate(&db).await?;
                let role = match role {
                    RoleArg::Admin => Role::Admin,
                    RoleArg::Tenant => Role::Tenant,
                };
                match provision_user(&db, &email, &password, role, verified).await? {
                    Provisioned::Created(id) => println!("created user {id} ({email})"),
                    Provisioned::PasswordReset(id) => {
                        println!("reset the password of user {id} ({email})")
                    }
                }
                Ok(())
            }
            Command::DeactivateUser { email } => {
                let db = db::connect(&settings.database, &Metrics::new(), "api", 2).await?;
                db::migrate(&db).await?;
                let user = deactivate_by_email(&db, &email).await?;
                // Running instances end the user's open sockets now rather than at their next
                // periodic check. Without Redis this process cannot reach them.
                if let Some(url) = &settings.redis.url {
                    let (_, broker) =
                        startup::connect_redis(url.expose_secret(), &settings.redis.prefix).await?;
                    announce_sessions_revoked(&broker, user.id).await;
                }
                println!("deactivated user {} ({})", user.id, user.email);
                Ok(())
            }
            Command::Schema => unreachable!("handled above"),
        }
    }
}
