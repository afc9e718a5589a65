use reqwest::header::{ACCEPT, ALLOW, CONTENT_TYPE};
use serde_json::json;

use crate::helpers::{spawn_app, spawn_app_with_settings};

#[tokio::test]
async fn health_readiness_and_metrics() {
    let app = spawn_app().await;
    let health = app
        .http
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let ready = app
        .http
        .get(format!("{}/readyz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["database"], "ok");

    app.gql(
        None,
        "query PlansForMetrics { saasPlans { id } }",
        json!({}),
    )
    .await
    .data();
    let metrics = app
        .http
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"waba_db_queries_total{source="api"}"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"waba_db_queries_total{source="worker"}"#),
        "{metrics}"
    );
    // Two: `spawn_app` asks too, to know the server is up.
    assert!(
        metrics
            .contains(r#"waba_http_requests_total{method="GET",route="/healthz",status="200"} 2"#),
        "{metrics}"
    );
    assert!(metrics.contains("waba_http_request_duration_seconds_bucket"));
    assert!(
        metrics.contains(
            r#"waba_graphql_operations_total{operation="PlansForMetrics",outcome="ok"} 1"#
        ),
        "{metrics}"
    );
    assert!(app.db_queries() > 0);
}

#[tokio::test]
async fn responses_follow_graphql_over_http_media_types() {
    let app = spawn_app().await;
    let url = format!("{}/graphql", app.address);
    let modern = app
        .http
        .post(&url)
        .header(
            ACCEPT,
            "application/graphql-response+json, application/json;q=0.9",
        )
        .json(&json!({"query": "{ saasPlans { id } }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(modern.status(), 200);
    assert_eq!(
        modern.headers()[CONTENT_TYPE],
        "application/graphql-response+json"
    );

    let invalid = app
        .http
        .post(&url)
        .header(ACCEPT, "application/graphql-response+json")
        .json(&json!({"query": "{ saasPlans { nope } }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(invalid.status(), 400);
    let body: serde_json::Value = invalid.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");

    let legacy = app
        .http
        .post(&url)
        .json(&json!({"query": "{ saasPlans { nope } }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(legacy.status(), 200);
    assert_eq!(legacy.headers()[CONTENT_TYPE], "application/json");

    let not_json = app
        .http
        .post(&url)
        .header(CONTENT_TYPE, "text/plain")
        .body("{ saasPlans { id } }")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 415);
    let broken = app
        .http
        .post(&url)
        .header(CONTENT_TYPE, "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(broken.status(), 400);
}

#[tokio::test]
async fn get_serves_graphiql_and_queries_but_never_mutations() {
    let app = spawn_app().await;
    let url = format!("{}/graphql", app.address);
    let page = app
        .http
        .get(&url)
        .header(ACCEPT, "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .unwrap()
            .to_lowercase()
            .contains("graphiql")
    );

    let query = app
        .http
        .get(&url)
        .query(&[("query", "{ saasPlans { slug } }")])
        .send()
        .await
        .unwrap();
    assert_eq!(query.status(), 200);
    let body: serde_json::Value = query.json().await.unwrap();
    assert_eq!(body["data"]["saasPlans"].as_array().unwrap().len(), 9);

    let mutation = app
        .http
        .get(&url)
        .query(&[("query", "mutation { logout(refreshToken: \"x\") }")])
        .send()
        .await
        .unwrap();
    assert_eq!(mutation.status(), 405);
    assert_eq!(mutation.headers()[ALLOW], "POST");
}

#[tokio::test]
async fn bodies_over_one_mebibyte_are_refused() {
    let app = spawn_app().await;
    let padding = "x".repeat(1024 * 1024 + 10);
    let response = app
        .http
        .post(format!("{}/graphql", app.address))
        .json(&json!({"query": "{ saasPlans { id } }", "variables": {"pad": padding}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
}

#[tokio::test]
async fn query_depth_is_limited() {
    let app = spawn_app_with_settings(&[("GRAPHQL_MAX_DEPTH", "3")]).await;
    let deep = app
        .gql(
            None,
            "{ me { tenant { saasPlan { price { amount } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(deep.code(), "BAD_USER_INPUT");
    assert!(
        deep.message().to_lowercase().contains("nested too deep"),
        "{}",
        deep.message()
    );
}

#[tokio::test]
async fn production_hides_introspection_and_graphiql() {
    let app = spawn_app_with_settings(&[("APP_ENV", "production")]).await;
    let page = app
        .http
        .get(format!("{}/graphql", app.address))
        .header(ACCEPT, "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 404);
    let introspection = app
        .gql(None, "{ __schema { types { name } } }", json!({}))
        .await;
    assert!(
        introspection.body["data"]["__schema"].is_null(),
        "{}",
        introspection.body
    );

    let enabled =
        spawn_app_with_settings(&[("APP_ENV", "production"), ("GRAPHQL_INTROSPECTION", "true")])
            .await;
    let schema = enabled
        .gql(None, "{ __schema { queryType { name } } }", json!({}))
        .await;
    assert_eq!(schema.data()["__schema"]["queryType"]["name"], "Query");
}

#[tokio::test]
async fn cors_allows_the_frontend_origin_only() {
    let app = spawn_app().await;
    let preflight = |origin: &'static str| {
        app.http
            .request(reqwest::Method::OPTIONS, format!("{}/graphql", app.address))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header(
                "Access-Control-Request-Headers",
                "authorization,content-type",
            )
            .send()
    };
    let allowed = preflight("http://dashboard.test").await.unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "http://dashboard.test"
    );
    assert_eq!(
        allowed.headers()["access-control-allow-credentials"],
        "true"
    );
    let other = preflight("http://evil.test").await.unwrap();
    assert_ne!(
        other
            .headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap()),
        Some("http://evil.test")
    );
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = spawn_app().await;
    let response = app
        .http
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .unwrap();
    assert!(!response.headers()["x-request-id"].is_empty());
    let echoed = app
        .http
        .get(format!("{}/healthz", app.address))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "abc-123");
}

#[tokio::test]
async fn documents_are_bounded_before_validation() {
    let app = spawn_app().await;
    // Twenty levels of fragments that each spread the one below twice: under a kilobyte that
    // expands to a million `__typename` fields.
    let mut fan_out = String::from("query { ...F19 } fragment F0 on Query { __typename }");
    for level in 1..20 {
        let below = level - 1;
        fan_out.push_str(&format!(
            " fragment F{level} on Query {{ ...F{below} ...F{below} }}"
        ));
    }
    assert!(fan_out.len() < 1024);
    let refused = app.gql(None, &fan_out, json!({})).await.body;
    assert_eq!(refused["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    let message = refused["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("GRAPHQL_MAX_EXPANDED_FIELDS"), "{message}");

    let many_tokens = format!("{{ {} }}", "a ".repeat(5_001));
    let refused = app.gql(None, &many_tokens, json!({})).await.body;
    let message = refused["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("GRAPHQL_MAX_TOKENS"), "{message}");

    let large = format!("{{ __typename }} # {}", "x".repeat(32 * 1024));
    let refused = app.gql(None, &large, json!({})).await.body;
    let message = refused["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("GRAPHQL_MAX_DOCUMENT_BYTES"), "{message}");

    // Within the limits, fragments work as usual.
    let fine = app
        .gql(
            None,
            "query { ...A } fragment A on Query { ...B ...B } fragment B on Query { __typename }",
            json!({}),
        )
        .await
        .body;
    assert_eq!(fine["data"]["__typename"], "Query");
}

async fn get_metrics(address: &str, token: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(format!("{address}/metrics"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn operation_labels_are_bounded_and_come_from_the_document() {
    let app = spawn_app().await;
    for i in 0..120 {
        app.gql(None, &format!("query Op{i} {{ __typename }}"), json!({}))
            .await;
    }
    // A name the client claims but the document does not define is no label.
    app.http
        .post(format!("{}/graphql", app.address))
        .json(&json!({"query": "{ __typename }", "operationName": "Invented"}))
        .send()
        .await
        .unwrap();
    let text = get_metrics(&app.address, None).await.text().await.unwrap();
    let labels: std::collections::HashSet<&str> = text
        .lines()
        .filter(|l| l.starts_with("waba_graphql_operations_total{"))
        .filter_map(|l| l.split("operation=\"").nth(1)?.split('"').next())
        .collect();
    assert!(labels.len() <= 102, "{} labels", labels.len());
    assert!(
        labels.contains("Op0") && labels.contains("other"),
        "{labels:?}"
    );
    assert!(!labels.contains("Invented"), "{labels:?}");
}

#[tokio::test]
async fn metrics_need_a_token_or_their_own_port_in_production() {
    let production = spawn_app_with_settings(&[("APP_ENV", "production")]).await;
    assert_eq!(get_metrics(&production.address, None).await.status(), 404);

    let with_token = spawn_app_with_settings(&[
        ("APP_ENV", "production"),
        ("METRICS_TOKEN", "scrape-secret"),
    ])
    .await;
    assert_eq!(get_metrics(&with_token.address, None).await.status(), 401);
    assert_eq!(
        get_metrics(&with_token.address, Some("wrong"))
            .await
            .status(),
        401
    );
    assert_eq!(
        get_metrics(&with_token.address, Some("scrape-secret"))
            .await
            .status(),
        200
    );

    let own_port = spawn_app_with_settings(&[("METRICS_PORT", "0")]).await;
    assert_eq!(get_metrics(&own_port.address, None).await.status(), 404);
    let metrics_address = own_port
        .metrics_address
        .clone()
        .expect("a metrics listener");
    let scraped = get_metrics(&metrics_address, None).await;
    assert_eq!(scraped.status(), 200);
    assert!(
        scraped
            .text()
            .await
            .unwrap()
            .contains("waba_db_queries_total")
    );
}

/// Reads from `stream` until the server closes it or answers; bounded so a server that holds the
/// connection forever fails the test instead of hanging it.
async fn read_until_closed(stream: &mut tokio::net::TcpStream) -> String {
    use tokio::io::AsyncReadExt;
    let mut answer = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(20),
        stream.read_to_end(&mut answer),
    )
    .await
    .expect("the server held the connection open")
    .ok();
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn slow_headers_and_slow_bodies_are_cut_off() {
    use tokio::io::AsyncWriteExt;
    let app = spawn_app_with_settings(&[
        ("HTTP_HEADER_TIMEOUT_SECONDS", "1"),
        ("HTTP_REQUEST_TIMEOUT_SECONDS", "1"),
    ])
    .await;
    let host = app.address.trim_start_matches("http://").to_owned();

    // Headers that never finish: the connection is closed.
    let mut stream = tokio::net::TcpStream::connect(&host).await.unwrap();
    stream
        .write_all(b"POST /graphql HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    read_until_closed(&mut stream).await;

    // A body that never finishes: 408.
    let mut stream = tokio::net::TcpStream::connect(&host).await.unwrap();
    stream
        .write_all(
            b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"query\"",
        )
        .await
        .unwrap();
    let answer = read_until_closed(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}
