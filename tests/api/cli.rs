//! The real binary: bootstrap commands and process lifecycle.

use std::{
    io::{BufRead, BufReader, Read},
    process::{Child, Command, Stdio},
};

use serde_json::json;

use crate::helpers::{Backend, TestOptions, spawn_app_with};

fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_waba-bot"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn");
    command
}

#[tokio::test]
async fn create_user_bootstraps_an_admin_that_can_sign_in() {
    if Backend::current() != Backend::Sqlite {
        return; // The command is the same on both backends; one file database is enough here.
    }
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}?mode=rwc", dir.path().join("cli.db").display());
    // The app below runs on this test's only runtime thread: the binary must be awaited, never
    // waited for, or a transaction the app has open stays open and the binary finds the file locked.
    let run = async |args: &[&str]| {
        let mut command = binary();
        command
            .env("DATABASE_URL", &database_url)
            .env("DATA_DIR", dir.path())
            .args(args);
        tokio::process::Command::from(command)
            .output()
            .await
            .expect("binary runs")
    };
    let migrated = run(&["migrate"]).await;
    assert!(
        migrated.status.success(),
        "{}",
        String::from_utf8_lossy(&migrated.stderr)
    );
    let created = run(&[
        "create-user",
        "--email",
        "Root@Waba.test",
        "--password",
        "first-password",
        "--role",
        "admin",
        "--verified",
    ])
    .await;
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    assert!(String::from_utf8_lossy(&created.stdout).contains("created user"));
    let reset = run(&[
        "create-user",
        "--email",
        "root@waba.test",
        "--password",
        "second-password",
        "--role",
        "admin",
    ])
    .await;
    assert!(String::from_utf8_lossy(&reset.stdout).contains("reset the password"));
    let short = run(&[
        "create-user",
        "--email",
        "x@waba.test",
        "--password",
        "short",
    ])
    .await;
    assert!(!short.status.success());

    let app = spawn_app_with(TestOptions {
        database_url: Some(database_url.clone()),
        ..TestOptions::default()
    })
    .await;
    let session = app.login("root@waba.test", "second-password").await;
    assert_eq!(session["user"]["role"], "ADMIN");
    let me = app
        .gql(
            session["accessToken"].as_str(),
            "{ me { emailVerified } }",
            json!({}),
        )
        .await;
    assert_eq!(me.data()["me"]["emailVerified"], true);

    let deactivated = run(&["deactivate-user", "--email", "ROOT@waba.test"]).await;
    assert!(
        deactivated.status.success(),
        "{}",
        String::from_utf8_lossy(&deactivated.stderr)
    );
    assert!(String::from_utf8_lossy(&deactivated.stdout).contains("deactivated user"));
    let me = app
        .gql(session["accessToken"].as_str(), "{ me { id } }", json!({}))
        .await;
    assert_eq!(me.code(), "UNAUTHENTICATED");
    let unknown = run(&["deactivate-user", "--email", "nobody@waba.test"]).await;
    assert!(!unknown.status.success());
}

#[test]
fn production_refuses_to_start_without_secrets_and_names_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let output = binary()
        .env("APP_ENV", "production")
        .env("DATA_DIR", dir.path())
        .env("ENCRYPTION_KEY", "ab".repeat(32))
        .arg("migrate")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("JWT_SECRET"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn sigterm_drains_and_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = binary()
        .env("DATA_DIR", dir.path())
        .env("HOST", "127.0.0.1")
        // The kernel picks a free port and the ready line names it: a port chosen here and
        // released before the child binds it could be taken in between by another test.
        .env("PORT", "0")
        .env("RUST_LOG", "waba_bot=info")
        .env("SHUTDOWN_TIMEOUT_SECONDS", "5")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let Some(port) = ready_port(&mut stdout) else {
        let stderr = stderr_of(&mut child);
        panic!(
            "the server exited before it was ready ({:?}): {stderr}",
            child.wait()
        );
    };
    // Keep draining the child's logs so it never blocks on a full pipe.
    let drain = std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    assert!(probe::ready(port), "GET /readyz after the ready line");
    assert!(
        dir.path().join("waba-bot.db").exists(),
        "the embedded default creates its SQLite file in DATA_DIR"
    );
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    drain.join().unwrap().unwrap();
    assert!(
        status.success(),
        "exit status {status:?}: {}",
        stderr_of(&mut child)
    );
}

/// Everything the child wrote to its (piped) stderr, read to its end.
fn stderr_of(child: &mut Child) -> String {
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr is piped")
        .read_to_string(&mut stderr)
        .unwrap();
    stderr
}

/// Reads the server's log until its ready line and returns the port it names (`None` when the
/// process ends first).
fn ready_port(logs: &mut impl BufRead) -> Option<u16> {
    let mut line = String::new();
    loop {
        line.clear();
        if logs.read_line(&mut line).ok()? == 0 {
            return None;
        }
        // Plain text: the server colours its logs only on a terminal.
        if let Some((_, fields)) = line.split_once("waba-bot is ready") {
            let port = fields
                .split_whitespace()
                .find_map(|f| f.strip_prefix("port="));
            return port.and_then(|p| p.parse().ok());
        }
    }
}

mod probe {
    /// A plain HTTP/1.0 GET of /readyz over a std socket (no runtime needed in a sync test).
    pub fn ready(port: u16) -> bool {
        use std::io::{Read, Write};
        let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
            return false;
        };
        let _ = stream.write_all(b"GET /readyz HTTP/1.0\r\nHost: localhost\r\n\r\n");
        let mut response = String::new();
        let _ = stream.read_to_string(&mut response);
        response.starts_with("HTTP/1.0 200") || response.starts_with("HTTP/1.1 200")
    }
}

/// `deactivate-user` runs in its own process; through Redis it still reaches the running
/// instances, whose open sockets for the user end at once (the periodic check is an hour away).
#[tokio::test]
async fn deactivate_user_ends_the_users_open_sockets_on_running_instances() {
    if Backend::current() != Backend::Postgres {
        return; // Only Redis connects this process to the running instance.
    }
    let app = crate::helpers::spawn_app_with_settings(&[("WS_REVALIDATE_SECONDS", "3600")]).await;
    let email = format!("owner-{}@waba.test", uuid::Uuid::now_v7().simple());
    let session = app
        .user_session(&email, waba_bot::kernel::viewer::Role::Tenant, true)
        .await;
    let mut socket =
        crate::websocket::connected(&app, session["accessToken"].as_str().unwrap()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut command = binary();
    command
        .env("DATABASE_URL", &app.database_url)
        .env(
            "REDIS_URL",
            std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into()),
        )
        .env("REDIS_PREFIX", &app.redis_prefix)
        .env("DATA_DIR", dir.path())
        .args(["deactivate-user", "--email", &email]);
    let deactivated = tokio::process::Command::from(command)
        .output()
        .await
        .unwrap();
    assert!(
        deactivated.status.success(),
        "{}",
        String::from_utf8_lossy(&deactivated.stderr)
    );
    assert_eq!(socket.next().await.unwrap_err().code, 4403);
}
