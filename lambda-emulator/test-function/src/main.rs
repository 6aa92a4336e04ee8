//! `emulator-test-fn`: a tiny Lambda function on `lambda_runtime` whose behaviour is chosen by its
//! payload, so the lambda-emulator's tests can drive every path of a real execution environment
//! (success, function error, timeout, crash, output, environment) with one binary.
//!
//! Payload `{"action": ...}`:
//! - `echo` (also the default): returns `{"pid", "requestId", "invokedFunctionArn", "echo": <payload>}`;
//! - `error`: fails with `message` (a handled function error);
//! - `sleep`: sleeps `ms` milliseconds, then answers like `echo`;
//! - `print`: writes each of `lines` to stdout (and `stderr_lines` to stderr), then answers;
//! - `crash`: exits the process with `code` (default 3) mid-invocation;
//! - `env`: returns the environment variables named in `names` (all of them when absent);
//! - `trap_sigterm`: from now on, SIGTERM only prints `got SIGTERM` (the process stays up), so a
//!   test can see Lambda's shutdown phase send SIGTERM first and SIGKILL after the grace period.
//! - `allocate`: allocates and touches `mb` megabytes (kept until the process ends), then answers;
//! - `tick`: starts a thread that appends a line to the file `path` every 20 ms, for ever — work
//!   that goes on after the response, which a frozen environment must not do;
//! - `tmp`: writes a file into `TMPDIR` and answers with the folder's path.
//!
//! Event-source payloads are recognised by shape:
//! - an SQS event (`Records`): a record whose body contains `fail` is reported in
//!   `batchItemFailures`; a body containing `error` fails the whole invocation;
//! - an API Gateway HTTP API 2.0 event (`requestContext.http`): `/plain` answers a bare JSON object
//!   (exercising the 2.0 inference rule), `/status/<n>` answers status `n`, `/sleep/<ms>` sleeps
//!   that long first, anything else echoes the method, path, query and body.
//!
//! When `EMULATOR_TEST_RECORD_FILE` is set, every invocation appends its request id to that file,
//! and an SQS invocation `batch <number of records>`, then for each record `sqs <body>` and
//! `attempt <body> <ApproximateReceiveCount> <ms since ApproximateFirstReceiveTimestamp>` — tests
//! use it to see what really reached the function, in which batches, and when it came back.
//!
//! When `EMULATOR_TEST_INIT_SLEEP_MS` is set, the process sleeps that long before it serves
//! invocations: a slow init phase (Lambda's "Init Duration").
//!
//! When `EMULATOR_TEST_EXTENSION` is set, the function registers an extension (with the
//! `lambda-extension` crate, as a real function would) before it serves invocations, and exits
//! when the registration fails:
//! - `noop`: subscribed to no events, like `lambda_runtime`'s graceful-shutdown helper — its only
//!   effect on Lambda is that the runtime gets SIGTERM at shutdown;
//! - `events`: subscribed to `INVOKE`, printing `extension got INVOKE <request id>` for each;
//! - `slow_invoke`: `events`, taking `EMULATOR_TEST_EXTENSION_HOLD_MS` on each event before it
//!   asks for the next (an extension flushing telemetry after each invocation);
//! - `register_only`: registered, and never asks for an event — Init can then never end;
//! - `shutdown`: tries to subscribe to `SHUTDOWN`, which Lambda refuses to internal extensions.

use std::io::Write;

use lambda_extension::{NextEvent, RegisteredExtension};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Error> {
    if let Some(ms) = std::env::var("EMULATOR_TEST_INIT_SLEEP_MS")
        .ok()
        .and_then(|ms| ms.parse().ok())
    {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    }
    match std::env::var("EMULATOR_TEST_EXTENSION").ok().as_deref() {
        None => {}
        Some("noop") => {
            // Registered during init, like lambda_runtime's helper; nothing ever comes.
            let extension = lambda_extension::Extension::new()
                .with_events(&[])
                .with_extension_name("emulator-test-noop");
            tokio::spawn(extension.register().await?.run());
        }
        // `slow_invoke` is `events` that also holds each event (EMULATOR_TEST_EXTENSION_HOLD_MS).
        Some("events" | "slow_invoke") => {
            let extension = lambda_extension::Extension::new()
                .with_events(&["INVOKE"])
                .with_extension_name("emulator-test-events")
                .with_events_processor(lambda_extension::service_fn(print_event));
            let registered: RegisteredExtension<_> = extension.register().await?;
            tokio::spawn(registered.run());
        }
        Some("register_only") => {
            // Registered, then never polled: the handle is simply kept.
            let registered = lambda_extension::Extension::new()
                .with_events(&[])
                .with_extension_name("emulator-test-silent")
                .register()
                .await?;
            std::mem::forget(registered);
        }
        Some("shutdown") => {
            let extension = lambda_extension::Extension::new()
                .with_events(&["SHUTDOWN"])
                .with_extension_name("emulator-test-shutdown");
            if let Err(error) = extension.register().await {
                eprintln!("extension registration refused: {error}");
                return Err(error);
            }
        }
        Some(other) => return Err(format!("unknown EMULATOR_TEST_EXTENSION {other:?}").into()),
    }
    lambda_runtime::run(service_fn(handle)).await
}

async fn print_event(event: lambda_extension::LambdaEvent) -> Result<(), Error> {
    if let Some(ms) = std::env::var("EMULATOR_TEST_EXTENSION_HOLD_MS")
        .ok()
        .and_then(|ms| ms.parse().ok())
    {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    }
    match event.next {
        NextEvent::Invoke(invoke) => println!("extension got INVOKE {}", invoke.request_id),
        NextEvent::Shutdown(shutdown) => {
            println!("extension got SHUTDOWN {}", shutdown.shutdown_reason)
        }
    }
    std::io::stdout().flush()?;
    Ok(())
}

async fn handle(event: LambdaEvent<Value>) -> Result<Value, Error> {
    let (payload, context) = event.into_parts();
    record_invocation(&context.request_id)?;
    if payload.get("Records").is_some() {
        return sqs_batch(&payload);
    }
    if payload.pointer("/requestContext/http").is_some() {
        return Ok(http_request(&payload).await);
    }
    let echo = json!({
        "pid": std::process::id(),
        "requestId": context.request_id,
        "invokedFunctionArn": context.invoked_function_arn,
        "echo": payload,
    });
    match payload
        .get("action")
        .and_then(Value::as_str)
        .unwrap_or("echo")
    {
        "echo" => Ok(echo),
        "error" => Err(payload
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("requested failure")
            .into()),
        "sleep" => {
            let ms = payload.get("ms").and_then(Value::as_u64).unwrap_or(0);
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            Ok(echo)
        }
        "print" => {
            for line in strings(&payload, "lines") {
                println!("{line}");
            }
            for line in strings(&payload, "stderr_lines") {
                eprintln!("{line}");
            }
            std::io::stdout().flush()?;
            Ok(echo)
        }
        "crash" => {
            let code = payload.get("code").and_then(Value::as_i64).unwrap_or(3);
            std::process::exit(i32::try_from(code).unwrap_or(3));
        }
        "env" => {
            let vars: serde_json::Map<String, Value> = match payload.get("names") {
                Some(_) => strings(&payload, "names")
                    .map(|name| {
                        (
                            name.to_owned(),
                            std::env::var(name).map_or(Value::Null, Value::String),
                        )
                    })
                    .collect(),
                None => std::env::vars()
                    .map(|(k, v)| (k, Value::String(v)))
                    .collect(),
            };
            Ok(json!({ "pid": std::process::id(), "env": vars }))
        }
        "trap_sigterm" => {
            let mut sigterm =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
            tokio::spawn(async move {
                while sigterm.recv().await.is_some() {
                    println!("got SIGTERM");
                }
            });
            Ok(echo)
        }
        "allocate" => {
            let mb = payload.get("mb").and_then(Value::as_u64).unwrap_or(1) as usize;
            // Touched, so it is resident; leaked, so it stays until the process ends.
            let block = vec![1u8; mb * 1024 * 1024];
            std::hint::black_box(&block);
            block.leak();
            Ok(echo)
        }
        "tick" => {
            let path = payload
                .get("path")
                .and_then(Value::as_str)
                .ok_or("tick needs a path")?
                .to_owned();
            std::thread::spawn(move || {
                for n in 0u64.. {
                    if let Ok(mut file) = std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(&path)
                    {
                        let _ = writeln!(file, "{n}");
                    }
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
            });
            Ok(echo)
        }
        "tmp" => {
            let dir = std::env::temp_dir();
            std::fs::write(
                dir.join("written-by-the-function"),
                context.request_id.as_bytes(),
            )?;
            Ok(json!({ "pid": std::process::id(), "tmp": dir }))
        }
        other => Err(format!("unknown action {other:?}").into()),
    }
}

fn strings<'a>(payload: &'a Value, key: &str) -> impl Iterator<Item = &'a str> {
    payload
        .get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

fn record_invocation(request_id: &str) -> std::io::Result<()> {
    record_line(request_id)
}

fn record_line(line: &str) -> std::io::Result<()> {
    let Some(path) = std::env::var_os("EMULATOR_TEST_RECORD_FILE") else {
        return Ok(());
    };
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    writeln!(file, "{line}")
}

fn sqs_batch(payload: &Value) -> Result<Value, Error> {
    let records = payload["Records"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    record_line(&format!("batch {}", records.len()))?;
    let mut failures = Vec::new();
    for record in records {
        let body = record["body"].as_str().unwrap_or_default();
        record_line(&format!("sqs {body}"))?;
        let attribute = |name: &str| {
            record["attributes"][name]
                .as_str()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or_default()
        };
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let since_first_receive =
            now_ms.saturating_sub(attribute("ApproximateFirstReceiveTimestamp"));
        record_line(&format!(
            "attempt {body} {} {since_first_receive}",
            attribute("ApproximateReceiveCount")
        ))?;
        if body.contains("error") {
            return Err(format!(
                "record {} asked the whole batch to fail",
                record["messageId"]
            )
            .into());
        }
        if body.contains("fail") {
            failures.push(json!({ "itemIdentifier": record["messageId"] }));
        }
    }
    Ok(json!({ "batchItemFailures": failures }))
}

async fn http_request(payload: &Value) -> Value {
    let path = payload["rawPath"].as_str().unwrap_or_default();
    if let Some(ms) = path.strip_prefix("/sleep/").and_then(|ms| ms.parse().ok()) {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    }
    if path.ends_with("/plain") {
        return json!({ "plain": true });
    }
    let status = path
        .strip_prefix("/status/")
        .and_then(|code| code.parse::<u16>().ok())
        .unwrap_or(200);
    let answer = json!({
        "method": payload.pointer("/requestContext/http/method"),
        "path": path,
        "query": payload["rawQueryString"],
        "body": payload["body"],
        "isBase64Encoded": payload["isBase64Encoded"],
        "routeKey": payload["routeKey"],
        "pathParameters": payload["pathParameters"],
        "headers": payload["headers"],
        "version": payload["version"],
        "requestContext": payload["requestContext"],
    });
    json!({
        "statusCode": status,
        "headers": { "content-type": "application/json", "x-test-fn": "yes" },
        "body": answer.to_string(),
        "isBase64Encoded": false,
    })
}
