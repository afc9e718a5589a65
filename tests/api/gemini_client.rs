//! The Gemini client against a mock of `generateContent`: what it sends, how it reads answers, and
//! which failures it retries (protocols.md §4).

use std::{collections::HashMap, time::Duration};

use serde_json::{Value, json};
use waba_bot::{
    clients::{
        gemini::{
            self, Content, FunctionCall, FunctionDeclaration, GeminiClient, GenerateRequest,
            LanguageModel, ModelError, Usage,
        },
        http,
    },
    config::Settings,
};
use wiremock::{
    Mock, MockBuilder, MockServer, ResponseTemplate,
    matchers::{header, method, path},
};

const API_KEY: &str = "test-gemini-key";
const ENDPOINT: &str = "/v1beta/models/gemini-2.5-flash:generateContent";
const MAX_RETRIES: u32 = 2;

/// A client of `server` that retries `MAX_RETRIES` times, waiting a few milliseconds at most.
fn client_with(server: &MockServer, overrides: &[(&str, &str)]) -> GeminiClient {
    let mut vars: HashMap<&str, String> = HashMap::from([
        // Given secrets: nothing is generated into a data directory.
        ("JWT_SECRET", "j".repeat(40)),
        ("ENCRYPTION_KEY", "00".repeat(32)),
        ("GEMINI_API_KEY", API_KEY.to_owned()),
        // A trailing slash, as an origin is often written.
        ("GEMINI_API_URL", format!("{}/", server.uri())),
        ("AI_MAX_RETRIES", MAX_RETRIES.to_string()),
        ("AI_RETRY_BASE_MS", "1".to_owned()),
        ("AI_RETRY_MAX_DELAY_MS", "50".to_owned()),
    ]);
    for (key, value) in overrides {
        vars.insert(key, (*value).to_owned());
    }
    let settings = Settings::from_lookup(|key| vars.get(key).cloned()).unwrap();
    gemini::from_settings(&settings.ai, http::client().unwrap()).unwrap()
}

fn client(server: &MockServer) -> GeminiClient {
    client_with(server, &[])
}

/// `generateContent` of the configured model, called with our key (anything else gets 404).
fn generate_content() -> MockBuilder {
    Mock::given(method("POST"))
        .and(path(ENDPOINT))
        .and(header("x-goog-api-key", API_KEY))
}

fn question() -> GenerateRequest {
    GenerateRequest {
        system_instruction: "Você é a recepcionista virtual da Barbearia X.".to_owned(),
        contents: vec![Content::user_text("Tem horário amanhã às 10h?")],
        tools: Vec::new(),
    }
}

fn check_availability() -> FunctionDeclaration {
    FunctionDeclaration {
        name: "check_availability".to_owned(),
        description: "Verifica horários livres".to_owned(),
        parameters: json!({
            "type": "OBJECT",
            "properties": {"date": {"type": "STRING", "description": "YYYY-MM-DD"}},
            "required": ["date"],
        }),
    }
}

fn text_answer(text: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "candidates": [{"content": {"role": "model", "parts": [{"text": text}]},
                        "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 20, "candidatesTokenCount": 5, "totalTokenCount": 25},
        "modelVersion": "gemini-2.5-flash",
    }))
}

fn google_error(status: u16, message: &str, details: Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({"error": {
        "code": status,
        "message": message,
        "status": "RESOURCE_EXHAUSTED",
        "details": details,
    }}))
}

fn retry_info(delay: &str) -> Value {
    json!({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay})
}

async fn bodies(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|request| request.body_json::<Value>().unwrap())
        .collect()
}

#[tokio::test]
async fn gemini_sends_instruction_tools_and_history_and_joins_text_without_thoughts() {
    let server = MockServer::start().await;
    generate_content()
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "candidates": [{"content": {"role": "model", "parts": [
                {"text": "The customer wants 10:00.", "thought": true},
                {"text": "Temos 10:00 "},
                {"text": "e 10:30 amanhã."},
            ]}, "finishReason": "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": 182, "candidatesTokenCount": 14,
                              "thoughtsTokenCount": 30, "cachedContentTokenCount": 100,
                              "totalTokenCount": 226},
            "modelVersion": "gemini-2.5-flash-002",
            "responseId": "mOb1aPz7H9uX1MkP8qqR-Ak",
        })))
        .expect(1)
        .mount(&server)
        .await;
    let mut request = question();
    request.tools = vec![check_availability()];

    let generated = client(&server).generate(&request).await.unwrap();

    assert_eq!(generated.text, "Temos 10:00 e 10:30 amanhã.");
    assert!(generated.calls.is_empty());
    assert_eq!(generated.model, "gemini-2.5-flash-002");
    assert_eq!(generated.finish_reason.as_deref(), Some("STOP"));
    assert_eq!(
        generated.usage,
        Usage {
            prompt_tokens: 182,
            candidates_tokens: 14,
            thoughts_tokens: 30,
            cached_tokens: 100,
            total_tokens: 226,
        }
    );
    assert_eq!(generated.content.role, "model");
    assert_eq!(
        generated.content.parts.len(),
        3,
        "the thought part is kept in the turn"
    );
    assert_eq!(
        bodies(&server).await,
        [json!({
            "systemInstruction": {"parts": [{"text": "Você é a recepcionista virtual da Barbearia X."}]},
            "contents": [{"role": "user", "parts": [{"text": "Tem horário amanhã às 10h?"}]}],
            "tools": [{"functionDeclarations": [{
                "name": "check_availability",
                "description": "Verifica horários livres",
                "parameters": {
                    "type": "OBJECT",
                    "properties": {"date": {"type": "STRING", "description": "YYYY-MM-DD"}},
                    "required": ["date"],
                },
            }]}],
            "toolConfig": {"functionCallingConfig": {"mode": "AUTO"}},
            "generationConfig": {"maxOutputTokens": 1024, "temperature": 0.4},
        })]
    );
}

#[tokio::test]
async fn gemini_parallel_calls_are_parsed_and_the_model_turn_goes_back_verbatim() {
    let server = MockServer::start().await;
    let model_parts = json!([
        {"functionCall": {"id": "call-1", "name": "check_availability", "args": {"date": "2026-10-21"}},
         "thoughtSignature": "c2lnbmF0dXJlLW9mLXRoZS1tb2RlbA=="},
        {"functionCall": {"name": "list_services"}},
    ]);
    generate_content()
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "candidates": [{"content": {"role": "model", "parts": model_parts},
                            "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": 50, "candidatesTokenCount": 12},
        })))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    generate_content()
        .respond_with(text_answer("Temos 10:00 e 10:30 amanhã."))
        .mount(&server)
        .await;
    let client = client(&server);
    let mut request = question();
    request.tools = vec![check_availability()];

    let first = client.generate(&request).await.unwrap();

    assert_eq!(
        first.calls,
        [
            FunctionCall {
                id: Some("call-1".to_owned()),
                name: "check_availability".to_owned(),
                args: json!({"date": "2026-10-21"}),
            },
            FunctionCall {
                id: None,
                name: "list_services".to_owned(),
                args: json!({}),
            },
        ]
    );
    assert_eq!(first.text, "");
    assert_eq!(
        first.model, "gemini-2.5-flash",
        "no modelVersion: the configured model"
    );
    assert_eq!(first.usage.total_tokens, 62);

    let results = [
        (
            first.calls[0].clone(),
            json!({"available": true, "slots": ["10:00", "10:30"]}),
        ),
        (first.calls[1].clone(), json!({"services": ["Corte"]})),
    ];
    request.contents.push(first.content.clone());
    request.contents.push(Content::function_responses(&results));
    let second = client.generate(&request).await.unwrap();
    assert_eq!(second.text, "Temos 10:00 e 10:30 amanhã.");

    let sent = bodies(&server).await;
    assert_eq!(sent.len(), 2);
    assert_eq!(
        sent[1]["contents"],
        json!([
            {"role": "user", "parts": [{"text": "Tem horário amanhã às 10h?"}]},
            {"role": "model", "parts": model_parts},
            {"role": "user", "parts": [
                {"functionResponse": {"id": "call-1", "name": "check_availability",
                                      "response": {"available": true, "slots": ["10:00", "10:30"]}}},
                {"functionResponse": {"name": "list_services", "response": {"services": ["Corte"]}}},
            ]},
        ])
    );
}

#[tokio::test]
async fn gemini_overloaded_twice_then_answering_is_a_success_after_three_requests() {
    let server = MockServer::start().await;
    generate_content()
        .respond_with(google_error(503, "The model is overloaded.", json!([])))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    generate_content()
        .respond_with(text_answer("Olá!"))
        .mount(&server)
        .await;

    let generated = client(&server).generate(&question()).await.unwrap();

    assert_eq!(generated.text, "Olá!");
    let sent = bodies(&server).await;
    assert_eq!(sent.len(), 3);
    assert!(
        sent.iter().all(|body| body == &sent[0]),
        "every attempt sends the same body"
    );
    assert!(
        sent[0].get("tools").is_none() && sent[0].get("toolConfig").is_none(),
        "no declarations, no tools: {}",
        sent[0]
    );
}

#[tokio::test]
async fn gemini_overloaded_on_every_attempt_is_unavailable() {
    let server = MockServer::start().await;
    generate_content()
        .respond_with(google_error(503, "The model is overloaded.", json!([])))
        .expect(u64::from(MAX_RETRIES) + 1)
        .mount(&server)
        .await;

    let error = client(&server).generate(&question()).await.unwrap_err();

    match &error {
        ModelError::Unavailable { attempts, detail } => {
            assert_eq!(*attempts, MAX_RETRIES + 1);
            assert!(
                detail.contains("503") && detail.contains("overloaded"),
                "{detail}"
            );
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert_eq!(error.reason(), "unavailable");
    assert_eq!(error.usage(), Usage::default());
    assert_eq!(bodies(&server).await.len(), MAX_RETRIES as usize + 1);
}

#[tokio::test]
async fn gemini_rate_limit_is_retried_after_the_delay_google_asks_for() {
    let server = MockServer::start().await;
    generate_content()
        .respond_with(google_error(
            429,
            "Resource has been exhausted.",
            json!([retry_info("0.01s")]),
        ))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    generate_content()
        .respond_with(text_answer("Olá!"))
        .mount(&server)
        .await;

    let generated = client(&server).generate(&question()).await.unwrap();

    assert_eq!(generated.text, "Olá!");
    assert_eq!(bodies(&server).await.len(), 2);
}

#[tokio::test]
async fn gemini_rate_limit_asking_for_a_long_wait_is_quota_exhausted_at_once() {
    let server = MockServer::start().await;
    generate_content()
        .respond_with(google_error(
            429,
            "You exceeded your current quota.",
            json!([
                {"@type": "type.googleapis.com/google.rpc.QuotaFailure",
                 "violations": [{"quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"}]},
                retry_info("41s"),
            ]),
        ))
        .expect(1)
        .mount(&server)
        .await;

    let error = client(&server).generate(&question()).await.unwrap_err();

    assert!(
        matches!(&error, ModelError::QuotaExhausted { detail } if detail.contains("You exceeded your current quota")),
        "{error:?}"
    );
    assert_eq!(error.reason(), "quota");
    assert_eq!(bodies(&server).await.len(), 1);
}

#[tokio::test]
async fn gemini_daily_quota_is_exhausted_without_a_retry() {
    let server = MockServer::start().await;
    generate_content()
        .respond_with(google_error(
            429,
            "Quota exceeded for the day.",
            json!([
                {"@type": "type.googleapis.com/google.rpc.QuotaFailure",
                 "violations": [{"quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier"}]},
                // A short delay: only the daily quota stops the retries.
                retry_info("0.01s"),
            ]),
        ))
        .expect(1)
        .mount(&server)
        .await;

    let error = client(&server).generate(&question()).await.unwrap_err();

    assert!(
        matches!(&error, ModelError::QuotaExhausted { .. }),
        "{error:?}"
    );
    assert_eq!(bodies(&server).await.len(), 1);
}

#[tokio::test]
async fn gemini_bad_request_is_refused_with_googles_message() {
    let server = MockServer::start().await;
    generate_content()
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "code": 400,
            "message": "Function call is missing a thought_signature in functionCall parts.",
            "status": "INVALID_ARGUMENT",
        }})))
        .expect(1)
        .mount(&server)
        .await;

    let error = client(&server).generate(&question()).await.unwrap_err();

    assert_eq!(
        error,
        ModelError::Refused {
            status: 400,
            message: "Function call is missing a thought_signature in functionCall parts."
                .to_owned(),
        }
    );
    assert_eq!(error.reason(), "refused");
    assert_eq!(bodies(&server).await.len(), 1);
}

#[tokio::test]
async fn gemini_blocked_prompt_is_blocked_and_its_tokens_count() {
    let server = MockServer::start().await;
    generate_content()
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "promptFeedback": {"blockReason": "PROHIBITED_CONTENT", "safetyRatings": []},
            "usageMetadata": {"promptTokenCount": 12, "totalTokenCount": 12},
            "modelVersion": "gemini-2.5-flash",
        })))
        .expect(1)
        .mount(&server)
        .await;

    let error = client(&server).generate(&question()).await.unwrap_err();

    let usage = Usage {
        prompt_tokens: 12,
        total_tokens: 12,
        ..Usage::default()
    };
    assert_eq!(
        error,
        ModelError::Blocked {
            reason: "PROHIBITED_CONTENT".to_owned(),
            usage,
        }
    );
    assert_eq!(error.reason(), "blocked");
    assert_eq!(error.usage(), usage);
}

#[tokio::test]
async fn gemini_answer_stopped_for_safety_is_blocked() {
    let server = MockServer::start().await;
    generate_content()
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "candidates": [{"content": {"role": "model", "parts": [{"text": "Parcial"}]},
                            "finishReason": "SAFETY", "index": 0}],
            "usageMetadata": {"promptTokenCount": 30, "candidatesTokenCount": 2, "totalTokenCount": 32},
        })))
        .expect(1)
        .mount(&server)
        .await;

    let error = client(&server).generate(&question()).await.unwrap_err();

    assert!(
        matches!(&error, ModelError::Blocked { reason, usage } if reason == "SAFETY" && usage.total_tokens == 32),
        "{error:?}"
    );
}

#[tokio::test]
async fn gemini_empty_stop_is_empty() {
    let server = MockServer::start().await;
    generate_content()
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "candidates": [{"content": {"role": "model", "parts": [
                {"text": "Nothing to say.", "thought": true},
                {"text": "  \n"},
            ]}, "finishReason": "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": 40, "candidatesTokenCount": 1,
                              "thoughtsTokenCount": 9, "totalTokenCount": 50},
        })))
        .expect(1)
        .mount(&server)
        .await;

    let error = client(&server).generate(&question()).await.unwrap_err();

    assert_eq!(
        error,
        ModelError::Empty {
            finish_reason: Some("STOP".to_owned()),
            usage: Usage {
                prompt_tokens: 40,
                candidates_tokens: 1,
                thoughts_tokens: 9,
                cached_tokens: 0,
                total_tokens: 50,
            },
        }
    );
    assert_eq!(error.reason(), "empty");
}

#[tokio::test]
async fn gemini_answer_slower_than_the_timeout_is_a_timeout_without_retry() {
    let server = MockServer::start().await;
    generate_content()
        .respond_with(text_answer("Tarde demais.").set_delay(Duration::from_secs(5)))
        .expect(1)
        .mount(&server)
        .await;

    let error = client_with(&server, &[("AI_TIMEOUT_SECONDS", "1")])
        .generate(&question())
        .await
        .unwrap_err();

    assert_eq!(error, ModelError::Timeout);
    assert_eq!(error.reason(), "timeout");
    assert_eq!(bodies(&server).await.len(), 1);
}
