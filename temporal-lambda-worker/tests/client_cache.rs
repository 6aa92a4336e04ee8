//! The warm client on a real Temporal dev server: kept across invocations when reuse is on,
//! dialled afresh after a failure or when reuse is off; a server that is not there is an error
//! that names it.

use std::time::Duration;

use temporal_lambda_worker::host::ClientCache;
use temporalio_client::{ClientOptions, ConnectionOptions, Url};

fn cache(address: &str, reuse: bool) -> ClientCache {
    let target = Url::parse(&format!("http://{address}")).expect("a server address");
    ClientCache::new(
        ConnectionOptions::new(target).build(),
        ClientOptions::new("default").build(),
        reuse,
        Duration::from_secs(5),
    )
}

/// `(client reused, connect time)` of the next `get`.
async fn next(cache: &ClientCache) -> (bool, Duration) {
    let (_, connect, reused) = cache.get().await.expect("connecting to the dev server");
    (reused, connect)
}

#[tokio::test]
async fn a_kept_client_is_reused_until_invalidated() {
    let server = devstack::temporal_for_tests().expect("a Temporal dev server");
    let kept = cache(&server.address(), true);
    let (reused, connect) = next(&kept).await;
    assert!(
        !reused && connect > Duration::ZERO,
        "the first invocation dials"
    );
    for _ in 0..3 {
        assert_eq!(
            next(&kept).await,
            (true, Duration::ZERO),
            "warm invocations reuse"
        );
    }
    kept.invalidate(); // what a worker failure does
    assert!(
        !next(&kept).await.0,
        "after a failure the next invocation dials afresh"
    );
    assert!(next(&kept).await.0, "and keeps that client again");

    let fresh = cache(&server.address(), false);
    for _ in 0..3 {
        assert!(!next(&fresh).await.0, "reuse off dials every time");
    }
}

#[tokio::test]
async fn an_absent_server_is_an_error_naming_it() {
    let port = devstack::ports::pick_free_port().expect("a free port"); // nothing listens there
    let address = format!("127.0.0.1:{port}");
    let cache = cache(&address, true);
    let Err(err) = cache.get().await else {
        panic!("connected to {address}, where nothing listens");
    };
    assert!(err.contains(&address), "{err}");
    assert!(
        cache.get().await.is_err(),
        "a failed dial leaves nothing cached"
    );
}
