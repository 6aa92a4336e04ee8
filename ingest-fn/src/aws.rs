//! AWS SDK clients the way ShopFlow's binaries make them: the SDK's standard configuration
//! chain (region, credentials, and `AWS_ENDPOINT_URL_SQS` / `AWS_ENDPOINT_URL` — how LocalStack is
//! reached locally), with an HTTP client on rustls + ring (the workspace already builds ring for
//! reqwest; the SDK's default TLS stack would add aws-lc, a C build).

use aws_config::BehaviorVersion;
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};

/// An SQS client from the environment; `endpoint` overrides the endpoint the chain found.
pub async fn sqs_client(endpoint: Option<&str>, region: Option<&str>) -> aws_sdk_sqs::Client {
    let http = aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https();
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http);
    if let Some(endpoint) = endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    if let Some(region) = region {
        loader = loader.region(aws_config::Region::new(region.to_owned()));
    }
    aws_sdk_sqs::Client::new(&loader.load().await)
}
