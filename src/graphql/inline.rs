//! `Inline<T>`: an object type whose selected fields resolve one after another inside a single
//! future, for the nodes of long lists.
//!
//! async-graphql resolves every field of every object as its own boxed future, polled through a
//! fresh `FuturesUnordered` per object. That is the right default when fields do I/O, but on a
//! 500-row page whose relations are already loaded it is the dominant cost: about
//! 60 allocations per row and a copy of each field's future into its box. `Inline<T>` keeps `T`'s
//! schema type and its generated `resolve_field`, and only changes how the selection set is
//! walked: fields are awaited in order, without boxing them (each object's walk is boxed once, see
//! `resolve`). Items of a list still resolve concurrently, so relation loads of a page still batch
//! across its rows.
//!
//! Invariant: the output is exactly what async-graphql's own container resolution produces. A
//! selection set that needs more than a straight walk (fragments, directives, a response key
//! selected twice) falls back to it. Field-level extension hooks would be skipped, which is why
//! the schema installs no extensions (see `schema::build`).
//!
//! `InlineList<T>` is the list counterpart. async-graphql joins a long list through a
//! `FuturesOrdered`: a reference-counted task per item, queued and woken one by one.
//! `InlineList` joins the items in chunks of at most [`CHUNK`], the size up to which
//! `try_join_all` keeps its futures in one allocation and polls them in place, and joins all
//! chunks at once. Every item is still polled before any of them waits, so the relation loads
//! of a page still go out as one batch; the output, errors and paths included, is the same.

use std::borrow::Cow;

use async_graphql::{
    ContextSelectionSet, Name, ObjectType, OutputType, Positioned, ServerResult, Value,
    indexmap::IndexMap,
    parser::types::{Field, Selection},
    registry::Registry,
    resolver_utils::resolve_container,
};
use futures_util::future::try_join_all;

/// `T`, resolved field by field in one future (see the module docs).
pub struct Inline<T>(pub T);

/// A list of `T` (`[T!]!`) whose items are joined in chunks (see the module docs).
pub struct InlineList<T>(pub Vec<T>);

/// Up to this many futures, `try_join_all` keeps them in one allocation and polls them in place
/// instead of spawning a task each into a `FuturesOrdered`.
const CHUNK: usize = 30;

impl<T: OutputType> OutputType for InlineList<T> {
    fn type_name() -> Cow<'static, str> {
        <&[T]>::type_name()
    }

    fn qualified_type_name() -> String {
        <&[T]>::qualified_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        <&[T]>::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        let chunks = self.0.chunks(CHUNK).enumerate().map(|(chunk, items)| {
            try_join_all(items.iter().enumerate().map(move |(i, item)| {
                let ctx = ctx.with_index(chunk * CHUNK + i);
                async move {
                    item.resolve(&ctx, field)
                        .await
                        .map_err(|err| ctx.set_error_path(err))
                }
            }))
        });
        let chunks = try_join_all(chunks).await?;
        Ok(Value::List(chunks.into_iter().flatten().collect()))
    }
}

impl<T: ObjectType> OutputType for Inline<T> {
    fn type_name() -> Cow<'static, str> {
        T::type_name()
    }

    fn qualified_type_name() -> String {
        T::qualified_type_name()
    }

    fn introspection_type_name(&self) -> Cow<'static, str> {
        self.0.introspection_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        T::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        _field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        if !is_plain(ctx) {
            return resolve_container(ctx, &self.0).await;
        }
        // One allocation per object keeps futures small: a future that awaits a nested one holds
        // room for it about twice over, so unboxed objects nested in objects double in size at
        // every level. An edge of the appointment page was a 35 KB future, allocated and copied
        // for each row; boxed, every object's future is at most a few hundred bytes.
        Box::pin(resolve_fields(ctx, &self.0)).await
    }
}

/// Resolves a plain selection set's fields in order, building the object as async-graphql does.
async fn resolve_fields<T: ObjectType>(
    ctx: &ContextSelectionSet<'_>,
    root: &T,
) -> ServerResult<Value> {
    let selection = &ctx.item.node.items;
    let mut object = IndexMap::with_capacity(selection.len());
    for field in selection.iter().filter_map(as_field) {
        let key = field.node.response_key().node.clone();
        let value = if field.node.name.node == "__typename" {
            Ok(Some(Value::String(
                root.introspection_type_name().into_owned(),
            )))
        } else {
            root.resolve_field(&ctx.with_field(field)).await
        };
        // As async-graphql does: a failed field is reported and left out of its object.
        match value {
            Ok(value) => {
                object.insert(key, value.unwrap_or_default());
            }
            Err(error) => ctx.add_error(error),
        }
    }
    Ok(if object.is_empty() {
        Value::Null
    } else {
        Value::Object(object)
    })
}

/// Whether the selection set is a plain list of distinct fields, which a straight walk resolves
/// exactly as async-graphql would.
fn is_plain(ctx: &ContextSelectionSet<'_>) -> bool {
    let items = &ctx.item.node.items;
    items.iter().enumerate().all(|(i, selection)| {
        as_field(selection).is_some_and(|field| {
            let key: &Name = &field.node.response_key().node;
            field.node.directives.is_empty()
                && !items[..i]
                    .iter()
                    .filter_map(as_field)
                    .any(|earlier| &earlier.node.response_key().node == key)
        })
    })
}

fn as_field(selection: &Positioned<Selection>) -> Option<&Positioned<Field>> {
    match &selection.node {
        Selection::Field(field) => Some(field),
        _ => None,
    }
}
