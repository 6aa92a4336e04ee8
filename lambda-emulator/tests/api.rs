//! The Lambda API surface: every way of naming a function, GetFunction, Lambda's error shapes
//! for bad requests, SigV4 headers, and the metrics endpoints.

mod common;

use common::*;
use serde_json::{Value, json};

/// Percent-encodes every byte outside unreserved characters, as the AWS SDKs do for path labels.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn expect_error(response: reqwest::Response, status: u16, error_type: &str) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(response.headers()["x-amzn-errortype"], error_type);
    assert!(
        response.headers().contains_key("x-amzn-requestid"),
        "Lambda puts a request id on errors too"
    );
    let body: Value = response.json().await.unwrap();
    assert!(body["message"].is_string(), "{body}");
    assert!(
        body["Type"] == "User" || body["Type"] == "Service",
        "{body}"
    );
    body
}

#[tokio::test]
async fn every_function_reference_form_reaches_the_function() {
    let emulator = start(vec![test_function("named")]).await;
    let arn = emulator.function_arn("named");
    assert_eq!(arn, "arn:aws:lambda:us-east-1:000000000000:function:named");
    let forms = [
        "named".to_owned(),
        "named:$LATEST".to_owned(),
        encode("named:$LATEST"),
        "000000000000:function:named".to_owned(),
        encode("000000000000:function:named:$LATEST"),
        arn.clone(),
        encode(&arn),
        encode(&format!("{arn}:$LATEST")),
    ];
    for form in &forms {
        let response = client()
            .post(invoke_url(&emulator, form))
            .json(&json!({ "form": form }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{form}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["echo"]["form"], form.as_str());
        // The function sees the ARN it was called by: full, and qualified when the caller was.
        let invoked = if form.contains("LATEST") {
            format!("{arn}:$LATEST")
        } else {
            arn.clone()
        };
        assert_eq!(body["invokedFunctionArn"], invoked, "{form}");
        let got = client()
            .get(format!(
                "{}/2015-03-31/functions/{form}",
                emulator.lambda_url()
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(got.status(), 200, "GetFunction {form}");
    }
    let with_query = client()
        .post(format!(
            "{}?Qualifier=%24LATEST",
            invoke_url(&emulator, "named")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(with_query.status(), 200);
    let body: Value = with_query.json().await.unwrap();
    assert_eq!(
        body["invokedFunctionArn"],
        format!("{arn}:$LATEST"),
        "a ?Qualifier= qualifies the invoked ARN too"
    );
    let in_process = emulator.invoke("named:$LATEST", "{}").await.unwrap();
    let body: Value = serde_json::from_slice(in_process.outcome.payload()).unwrap();
    assert_eq!(
        body["invokedFunctionArn"],
        format!("{arn}:$LATEST"),
        "the library's invoke keeps it as well"
    );
    assert_eq!(emulator.api_calls("Invoke"), forms.len() as u64 + 1);
    assert_eq!(emulator.api_calls("GetFunction"), forms.len() as u64);
}

#[tokio::test]
async fn unknown_functions_are_not_found_like_lambda() {
    let emulator = start(vec![test_function("known")]).await;
    let response = client()
        .post(invoke_url(&emulator, "unknown"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let body = expect_error(response, 404, "ResourceNotFoundException").await;
    assert_eq!(
        body,
        json!({ "Type": "User", "message": "Function not found: arn:aws:lambda:us-east-1:000000000000:function:unknown" })
    );

    // Another region or account, or a version that does not exist locally, is not this function.
    for other in [
        "arn:aws:lambda:eu-west-1:000000000000:function:known",
        "arn:aws:lambda:us-east-1:111111111111:function:known",
        "known:prod",
        "known:7",
    ] {
        let response = client()
            .get(format!(
                "{}/2015-03-31/functions/{}",
                emulator.lambda_url(),
                encode(other)
            ))
            .send()
            .await
            .unwrap();
        let body = expect_error(response, 404, "ResourceNotFoundException").await;
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .ends_with(other.rsplit("function:").next().unwrap()),
            "{body}"
        );
    }
    let mismatch = client()
        .post(format!(
            "{}?Qualifier=prod",
            invoke_url(&emulator, "known:$LATEST")
        ))
        .send()
        .await
        .unwrap();
    expect_error(mismatch, 400, "InvalidParameterValueException").await;
}

#[tokio::test]
async fn get_function_describes_the_configuration() {
    let mut function = test_function("described");
    function.timeout = std::time::Duration::from_secs(42);
    function.memory_mb = 1024;
    function.reserved_concurrency = Some(5);
    function.environment.insert("KEY".into(), "value".into());
    let emulator = start(vec![function, test_function("plain")]).await;
    let arn = emulator.function_arn("described");
    let response = client()
        .get(format!(
            "{}/2015-03-31/functions/{}",
            emulator.lambda_url(),
            encode(&arn)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let configuration = &body["Configuration"];
    assert_eq!(configuration["FunctionName"], "described");
    assert_eq!(configuration["FunctionArn"], arn.as_str());
    assert_eq!(configuration["Runtime"], "provided.al2023");
    assert_eq!(configuration["Handler"], "bootstrap");
    assert_eq!(configuration["Timeout"], 42);
    assert_eq!(configuration["MemorySize"], 1024);
    assert_eq!(configuration["State"], "Active");
    assert_eq!(configuration["LastUpdateStatus"], "Successful");
    assert_eq!(configuration["Version"], "$LATEST");
    assert_eq!(configuration["Architectures"], json!(["x86_64"]));
    assert_eq!(
        configuration["Environment"]["Variables"],
        json!({ "KEY": "value" })
    );
    assert!(configuration["CodeSize"].as_u64().unwrap() > 0);
    assert!(body["Code"]["Location"].is_string());
    assert_eq!(
        body["Concurrency"],
        json!({ "ReservedConcurrentExecutions": 5 })
    );

    let plain: Value = client()
        .get(format!(
            "{}/2015-03-31/functions/plain",
            emulator.lambda_url()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        plain.get("Concurrency").is_none(),
        "no Concurrency without reserved concurrency"
    );
}

#[tokio::test]
async fn bad_requests_get_lambdas_error_shapes() {
    let emulator = start(vec![test_function("strict")]).await;
    let url = invoke_url(&emulator, "strict");

    for payload in ["not json", "{\"unterminated\": ", "\u{0}\u{1}", "{} {}"] {
        let response = client().post(&url).body(payload).send().await.unwrap();
        let body = expect_error(response, 400, "InvalidRequestContentException").await;
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .starts_with("Could not parse request body into json")
        );
    }
    let too_big_sync = format!("\"{}\"", "x".repeat(6 * 1024 * 1024));
    let response = client().post(&url).body(too_big_sync).send().await.unwrap();
    let body = expect_error(response, 413, "RequestEntityTooLargeException").await;
    assert_eq!(
        body["message"],
        "Request must be smaller than 6291456 bytes for the InvokeFunction operation"
    );

    // 256 KB was the Event limit until 2025; now 1 MB.
    let old_limit_event = format!("\"{}\"", "x".repeat(256 * 1024));
    let response = client()
        .post(&url)
        .header("X-Amz-Invocation-Type", "Event")
        .body(old_limit_event)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let too_big_event = format!("\"{}\"", "x".repeat(1024 * 1024));
    let response = client()
        .post(&url)
        .header("X-Amz-Invocation-Type", "Event")
        .body(too_big_event.clone())
        .send()
        .await
        .unwrap();
    expect_error(response, 413, "RequestEntityTooLargeException").await;
    // The same payload is fine synchronously (limit 6 MB).
    assert_eq!(
        client()
            .post(&url)
            .body(too_big_event)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let response = client()
        .post(&url)
        .header("X-Amz-Invocation-Type", "Sometimes")
        .body("{}")
        .send()
        .await
        .unwrap();
    expect_error(response, 400, "ValidationException").await;

    for malformed in ["a%20b", "fn%3Aa%3Ab", "..%2F..%2Fetc", &"x".repeat(65)] {
        let response = client()
            .post(invoke_url(&emulator, malformed))
            .body("{}")
            .send()
            .await
            .unwrap();
        expect_error(response, 400, "ValidationException").await;
    }
    // A known path with a method the emulator does not serve (DeleteFunction, PUT on invocations).
    for (method, path) in [
        ("DELETE", "/2015-03-31/functions/strict"),
        ("PUT", "/2015-03-31/functions/strict/invocations"),
    ] {
        let response = client()
            .request(
                method.parse().unwrap(),
                format!("{}{path}", emulator.lambda_url()),
            )
            .send()
            .await
            .unwrap();
        expect_error(response, 404, "UnknownOperationException").await;
    }
    let response = client()
        .get(format!("{}/2099-01-01/nothing", emulator.lambda_url()))
        .send()
        .await
        .unwrap();
    expect_error(response, 404, "UnknownOperationException").await;
    // The valid sync request and the 256 KB Event one (accepted since the 1 MB limit).
    eventually("the accepted Event invocation to run", async || {
        (emulator.stats("strict").unwrap().invocations == 2).then_some(())
    })
    .await;
}

#[tokio::test]
async fn sigv4_signed_requests_are_accepted_without_checking_the_signature() {
    let emulator = start(vec![test_function("signed")]).await;
    let response = client()
        .post(invoke_url(&emulator, "signed"))
        .header("Authorization", "AWS4-HMAC-SHA256 Credential=test/20261125/us-east-1/lambda/aws4_request, SignedHeaders=host;x-amz-date, Signature=0000")
        .header("X-Amz-Date", "20261125T120000Z")
        .header("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn metrics_are_served_as_json_and_prometheus_text() {
    let emulator = start(vec![test_function("measured")]).await;
    let url = invoke_url(&emulator, "measured");
    client().post(&url).json(&json!({})).send().await.unwrap();
    client()
        .post(&url)
        .json(&json!({ "action": "error" }))
        .send()
        .await
        .unwrap();

    let metrics: Value = client()
        .get(format!("{}/_emulator/metrics", emulator.lambda_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let stats = &metrics["functions"]["measured"]["stats"];
    assert_eq!(stats["invocations"], 2);
    assert_eq!(stats["errors"], 1);
    assert_eq!(stats["cold_starts"], 1);
    assert_eq!(stats["concurrent_executions"], 0);
    assert_eq!(stats["concurrent_executions_max"], 1);
    assert!(stats["billed_duration_ms_sum"].as_u64().unwrap() >= 1);
    assert!(stats["gb_seconds"].as_f64().unwrap() > 0.0);
    assert_eq!(metrics["api_calls"]["Invoke"], 2);
    eventually("a second of the series", async || {
        emulator.series("measured").filter(|s| !s.is_empty())
    })
    .await;

    let text = client()
        .get(format!(
            "{}/_emulator/metrics/prometheus",
            emulator.lambda_url()
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("# TYPE lambda_invocations_total counter"));
    assert!(
        text.contains("lambda_invocations_total{function=\"measured\"} 2\n"),
        "{text}"
    );
    assert!(text.contains("lambda_errors_total{function=\"measured\"} 1\n"));
}
