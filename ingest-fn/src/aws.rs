//! AWS SDK clients the way ShopFlow's binaries make them: the SDK's standard configuration
//! chain (region, credentials, and `AWS_ENDPOINT_URL_SQS` / `AWS_ENDPOINT_URL` — how LocalStack is
//! reached locally), with an HTTP client on rustls + ring (the workspace already builds ring for
//! reqwest; the SDK's default TLS stack would add aws-lc, a C build).

use aws_config::BehaviorVersion;
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};

/// An SQS client from the environment; `endpoint` overrides the endpoint the chain found.
///
/// Aimed at a loopback endpoint (LocalStack) with no credentials in the environment, it uses
/// dummy ones (and region `us-east-1` if none is set): LocalStack accepts any, and the chain
/// would otherwise end at the EC2 metadata service, which does not exist here.
pub async fn sqs_client(endpoint: Option<&str>, region: Option<&str>) -> aws_sdk_sqs::Client {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http);
    let endpoint = endpoint
        .map(str::to_owned)
        .or_else(|| std::env::var("AWS_ENDPOINT_URL_SQS").ok());
    if let Some(endpoint) = &endpoint {
        loader = loader.endpoint_url(endpoint);
        if is_loopback(endpoint) && std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
            loader = loader.credentials_provider(aws_sdk_sqs::config::Credentials::new(
                "test", "test", None, None, "local",
            ));
        }
        let region_set = ["AWS_REGION", "AWS_DEFAULT_REGION"]
            .iter()
            .any(|v| std::env::var_os(v).is_some());
        if region.is_none() && !region_set && is_loopback(endpoint) {
            loader = loader.region(aws_config::Region::new("us-east-1"));
        }
    }
    if let Some(region) = region {
        loader = loader.region(aws_config::Region::new(region.to_owned()));
    }
    aws_sdk_sqs::Client::new(&loader.load().await)
}

fn is_loopback(endpoint: &str) -> bool {
    reqwest::Url::parse(endpoint)
        .is_ok_and(|url| matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]")))
}

#[cfg(test)]
mod tests {
    #[test]
    fn loopback_endpoints_are_recognised() {
        assert!(super::is_loopback("http://127.0.0.1:4566"));
        assert!(super::is_loopback("http://localhost:4566/"));
        assert!(!super::is_loopback("https://sqs.us-east-1.amazonaws.com"));
        assert!(!super::is_loopback("not a url"));
    }
}
