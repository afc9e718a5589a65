//! Gives every GraphQL error a stable `extensions.code`.
//!
//! Resolver errors carry theirs already (from `AppError`). What remains comes from async-graphql
//! itself: parse, validation, input coercion and limit errors become `BAD_USER_INPUT`; anything
//! else is unexpected and becomes an opaque `INTERNAL` (logged).
//!
//! This runs on whole responses ([`CodedSchema`]) rather than as a schema extension: any
//! registered extension makes async-graphql wrap every field resolution, which cost about 5 % of
//! the CPU on large lists.

use std::sync::Arc;

use async_graphql::{
    Data, Executor, Request, Response, ServerError, futures_util::stream::BoxStream,
};
use futures_util::StreamExt;

use super::limits;
use crate::{
    config::DocumentLimits,
    kernel::{error::ErrorCode, values::EnumStr},
};

/// Adds per-operation data (fresh DataLoaders) to an operation's request.
pub type OperationData = Arc<dyn Fn(&mut Data) + Send + Sync>;

/// A schema (any executor) for WebSocket operations: documents are bounded first
/// ([`limits::check`]), each operation gets its own data, and every response its error codes.
#[derive(Clone)]
pub struct CodedSchema<E> {
    executor: E,
    limits: DocumentLimits,
    per_operation: Option<OperationData>,
}

impl<E> CodedSchema<E> {
    pub fn new(executor: E, limits: DocumentLimits) -> Self {
        Self {
            executor,
            limits,
            per_operation: None,
        }
    }

    /// Runs `attach` on the data of every operation (on top of the connection's data).
    pub fn on_operation(self, attach: OperationData) -> Self {
        Self {
            per_operation: Some(attach),
            ..self
        }
    }
}

impl<E: Executor> Executor for CodedSchema<E> {
    async fn execute(&self, mut request: Request) -> Response {
        let mut response = match limits::check(&mut request, self.limits) {
            Ok(()) => self.executor.execute(request).await,
            Err(refused) => Response::from_errors(vec![refused]),
        };
        classify(&mut response);
        response
    }

    fn execute_stream(
        &self,
        mut request: Request,
        session_data: Option<std::sync::Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        if let Err(refused) = limits::check(&mut request, self.limits) {
            let mut response = Response::from_errors(vec![refused]);
            classify(&mut response);
            return futures_util::stream::once(async move { response }).boxed();
        }
        if let Some(attach) = &self.per_operation {
            attach(&mut request.data);
        }
        Executor::execute_stream(&self.executor, request, session_data)
            .map(|mut response| {
                classify(&mut response);
                response
            })
            .boxed()
    }
}

/// Fills in the code of every error of `response` that lacks one.
pub fn classify(response: &mut Response) {
    response.errors.iter_mut().for_each(classify_error);
}

/// async-graphql reports arguments that fail to parse while resolving the field, so they carry a
/// path; their messages are stable.
fn is_input_error(message: &str) -> bool {
    message.starts_with("Failed to parse") || message.starts_with("Invalid value for argument")
}

fn classify_error(error: &mut ServerError) {
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
