//! Google's Gemini API (`generateContent`, v1beta) on `GEMINI_API_URL` with `GEMINI_API_KEY`,
//! behind [`LanguageModel`] so the application never names a provider (protocols.md §4).
//!
//! A conversation is a list of [`Content`] turns whose parts stay raw JSON: a model turn goes back
//! exactly as it came, `thoughtSignature`s included, which newer models require in the
//! function-calling loop.
//!
//! A call is repeated while Gemini is merely busy (no connection, an unreadable answer, HTTP 429,
//! 500, 502, 503 or 504), after an exponential backoff or the delay Google asks for; repeating is
//! harmless because `generateContent` has no side effects. It is not repeated once an attempt has
//! taken `AI_TIMEOUT_SECONDS` (the customer is waiting), when a quota will not clear within
//! `AI_RETRY_MAX_DELAY_MS`, or when Google refuses the request itself. Every failure is a
//! [`ModelError`] the caller answers with the guided menu; none panics.

use std::time::Duration;

use reqwest::{StatusCode, header::HeaderValue};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::http::backoff;
use crate::config::AiSettings;

/// One turn of the conversation as Gemini sees it. `parts` are kept as raw JSON so a model turn is
/// sent back verbatim (every part, `thoughtSignature` included).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Content {
    pub role: String,
    pub parts: Vec<Value>,
}

impl Content {
    /// A customer's message: role `user`, one text part.
    pub fn user_text(text: &str) -> Self {
        Self {
            role: "user".to_owned(),
            parts: vec![json!({ "text": text })],
        }
    }

    /// The turn answering `calls`: role `user`, one `functionResponse` part per (call, response),
    /// the call's id echoed when it had one. Gemini takes a response only as an object (a proto
    /// `Struct`), so any other value is sent as `{"result": value}`.
    pub fn function_responses(results: &[(FunctionCall, Value)]) -> Self {
        let parts = results
            .iter()
            .map(|(call, response)| {
                let response = if response.is_object() {
                    response.clone()
                } else {
                    json!({ "result": response })
                };
                let mut answer = json!({ "name": call.name, "response": response });
                if let Some(id) = &call.id {
                    answer["id"] = json!(id);
                }
                json!({ "functionResponse": answer })
            })
            .collect();
        Self {
            role: "user".to_owned(),
            parts,
        }
    }
}

/// A function the model may call.
#[derive(Clone, Debug, PartialEq)]
pub struct FunctionDeclaration {
    pub name: String,
    pub description: String,
    /// An OBJECT schema (the OpenAPI subset of protocols.md §4.2).
    pub parameters: Value,
}

/// One call of the model.
#[derive(Clone, Debug, PartialEq)]
pub struct GenerateRequest {
    pub system_instruction: String,
    /// The history, oldest first, ending with the turn to answer.
    pub contents: Vec<Content>,
    /// The functions offered; empty: the model can only write.
    pub tools: Vec<FunctionDeclaration>,
}

/// A function the model asked to run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FunctionCall {
    /// Echoed in the response when present (newer models set one per call).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: String,
    /// The arguments, an object (`{}` when the model sent none).
    #[serde(default = "empty_object")]
    pub args: Value,
}

fn empty_object() -> Value {
    json!({})
}

/// Tokens of one call, as Google bills them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: i64,
    pub candidates_tokens: i64,
    pub thoughts_tokens: i64,
    /// The part of `prompt_tokens` read from Google's context cache.
    pub cached_tokens: i64,
    pub total_tokens: i64,
}

/// A usable answer: text, function calls, or both.
#[derive(Clone, Debug, PartialEq)]
pub struct Generated {
    /// The model version that answered (`modelVersion`, else the configured model).
    pub model: String,
    /// The model's turn exactly as received (role "model"), to append to the history.
    pub content: Content,
    /// The text parts concatenated in order, skipping thought parts (`"thought": true`).
    pub text: String,
    /// Every functionCall part, in order.
    pub calls: Vec<FunctionCall>,
    pub finish_reason: Option<String>,
    pub usage: Usage,
}

/// Why a call gave no usable answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelError {
    /// No answer after the retries (connection errors, 429/500/502/503/504, unreadable answers).
    Unavailable { attempts: u32, detail: String },
    /// An attempt took longer than AI_TIMEOUT_SECONDS (not retried: the customer is waiting).
    Timeout,
    /// 429 that will not clear soon: a per-day quota (quotaId containing "PerDay"), or a
    /// RetryInfo.retryDelay longer than the maximum wait.
    QuotaExhausted { detail: String },
    /// The prompt or the answer was blocked (promptFeedback.blockReason, or a finishReason of
    /// SAFETY, RECITATION, BLOCKLIST, PROHIBITED_CONTENT, SPII, LANGUAGE, IMAGE_SAFETY…). Usage
    /// still counts.
    Blocked { reason: String, usage: Usage },
    /// An answer with neither text nor function calls (no candidates, MALFORMED_FUNCTION_CALL, an
    /// empty STOP…). Usage still counts.
    Empty {
        finish_reason: Option<String>,
        usage: Usage,
    },
    /// Any other 4xx (or other unexpected status): a request Gemini will never accept (not
    /// retried): HTTP status and Google's error message.
    Refused { status: u16, message: String },
}

impl ModelError {
    /// A short stable label for metrics (`waba_ai_fallbacks_total{reason}`): "unavailable",
    /// "timeout", "quota", "blocked", "empty", "refused".
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Unavailable { .. } => "unavailable",
            Self::Timeout => "timeout",
            Self::QuotaExhausted { .. } => "quota",
            Self::Blocked { .. } => "blocked",
            Self::Empty { .. } => "empty",
            Self::Refused { .. } => "refused",
        }
    }

    /// Tokens billed by a failed call (Blocked, Empty), zero otherwise.
    pub fn usage(&self) -> Usage {
        match self {
            Self::Blocked { usage, .. } | Self::Empty { usage, .. } => *usage,
            _ => Usage::default(),
        }
    }
}

impl std::fmt::Display for ModelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unavailable { attempts, detail } => {
                write!(
                    f,
                    "the model did not answer in {attempts} attempt(s): {detail}"
                )
            }
            Self::Timeout => write!(f, "the model did not answer in time"),
            Self::QuotaExhausted { detail } => {
                write!(f, "the model's quota is exhausted: {detail}")
            }
            Self::Blocked { reason, .. } => {
                write!(f, "the model's safety filters blocked it ({reason})")
            }
            Self::Empty { finish_reason, .. } => write!(
                f,
                "the model answered nothing (finish reason {})",
                finish_reason.as_deref().unwrap_or("none")
            ),
            Self::Refused { status, message } => {
                write!(
                    f,
                    "the model refused the request (HTTP {status}): {message}"
                )
            }
        }
    }
}

impl std::error::Error for ModelError {}

/// What the application needs from a language model (another provider can be added later).
#[async_trait::async_trait]
pub trait LanguageModel: Send + Sync {
    /// The configured model name (e.g. `gemini-2.5-flash`).
    fn model(&self) -> &str;
    /// One answer to `request`, after the retries the failure allows.
    async fn generate(&self, request: &GenerateRequest) -> Result<Generated, ModelError>;
}

/// Gemini over reqwest.
#[derive(Clone, Debug)]
pub struct GeminiClient {
    http: reqwest::Client,
    /// `GEMINI_API_URL/v1beta/models/{model}:generateContent`
    url: String,
    /// `GEMINI_API_KEY`, marked sensitive so no header dump shows it.
    api_key: HeaderValue,
    model: String,
    timeout: Duration,
    max_retries: u32,
    retry_base: Duration,
    retry_max_delay: Duration,
    max_output_tokens: u32,
}

/// The client, or `None` without `GEMINI_API_KEY` (the caller logs that the AI mode answers
/// through the menu). A key or URL that cannot make a request is logged and also gives `None`.
pub fn from_settings(settings: &AiSettings, http: reqwest::Client) -> Option<GeminiClient> {
    let key = settings.api_key.as_ref()?;
    let Ok(mut api_key) = HeaderValue::from_str(key.expose_secret().trim()) else {
        tracing::error!("GEMINI_API_KEY is not a valid HTTP header value: the AI is disabled");
        return None;
    };
    api_key.set_sensitive(true);
    let url = format!(
        "{}/v1beta/models/{}:generateContent",
        settings.api_url.trim_end_matches('/'),
        settings.model
    );
    if let Err(err) = reqwest::Url::parse(&url) {
        tracing::error!(%err, "GEMINI_API_URL is not a URL: the AI is disabled");
        return None;
    }
    Some(GeminiClient {
        http,
        url,
        api_key,
        model: settings.model.clone(),
        timeout: settings.timeout,
        max_retries: settings.max_retries,
        retry_base: settings.retry_base,
        retry_max_delay: settings.retry_max_delay,
        max_output_tokens: settings.max_output_tokens,
    })
}

/// Low enough that a receptionist keeps to the facts, high enough that replies do not read canned.
const TEMPERATURE: f64 = 0.4;

/// Statuses of a Gemini that is busy or briefly broken (protocols.md §4.4; 502 is what a proxy in
/// front of it answers meanwhile).
const RETRIED_STATUSES: [u16; 5] = [429, 500, 502, 503, 504];

/// Finish reasons of an answer Google's filters withheld, as opposed to one merely cut short.
const BLOCKING_FINISH_REASONS: [&str; 9] = [
    "SAFETY",
    "RECITATION",
    "LANGUAGE",
    "BLOCKLIST",
    "PROHIBITED_CONTENT",
    "SPII",
    "IMAGE_SAFETY",
    "IMAGE_PROHIBITED_CONTENT",
    "IMAGE_RECITATION",
];

/// How one attempt failed.
#[derive(Debug)]
enum Failure {
    /// Another attempt may succeed: what happened, the HTTP status (none without an answer), and
    /// the delay Google asked for.
    Transient {
        detail: String,
        status: Option<u16>,
        retry_delay: Option<Duration>,
    },
    /// Another attempt would fail the same way, or the customer cannot wait for one.
    Final(ModelError),
}

impl GeminiClient {
    /// The `generateContent` body (camelCase proto3 JSON).
    fn request_body(&self, request: &GenerateRequest) -> Value {
        let mut body = json!({
            "contents": request.contents,
            "generationConfig": {
                "maxOutputTokens": self.max_output_tokens,
                "temperature": TEMPERATURE,
            },
        });
        // Google rejects a text part that is empty.
        if !request.system_instruction.trim().is_empty() {
            body["systemInstruction"] =
                json!({ "parts": [{ "text": request.system_instruction }] });
        }
        if !request.tools.is_empty() {
            let declarations: Vec<Value> = request
                .tools
                .iter()
                .map(|tool| {
                    json!({
                        "name": tool.name,
                        "description": tool.description,
                        "parameters": tool.parameters,
                    })
                })
                .collect();
            body["tools"] = json!([{ "functionDeclarations": declarations }]);
            body["toolConfig"] = json!({ "functionCallingConfig": { "mode": "AUTO" } });
        }
        body
    }

    async fn attempt(&self, body: &Value) -> Result<Generated, Failure> {
        let response = self
            .http
            .post(&self.url)
            .header("x-goog-api-key", self.api_key.clone())
            .timeout(self.timeout)
            .json(body)
            .send()
            .await
            .map_err(transport_failure)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(transport_failure)?;
        if status.is_success() {
            read_answer(&bytes, &self.model)
        } else {
            Err(read_error(status, &bytes))
        }
    }
}

#[async_trait::async_trait]
impl LanguageModel for GeminiClient {
    fn model(&self) -> &str {
        &self.model
    }

    async fn generate(&self, request: &GenerateRequest) -> Result<Generated, ModelError> {
        let body = self.request_body(request);
        let mut attempts = 0;
        loop {
            attempts += 1;
            let (detail, status, retry_delay) = match self.attempt(&body).await {
                Ok(generated) => return Ok(generated),
                Err(Failure::Final(error)) => return Err(error),
                Err(Failure::Transient {
                    detail,
                    status,
                    retry_delay,
                }) => (detail, status, retry_delay),
            };
            let delay = match retry_delay {
                Some(asked) if asked > self.retry_max_delay => {
                    return Err(if status == Some(429) {
                        ModelError::QuotaExhausted {
                            detail: format!("{detail} (retry in {}s)", asked.as_secs_f64()),
                        }
                    } else {
                        ModelError::Unavailable { attempts, detail }
                    });
                }
                Some(asked) => asked,
                None => backoff(self.retry_base, self.retry_max_delay, attempts - 1),
            };
            if attempts > self.max_retries {
                return Err(ModelError::Unavailable { attempts, detail });
            }
            tracing::warn!(
                model = %self.model,
                status,
                attempt = attempts,
                delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                %detail,
                "the model did not answer; retrying"
            );
            tokio::time::sleep(delay).await;
        }
    }
}

/// A request that got no HTTP answer.
fn transport_failure(err: reqwest::Error) -> Failure {
    if err.is_timeout() {
        Failure::Final(ModelError::Timeout)
    } else {
        Failure::Transient {
            detail: format!("{:#}", anyhow::Error::from(err)),
            status: None,
            retry_delay: None,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Answer {
    #[serde(default)]
    candidates: Vec<Candidate>,
    prompt_feedback: Option<PromptFeedback>,
    usage_metadata: Option<UsageMetadata>,
    model_version: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Candidate {
    content: Option<CandidateContent>,
    finish_reason: Option<String>,
}

/// A candidate's content: a blocked or cut answer may come without role or parts.
#[derive(Deserialize)]
struct CandidateContent {
    role: Option<String>,
    #[serde(default)]
    parts: Vec<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PromptFeedback {
    block_reason: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct UsageMetadata {
    prompt_token_count: i64,
    candidates_token_count: i64,
    thoughts_token_count: i64,
    cached_content_token_count: i64,
    total_token_count: Option<i64>,
}

impl From<UsageMetadata> for Usage {
    fn from(usage: UsageMetadata) -> Self {
        Self {
            prompt_tokens: usage.prompt_token_count,
            candidates_tokens: usage.candidates_token_count,
            thoughts_tokens: usage.thoughts_token_count,
            cached_tokens: usage.cached_content_token_count,
            total_tokens: usage.total_token_count.unwrap_or(
                usage.prompt_token_count
                    + usage.candidates_token_count
                    + usage.thoughts_token_count,
            ),
        }
    }
}

/// The body of a 200: an answer, or why it is not one.
fn read_answer(body: &[u8], configured_model: &str) -> Result<Generated, Failure> {
    let unreadable = |err: serde_json::Error| Failure::Transient {
        detail: format!("unreadable answer: {err}"),
        status: Some(200),
        retry_delay: None,
    };
    let Answer {
        candidates,
        prompt_feedback,
        usage_metadata,
        model_version,
    } = serde_json::from_slice(body).map_err(unreadable)?;
    let usage = Usage::from(usage_metadata.unwrap_or_default());
    if let Some(reason) = prompt_feedback.and_then(|feedback| feedback.block_reason) {
        return Err(Failure::Final(ModelError::Blocked { reason, usage }));
    }
    let Some(candidate) = candidates.into_iter().next() else {
        return Err(Failure::Final(ModelError::Empty {
            finish_reason: None,
            usage,
        }));
    };
    let finish_reason = candidate.finish_reason;
    if let Some(reason) = finish_reason
        .as_deref()
        .filter(|reason| BLOCKING_FINISH_REASONS.contains(reason))
    {
        return Err(Failure::Final(ModelError::Blocked {
            reason: reason.to_owned(),
            usage,
        }));
    }
    let (role, parts) = candidate
        .content
        .map(|content| (content.role, content.parts))
        .unwrap_or_default();

    let mut text = String::new();
    let mut calls = Vec::new();
    for part in &parts {
        let thought = part.get("thought").and_then(Value::as_bool) == Some(true);
        if !thought && let Some(fragment) = part.get("text").and_then(Value::as_str) {
            text.push_str(fragment);
        }
        if let Some(call) = part.get("functionCall") {
            let mut call: FunctionCall =
                serde_json::from_value(call.clone()).map_err(unreadable)?;
            if call.args.is_null() {
                call.args = empty_object();
            }
            calls.push(call);
        }
    }
    if text.trim().is_empty() && calls.is_empty() {
        return Err(Failure::Final(ModelError::Empty {
            finish_reason,
            usage,
        }));
    }
    Ok(Generated {
        model: model_version
            .filter(|version| !version.trim().is_empty())
            .unwrap_or_else(|| configured_model.to_owned()),
        content: Content {
            // The history needs the role even where Google left it out.
            role: role.unwrap_or_else(|| "model".to_owned()),
            parts,
        },
        text,
        calls,
        finish_reason,
        usage,
    })
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorObject,
}

#[derive(Deserialize)]
struct ErrorObject {
    message: Option<String>,
    #[serde(default)]
    details: Vec<Value>,
}

/// The body of an error status (`{"error": {code, message, status, details}}`, protocols.md §4.4).
fn read_error(status: StatusCode, body: &[u8]) -> Failure {
    let code = status.as_u16();
    let error = serde_json::from_slice::<ErrorBody>(body)
        .ok()
        .map(|body| body.error);
    let message = error
        .as_ref()
        .and_then(|error| error.message.clone())
        .filter(|message| !message.trim().is_empty())
        .unwrap_or_else(|| format!("HTTP {code}"));
    let details = error.map(|error| error.details).unwrap_or_default();
    if status == StatusCode::TOO_MANY_REQUESTS && details.iter().any(is_daily_quota) {
        return Failure::Final(ModelError::QuotaExhausted { detail: message });
    }
    if RETRIED_STATUSES.contains(&code) {
        return Failure::Transient {
            detail: format!("HTTP {code}: {message}"),
            status: Some(code),
            retry_delay: details.iter().find_map(retry_delay),
        };
    }
    Failure::Final(ModelError::Refused {
        status: code,
        message,
    })
}

fn detail_type(detail: &Value) -> &str {
    detail.get("@type").and_then(Value::as_str).unwrap_or("")
}

/// A `QuotaFailure` detail naming a per-day quota, which clears only tomorrow.
fn is_daily_quota(detail: &Value) -> bool {
    detail_type(detail).ends_with("google.rpc.QuotaFailure")
        && detail
            .get("violations")
            .and_then(Value::as_array)
            .is_some_and(|violations| {
                violations.iter().any(|violation| {
                    violation
                        .get("quotaId")
                        .and_then(Value::as_str)
                        .is_some_and(|quota| quota.contains("PerDay"))
                })
            })
}

/// The delay of a `RetryInfo` detail.
fn retry_delay(detail: &Value) -> Option<Duration> {
    if !detail_type(detail).ends_with("google.rpc.RetryInfo") {
        return None;
    }
    parse_proto_duration(detail.get("retryDelay")?.as_str()?)
}

/// A proto3 JSON `Duration`: seconds with up to nine decimals and an `s` ("41s", "0.5s",
/// "1.250s").
fn parse_proto_duration(text: &str) -> Option<Duration> {
    let number = text.trim().strip_suffix('s')?;
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(fraction) || fraction.len() > 9 {
        return None;
    }
    let seconds = whole.parse().ok()?;
    let nanos = if fraction.is_empty() {
        0
    } else {
        format!("{fraction:0<9}").parse().ok()?
    };
    Some(Duration::new(seconds, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(body: Value) -> Result<Generated, Failure> {
        read_answer(body.to_string().as_bytes(), "gemini-2.5-flash")
    }

    #[test]
    fn proto_durations_are_read_exactly() {
        assert_eq!(parse_proto_duration("41s"), Some(Duration::from_secs(41)));
        assert_eq!(
            parse_proto_duration("0.5s"),
            Some(Duration::from_millis(500))
        );
        assert_eq!(
            parse_proto_duration("1.250s"),
            Some(Duration::from_millis(1250))
        );
        assert_eq!(
            parse_proto_duration("0.000000001s"),
            Some(Duration::from_nanos(1))
        );
        for junk in [
            "",
            "s",
            "41",
            "-1s",
            ".5s",
            "1.0000000001s",
            "1e3s",
            "forty-one s",
        ] {
            assert_eq!(parse_proto_duration(junk), None, "{junk:?}");
        }
    }

    #[test]
    fn a_missing_total_is_the_sum_and_a_cut_answer_with_text_is_kept() {
        let generated = answer(json!({
            "candidates": [{"content": {"parts": [{"text": "Temos 10:00 e"}]},
                            "finishReason": "MAX_TOKENS"}],
            "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 4,
                              "thoughtsTokenCount": 3, "cachedContentTokenCount": 2},
        }))
        .unwrap();
        assert_eq!(generated.text, "Temos 10:00 e");
        assert_eq!(generated.finish_reason.as_deref(), Some("MAX_TOKENS"));
        assert_eq!(generated.model, "gemini-2.5-flash");
        assert_eq!(generated.content.role, "model");
        assert_eq!(
            generated.usage,
            Usage {
                prompt_tokens: 10,
                candidates_tokens: 4,
                thoughts_tokens: 3,
                cached_tokens: 2,
                total_tokens: 17,
            }
        );
    }

    #[test]
    fn answers_without_content_are_empty_and_garbage_is_worth_a_retry() {
        let no_candidates = answer(json!({"usageMetadata": {"promptTokenCount": 5}}));
        assert!(matches!(
            no_candidates,
            Err(Failure::Final(ModelError::Empty { finish_reason: None, usage }))
                if usage.prompt_tokens == 5 && usage.total_tokens == 5
        ));
        let malformed =
            answer(json!({"candidates": [{"finishReason": "MALFORMED_FUNCTION_CALL"}]}));
        assert!(matches!(
            malformed,
            Err(Failure::Final(ModelError::Empty { finish_reason: Some(reason), .. }))
                if reason == "MALFORMED_FUNCTION_CALL"
        ));
        for garbage in [
            &b"<html>busy</html>"[..],
            br#"{"candidates": [{"content": {"parts": [{"functionCall": {"args": {}}}]}}]}"#,
        ] {
            assert!(matches!(
                read_answer(garbage, "gemini-2.5-flash"),
                Err(Failure::Transient {
                    status: Some(200),
                    ..
                })
            ));
        }
    }

    #[test]
    fn errors_are_classified_by_status_and_details() {
        let body = |details: Value| {
            json!({"error": {"code": 429, "message": "Resource exhausted", "details": details}})
                .to_string()
        };
        let per_minute = body(json!([
            {"@type": "type.googleapis.com/google.rpc.QuotaFailure",
             "violations": [{"quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"}]},
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "41s"},
        ]));
        assert!(matches!(
            read_error(StatusCode::TOO_MANY_REQUESTS, per_minute.as_bytes()),
            Failure::Transient { status: Some(429), retry_delay: Some(delay), .. }
                if delay == Duration::from_secs(41)
        ));
        let per_day = body(json!([
            {"@type": "type.googleapis.com/google.rpc.QuotaFailure",
             "violations": [{"quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier"}]},
        ]));
        assert!(matches!(
            read_error(StatusCode::TOO_MANY_REQUESTS, per_day.as_bytes()),
            Failure::Final(ModelError::QuotaExhausted { .. })
        ));
        assert!(matches!(
            read_error(StatusCode::SERVICE_UNAVAILABLE, b"oops"),
            Failure::Transient {
                status: Some(503),
                retry_delay: None,
                ..
            }
        ));
        assert!(matches!(
            read_error(StatusCode::FORBIDDEN, b""),
            Failure::Final(ModelError::Refused { status: 403, message }) if message == "HTTP 403"
        ));
    }

    #[test]
    fn function_responses_are_objects_and_echo_the_call_id() {
        let call = |id: Option<&str>| FunctionCall {
            id: id.map(str::to_owned),
            name: "list_services".to_owned(),
            args: json!({}),
        };
        let turn = Content::function_responses(&[
            (call(Some("c1")), json!({"services": []})),
            (call(None), json!("nothing")),
        ]);
        assert_eq!(turn.role, "user");
        assert_eq!(
            turn.parts,
            [
                json!({"functionResponse": {"id": "c1", "name": "list_services", "response": {"services": []}}}),
                json!({"functionResponse": {"name": "list_services", "response": {"result": "nothing"}}}),
            ]
        );
    }
}
