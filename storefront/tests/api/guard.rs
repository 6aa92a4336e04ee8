//! Who may change the shop (`storefront::guard`): no cross-site browser requests, and the shared
//! token when one is configured — checked over real HTTP, with the ledger and the fault settings
//! read back to prove a refused request changed nothing.

use serde_json::json;
use shared::activities::ShopClient;
use storefront::Config;
use storefront::guard::ShopToken;

use crate::helpers::{charge, key, read, spawn_app, spawn_app_guarded};

const TOKEN: &str = "the-shop-token-0123456789abcdef-xyz";

#[tokio::test]
async fn a_page_on_another_site_cannot_change_the_shop() {
    let app = spawn_app().await;
    app.set_faults(json!({ "latencyMs": 7 })).await;
    // What a hostile page's form or fetch() makes the visitor's browser send.
    let hostile = [
        ("origin", "http://evil.example"),
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
        ("origin", "null"),
    ];
    for (name, value) in hostile {
        let reset = app
            .client
            .post(app.url("/admin/reset"))
            .header(name, value)
            .send()
            .await
            .unwrap();
        read(reset).await.assert_problem(403, "cross-site-request");
        let charged = app
            .client
            .post(app.url("/payments/charges"))
            .header("Idempotency-Key", key())
            .header(name, value)
            .json(&charge("order-x", "cust-1", 100))
            .send()
            .await
            .unwrap();
        read(charged)
            .await
            .assert_problem(403, "cross-site-request");
    }
    assert_eq!(
        app.get("/admin/faults").await.body["latencyMs"],
        7,
        "not reset"
    );
    assert!(app.effects(None).await.is_empty(), "nothing charged");

    // The shop's own pages, and anything that is not a browser, still work; reads stay open.
    let same_origin = app
        .client
        .post(app.url("/admin/reset"))
        .header("sec-fetch-site", "same-origin")
        .header("origin", &app.base)
        .send()
        .await
        .unwrap();
    assert_eq!(same_origin.status(), 204);
    let read_cross_site = app
        .client
        .get(app.url("/catalog"))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(read_cross_site.status(), 200);
    app.charge(&key(), "order-1", "cust-1", 100)
        .await
        .assert_status(201);
}

#[tokio::test]
async fn a_configured_token_is_required_for_changes_but_not_for_the_checkout_or_reads() {
    let app = spawn_app_guarded(Config::default(), Some(ShopToken::new(TOKEN).unwrap())).await;
    app.charge(&key(), "order-1", "cust-1", 100)
        .await
        .assert_problem(401, "unauthorized");
    for wrong in [
        "Bearer nope",
        &format!("Basic {TOKEN}"),
        &format!("Bearer {TOKEN}x"),
    ] {
        let answer = app
            .client
            .post(app.url("/admin/reset"))
            .header("authorization", wrong)
            .send()
            .await
            .unwrap();
        read(answer).await.assert_problem(401, "unauthorized");
    }
    assert!(app.effects(None).await.is_empty());
    app.get("/catalog").await.assert_status(200);
    // The public checkout is not behind the token (here it answers that no ingest is configured).
    let checkout = app
        .client
        .post(app.url("/shop/orders"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_ne!(checkout.status(), 401);

    // The worker's shop client sends it when configured, and then the call goes through.
    let client = ShopClient::new(&app.base).unwrap();
    let refused: Result<serde_json::Value, _> = client
        .post(
            "payments/charges",
            &key(),
            &charge("order-2", "cust-1", 100),
        )
        .await;
    assert!(
        matches!(
            refused,
            Err(shared::activities::ShopError::Business { status: 401, .. })
        ),
        "{refused:?}"
    );
    let client = client.with_token(Some(TOKEN.to_owned()));
    let charged: serde_json::Value = client
        .post(
            "payments/charges",
            &key(),
            &charge("order-2", "cust-1", 100),
        )
        .await
        .expect("a charge with the token");
    assert_eq!(charged["orderId"], "order-2");
    assert_eq!(app.effects(None).await.len(), 1);
}
