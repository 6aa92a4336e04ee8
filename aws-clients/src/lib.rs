//! AWS SDK clients the way ShopFlow's binaries make them — one builder for the function that
//! consumes the queue (`ingest-fn`), the tool that fills it (`push-events`) and the local stack
//! that hosts it (`devstack`), so they cannot disagree about endpoints, regions or credentials.
//!
//! Both builders put the SDK on rustls + ring (the workspace already builds ring for reqwest; the
//! SDK's default TLS stack would add aws-lc, a C build).

use aws_config::BehaviorVersion;
use aws_sdk_sqs::config::{Credentials, Region};
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};

/// The region LocalStack answers in when nothing names one.
const LOCAL_REGION: &str = "us-east-1";

fn http_client() -> aws_sdk_sqs::config::SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// An SQS client from the SDK's standard configuration chain (region, credentials, and
/// `AWS_ENDPOINT_URL_SQS` / `AWS_ENDPOINT_URL`); `endpoint` and `region` override what the chain
/// found.
///
/// Aimed at a loopback endpoint (LocalStack) with no credentials in the environment, it uses
/// dummy ones (and region `us-east-1` if none is set): LocalStack accepts any, and the chain
/// would otherwise end at the EC2 metadata service, which does not exist here.
pub async fn sqs_client(endpoint: Option<&str>, region: Option<&str>) -> aws_sdk_sqs::Client {
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http_client());
    let endpoint = endpoint
        .map(str::to_owned)
        .or_else(|| std::env::var("AWS_ENDPOINT_URL_SQS").ok());
    if let Some(endpoint) = &endpoint {
        loader = loader.endpoint_url(endpoint);
        if is_loopback(endpoint) && std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
            loader = loader.credentials_provider(local_credentials());
        }
        let region_set = ["AWS_REGION", "AWS_DEFAULT_REGION"]
            .iter()
            .any(|v| std::env::var_os(v).is_some());
        if region.is_none() && !region_set && is_loopback(endpoint) {
            loader = loader.region(Region::new(LOCAL_REGION));
        }
    }
    if let Some(region) = region {
        loader = loader.region(Region::new(region.to_owned()));
    }
    aws_sdk_sqs::Client::new(&loader.load().await)
}

/// A client for LocalStack at `endpoint`, built without the configuration chain (no I/O, no
/// environment): dummy credentials, region `us-east-1`. For the local stack and its tests.
pub fn local_sqs_client(endpoint: &str) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::from_conf(
        aws_sdk_sqs::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(LOCAL_REGION))
            .endpoint_url(endpoint)
            .credentials_provider(local_credentials())
            .http_client(http_client())
            .build(),
    )
}

fn local_credentials() -> Credentials {
    Credentials::new("test", "test", None, None, "local")
}

fn is_loopback(endpoint: &str) -> bool {
    url::Url::parse(endpoint)
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
