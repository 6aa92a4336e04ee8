//! Dependencies that are missing or down: each endpoint that needs one answers with a problem
//! that says which, and the shop's own services keep working.

use storefront::web::{TemporalTarget, WebSettings, parse_http_url};

use crate::support::Shop;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn temporal_down_is_503_temporal_unavailable_and_the_shop_still_serves() {
    let port = free_port();
    let shop = Shop::start(WebSettings {
        temporal: TemporalTarget::Address {
            address: format!("127.0.0.1:{port}"),
            namespace: "default".into(),
        },
        ..WebSettings::default()
    })
    .await;
    for path in ["/shop/orders/web-1/status", "/dashboard/api/orders"] {
        // Twice: a failed connection attempt is not cached, the second request tries again.
        for _ in 0..2 {
            let (status, body) = shop.get(path).await;
            assert_eq!(status, 503, "{path}: {body}");
            assert_eq!(
                body["type"], "https://shopflow.dev/problems/temporal-unavailable",
                "{path}: {body}"
            );
            assert!(
                body["detail"]
                    .as_str()
                    .unwrap()
                    .contains("Temporal cannot be reached"),
                "{body}"
            );
        }
    }
    let (status, body) = shop.get("/catalog").await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn lambda_metrics_without_an_emulator_are_503_and_with_a_dead_one_502() {
    let shop = Shop::start(WebSettings::default()).await;
    let (status, body) = shop.get("/dashboard/api/lambda").await;
    assert_eq!(
        (status, body["type"].as_str()),
        (503, Some("https://shopflow.dev/problems/not-configured")),
        "{body}"
    );
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("SHOPFLOW_EMULATOR_URL")
    );

    let dead = Shop::start(WebSettings {
        emulator_url: Some(parse_http_url(&format!("http://127.0.0.1:{}", free_port())).unwrap()),
        ..WebSettings::default()
    })
    .await;
    let (status, body) = dead.get("/dashboard/api/lambda").await;
    assert_eq!(
        (status, body["type"].as_str()),
        (
            502,
            Some("https://shopflow.dev/problems/upstream-unavailable")
        ),
        "{body}"
    );
}
