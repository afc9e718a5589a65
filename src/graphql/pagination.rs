//! Cursor connections shared by list fields: opaque cursors over UUID v7 ids (so pages follow
//! creation order), `first` bounded to 1..=100, and a `totalCount` on every connection.

use async_graphql::{
    OutputType, SimpleObject,
    connection::{Connection, Edge},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use uuid::Uuid;

use crate::error::AppError;

pub const DEFAULT_PAGE_SIZE: u64 = 20;
pub const MAX_PAGE_SIZE: u64 = 100;

/// Extra fields of every connection.
#[derive(SimpleObject, Debug)]
pub struct TotalCount {
    /// How many items match, across all pages.
    pub total_count: u64,
}

/// A connection whose nodes are `T`.
pub type Page<T> = Connection<String, T, TotalCount>;

/// Parsed `first`/`after` arguments.
#[derive(Clone, Copy, Debug)]
pub struct PageArgs {
    pub first: u64,
    pub after: Option<Uuid>,
}

impl PageArgs {
    pub fn parse(first: Option<i32>, after: Option<String>) -> Result<Self, AppError> {
        let first = match first {
            None => DEFAULT_PAGE_SIZE,
            Some(n) if n >= 1 && u64::try_from(n).is_ok_and(|n| n <= MAX_PAGE_SIZE) => n as u64,
            Some(_) => {
                return Err(AppError::bad_input(
                    "first",
                    format!("first must be between 1 and {MAX_PAGE_SIZE}"),
                ));
            }
        };
        let after = after.map(|cursor| decode_cursor(&cursor)).transpose()?;
        Ok(Self { first, after })
    }
}

pub fn encode_cursor(id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(id.as_bytes())
}

fn decode_cursor(cursor: &str) -> Result<Uuid, AppError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| Uuid::from_slice(&bytes).ok())
        .ok_or_else(|| AppError::bad_input("after", "invalid cursor"))
}

/// Builds a connection from one page of `(id, node)` pairs.
pub fn page<T: OutputType>(
    items: Vec<(Uuid, T)>,
    has_next: bool,
    has_previous: bool,
    total: u64,
) -> Page<T> {
    let mut connection = Connection::with_additional_fields(
        has_previous,
        has_next,
        TotalCount { total_count: total },
    );
    connection.edges.extend(
        items
            .into_iter()
            .map(|(id, node)| Edge::new(encode_cursor(id), node)),
    );
    connection
}
