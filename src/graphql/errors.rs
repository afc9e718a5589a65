//! Gives every GraphQL error a stable `extensions.code`.
//!
//! Resolver errors carry theirs already (from `AppError`). What remains comes from async-graphql
//! itself: parse, validation, input coercion and limit errors become `BAD_USER_INPUT`; anything
//! else is unexpected and becomes an opaque `INTERNAL` (logged).

use std::sync::Arc;

use async_graphql::{
    Response, ServerError,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextRequest, NextSubscribe},
    futures_util::stream::BoxStream,
};
use futures_util::StreamExt;

use crate::error::ErrorCode;

/// The extension factory to register on the schema.
pub struct ErrorCodes;

impl ExtensionFactory for ErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCodesExtension)
    }
}

struct ErrorCodesExtension;

#[async_trait::async_trait]
impl Extension for ErrorCodesExtension {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        response.errors.iter_mut().for_each(classify);
        response
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        next.run(ctx, stream)
            .map(|mut response| {
                response.errors.iter_mut().for_each(classify);
                response
            })
            .boxed()
    }
}

/// async-graphql reports arguments that fail to parse while resolving the field, so they carry a
/// path; their messages are stable.
fn is_input_error(message: &str) -> bool {
    message.starts_with("Failed to parse") || message.starts_with("Invalid value for argument")
}

fn classify(error: &mut ServerError) {
    let has_code = error
        .extensions
        .as_ref()
        .is_some_and(|ext| ext.get("code").is_some());
    if has_code {
        return;
    }
    let code = if error.path.is_empty() || is_input_error(&error.message) {
        ErrorCode::BadUserInput
    } else {
        tracing::error!(message = %error.message, path = ?error.path, "resolver failed without an error code");
        error.message = "internal error".to_owned();
        ErrorCode::Internal
    };
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", code.as_str());
}
