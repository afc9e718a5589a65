//! Who is asking, as seen by resolvers. The HTTP and WebSocket layers authenticate once per
//! request or connection and attach a [`RequestAuth`]; resolvers ask for the [`Viewer`] here.

use async_graphql::Context;

use crate::{
    kernel::{error::AppError, viewer::Viewer},
    state::AppState,
};

/// The outcome of authenticating a request, attached to its GraphQL context.
#[derive(Clone, Debug)]
pub enum RequestAuth {
    /// No credentials were sent.
    Anonymous,
    /// A valid token.
    Viewer(Viewer),
    /// Credentials were sent but rejected; public operations still run.
    Rejected { expired: bool, message: String },
}

impl RequestAuth {
    pub fn from_result(result: Result<Viewer, AppError>) -> Self {
        match result {
            Ok(viewer) => Self::Viewer(viewer),
            Err(AppError::TokenExpired) => Self::Rejected {
                expired: true,
                message: "token expired".into(),
            },
            Err(err) => Self::Rejected {
                expired: false,
                message: err.public_message(),
            },
        }
    }
}

/// The client's IP address, when known (rate limits).
#[derive(Clone, Debug)]
pub struct ClientIp(pub std::net::IpAddr);

/// The application state.
pub fn state<'a>(ctx: &Context<'a>) -> &'a AppState {
    ctx.data_unchecked::<AppState>()
}

/// The authenticated viewer, or the reason there is none.
pub fn viewer(ctx: &Context<'_>) -> Result<Viewer, AppError> {
    match ctx.data_opt::<RequestAuth>() {
        Some(RequestAuth::Viewer(viewer)) => Ok(*viewer),
        Some(RequestAuth::Rejected { expired: true, .. }) => Err(AppError::TokenExpired),
        Some(RequestAuth::Rejected { message, .. }) => {
            Err(AppError::Unauthenticated(message.clone()))
        }
        Some(RequestAuth::Anonymous) | None => Err(AppError::unauthenticated()),
    }
}

/// The client's IP. The HTTP and WebSocket layers always attach it; an operation run without one
/// (none today) shares the `unknown` bucket of every per-IP limit rather than skipping the limit.
pub fn client_ip(ctx: &Context<'_>) -> String {
    ctx.data_opt::<ClientIp>()
        .map_or_else(|| "unknown".to_owned(), |ip| ip.0.to_string())
}
