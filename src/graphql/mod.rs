//! The schema toolkit: what every domain's GraphQL surface is built with, importing no domain.
//! Scalars, cursor pagination with inline list resolution, the viewer and state of an operation,
//! DataLoader helpers, document limits, the error coding of responses, and the sharing of identical
//! subscriptions. The schema itself is assembled in
//! `crate::schema`.

pub mod errors;
pub mod inline;
pub mod limits;
pub mod loaders;
pub mod pagination;
pub mod scalars;
pub mod shared;
pub mod viewer;
