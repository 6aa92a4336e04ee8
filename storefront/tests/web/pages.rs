//! The pages and their assets are served from the binary, with a Content-Security-Policy that
//! allows only this origin's scripts.

use crate::support::Shop;
use storefront::web::WebSettings;

#[tokio::test]
async fn pages_and_assets_are_served_with_their_types_and_a_strict_csp() {
    let shop = Shop::start(WebSettings::default()).await;
    let cases = [
        ("/", "text/html", "/assets/shop.js"),
        ("/dashboard", "text/html", "/assets/dashboard.js"),
        ("/assets/shop.js", "text/javascript", "/shop/orders"),
        (
            "/assets/dashboard.js",
            "text/javascript",
            "/dashboard/api/lambda",
        ),
        (
            "/assets/api.js",
            "text/javascript",
            "export async function api",
        ),
        ("/assets/style.css", "text/css", ".steps"),
    ];
    for (path, content_type, needle) in cases {
        let response = shop
            .http
            .get(format!("{}{path}", shop.url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        assert!(
            header("content-type").starts_with(content_type),
            "{path}: {}",
            header("content-type")
        );
        let csp = header("content-security-policy");
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{path}: {csp}"
        );
        assert_eq!(header("x-content-type-options"), "nosniff");
        let body = response.text().await.unwrap();
        assert!(body.contains(needle), "{path} should contain {needle:?}");
    }
    let (status, _) = shop.get("/assets/missing.js").await;
    assert_eq!(status, 404);
}
