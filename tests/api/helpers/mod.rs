//! Test harness: `spawn_app()` starts the real application on port 0 against a fresh database
//! (Postgres + Redis when `TEST_BACKEND=postgres`, a SQLite file otherwise), with SMTP, Google and
//! Meta's Graph API pointed at local mock servers.

mod app;
mod catalog;
mod db;
pub mod fixtures;
pub mod google;
pub mod meta;
pub mod smtp;
pub mod ws;

pub use app::{
    Backend, GqlResponse, TestApp, TestOptions, spawn_app, spawn_app_with, spawn_app_with_settings,
    unique_phone,
};
pub use catalog::assert_one_wins;
