//! Cursor connections shared by list fields: opaque cursors, `first` bounded, and a `totalCount`
//! on every connection. Lists ordered by creation use UUID v7 id cursors; lists ordered by an
//! instant use keyset cursors `(instant, id)`.
//!
//! The connection and edge types are ours rather than async-graphql's so that edges and nodes
//! resolve as [`Inline`] objects in an [`InlineList`] and cursors are encoded only when selected:
//! on a 500-row page all three are measurable. The SDL keeps the Relay shape
//! (`XConnection { pageInfo edges nodes totalCount }`, `XEdge { node cursor }`).

use std::borrow::Cow;

use async_graphql::{Object, ObjectType, TypeName, connection::PageInfo};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{
    graphql::inline::{Inline, InlineList},
    kernel::error::AppError,
};

/// The page size of every connection: `first` defaults to 50 and may ask for up to 500, which
/// fits a month of a busy appointment book in one page. A page costs the same statements whatever
/// its length, so the bound is about response size. Each `first` argument's description states
/// these numbers (a test holds them to this constant).
pub const PAGE_SIZE: PageSize = PageSize {
    default: 50,
    max: 500,
};

/// The page size of chat lists (`conversations`, a conversation's `messages`): a screen of them,
/// loaded as the person scrolls.
pub const CHAT_PAGE_SIZE: PageSize = PageSize {
    default: 20,
    max: 100,
};

/// The default and the largest `first` of a connection.
#[derive(Clone, Copy, Debug)]
pub struct PageSize {
    pub default: u64,
    pub max: u64,
}

impl PageSize {
    /// A `first` argument: the default when omitted, else bounded to `1..=max`.
    pub fn parse(self, first: Option<i32>) -> Result<u64, AppError> {
        match first.map(u64::try_from) {
            None => Ok(self.default),
            Some(Ok(n)) if (1..=self.max).contains(&n) => Ok(n),
            Some(_) => Err(AppError::bad_input(
                "first",
                format!("first must be between 1 and {}", self.max),
            )),
        }
    }
}

/// Where an edge sits in its list, encoded into an opaque string only when asked for.
#[derive(Clone, Copy, Debug)]
pub enum Cursor {
    /// Lists ordered by (UUID v7) id.
    Id(Uuid),
    /// Lists ordered by an instant, ties broken by id.
    Keyset(DateTime<Utc>, Uuid),
}

impl Cursor {
    fn encode(self) -> String {
        match self {
            Cursor::Id(id) => encode_cursor(id),
            Cursor::Keyset(at, id) => encode_keyset_cursor(at, id),
        }
    }
}

/// A page of `T` nodes.
pub struct Page<T> {
    edges: Vec<Inline<Edge<T>>>,
    has_previous_page: bool,
    has_next_page: bool,
    total_count: u64,
}

impl<T: ObjectType> TypeName for Page<T> {
    fn type_name() -> Cow<'static, str> {
        format!("{}Connection", T::type_name()).into()
    }
}

/// A page of a list, with Relay-style cursors and the number of items across all pages.
#[Object(name_type)]
impl<T: ObjectType> Page<T> {
    /// Information to aid in pagination.
    async fn page_info(&self) -> PageInfo {
        PageInfo {
            has_previous_page: self.has_previous_page,
            has_next_page: self.has_next_page,
            start_cursor: self.edges.first().map(|edge| edge.0.cursor.encode()),
            end_cursor: self.edges.last().map(|edge| edge.0.cursor.encode()),
        }
    }

    /// A list of edges.
    async fn edges(&self) -> InlineList<&Inline<Edge<T>>> {
        InlineList(self.edges.iter().collect())
    }

    /// A list of nodes.
    async fn nodes(&self) -> InlineList<&Inline<T>> {
        InlineList(self.edges.iter().map(|edge| &edge.0.node).collect())
    }

    /// How many items match, across all pages.
    async fn total_count(&self) -> u64 {
        self.total_count
    }
}

/// One node of a page with its cursor.
pub struct Edge<T> {
    cursor: Cursor,
    node: Inline<T>,
}

impl<T: ObjectType> TypeName for Edge<T> {
    fn type_name() -> Cow<'static, str> {
        format!("{}Edge", T::type_name()).into()
    }
}

/// An edge in a connection.
#[Object(name_type)]
impl<T: ObjectType> Edge<T> {
    /// The item at the end of the edge
    async fn node(&self) -> &Inline<T> {
        &self.node
    }

    /// A cursor for use in pagination
    async fn cursor(&self) -> String {
        self.cursor.encode()
    }
}

/// Parsed `first`/`after` arguments of an id-ordered list.
#[derive(Clone, Copy, Debug)]
pub struct PageArgs {
    pub first: u64,
    pub after: Option<Uuid>,
}

impl PageArgs {
    pub fn parse(first: Option<i32>, after: Option<String>) -> Result<Self, AppError> {
        let first = PAGE_SIZE.parse(first)?;
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

fn encode_keyset_cursor(at: DateTime<Utc>, id: Uuid) -> String {
    let mut bytes = at.timestamp_micros().to_be_bytes().to_vec();
    bytes.extend_from_slice(id.as_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn decode_keyset_cursor(cursor: &str) -> Result<(DateTime<Utc>, Uuid), AppError> {
    let invalid = || AppError::bad_input("after", "invalid cursor");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let (micros, id) = bytes.split_at_checked(8).ok_or_else(invalid)?;
    let micros = i64::from_be_bytes(micros.try_into().map_err(|_| invalid())?);
    let at = DateTime::from_timestamp_micros(micros).ok_or_else(invalid)?;
    Ok((at, Uuid::from_slice(id).map_err(|_| invalid())?))
}

/// Builds a connection from one page of `(id, node)` pairs ordered by id.
pub fn page<T: ObjectType>(
    items: Vec<(Uuid, T)>,
    has_next: bool,
    has_previous: bool,
    total: u64,
) -> Page<T> {
    let items = items
        .into_iter()
        .map(|(id, node)| (Cursor::Id(id), node))
        .collect();
    page_with_cursors(items, has_next, has_previous, total)
}

/// Builds a connection from one page of `(cursor, node)` pairs.
pub fn page_with_cursors<T: ObjectType>(
    items: Vec<(Cursor, T)>,
    has_next: bool,
    has_previous: bool,
    total: u64,
) -> Page<T> {
    Page {
        edges: items
            .into_iter()
            .map(|(cursor, node)| {
                Inline(Edge {
                    cursor,
                    node: Inline(node),
                })
            })
            .collect(),
        has_previous_page: has_previous,
        has_next_page: has_next,
        total_count: total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyset_cursors_round_trip_and_reject_garbage() {
        let at = DateTime::parse_from_rfc3339("2026-12-01T12:34:56.789012Z")
            .unwrap()
            .with_timezone(&Utc);
        let id = Uuid::now_v7();
        assert_eq!(
            decode_keyset_cursor(&encode_keyset_cursor(at, id)).unwrap(),
            (at, id)
        );
        assert!(decode_keyset_cursor("garbage").is_err());
        assert!(decode_keyset_cursor(&encode_cursor(id)).is_err());
    }

    #[test]
    fn first_is_bounded() {
        assert_eq!(PAGE_SIZE.parse(None).unwrap(), 50);
        assert_eq!(PAGE_SIZE.parse(Some(500)).unwrap(), 500);
        assert!(PAGE_SIZE.parse(Some(0)).is_err());
        assert!(PAGE_SIZE.parse(Some(-1)).is_err());
        assert!(PAGE_SIZE.parse(Some(501)).is_err());
    }
}
