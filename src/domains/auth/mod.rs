//! Accounts and sessions: password and Google sign-in, JWT access tokens, rotating refresh tokens,
//! one-time login codes, e-mail verification, and who is asking (`Viewer`).
//!
//! Invariants:
//! - Passwords are argon2id hashes (bcrypt hashes imported from the previous system still verify
//!   and are upgraded on the next successful login).
//! - Refresh tokens, login codes and OAuth states are stored only as SHA-256 hashes; e-mail codes
//!   as a keyed hash plus a ciphertext for the sending job.
//! - Refresh tokens are single-use: presenting a used one revokes its whole family.
//! - A viewer's tenant comes from the verified user record, never from request input.
//!
//! Calls: `tenants` (a user's tenant for `me`).

pub mod google;
pub mod graphql;
pub mod jobs;
pub mod model;
pub mod password;
pub mod repo;
pub mod service;
pub mod verification;

use axum::{Router, routing::get};

use crate::{
    domain::Domain,
    graphql::loaders::cached,
    jobs::{CronKind, JobKind},
    kernel::events::EventPayload,
    state::AppState,
};

pub const DOMAIN: Domain = Domain::new("auth")
    .with_loaders(|data, state| data.insert(cached(graphql::MemberLoader(state.clone()))))
    .with_jobs(&[JobKind::of::<jobs::SendVerificationEmail>()])
    .with_crons(&[CronKind::of::<jobs::PurgeExpiredCredentials>()])
    .with_routes(routes)
    .with_events(&[model::SessionRevoked::KIND]);

/// Google sign-in redirects (browsers are sent here, so these are REST).
fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/google", get(google::start))
        .route("/auth/google/callback", get(google::callback))
}
