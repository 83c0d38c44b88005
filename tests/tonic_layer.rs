//! The same tower layer around a real tonic gRPC server (the standard health service), called by
//! a real tonic client over TCP: each gRPC method is its own route.

use std::time::Duration;

use tonic_health::ServingStatus;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use track_metrics::axum::MetricsLayer;
use track_metrics::testing::Exposition;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_calls_are_counted_by_method() {
    track_metrics::Exporter::builder()
        .without_listener()
        .install()
        .unwrap();
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_service_status("shop.Orders", ServingStatus::Serving)
        .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .layer(MetricsLayer::new())
            .add_service(health)
            .serve_with_incoming(tokio_stream_of(listener)),
    );
    tokio::time::sleep(Duration::from_millis(100)).await;

    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = HealthClient::new(channel);
    for _ in 0..3 {
        let reply = client
            .check(HealthCheckRequest {
                service: "shop.Orders".into(),
            })
            .await
            .unwrap();
        assert_eq!(reply.into_inner().status, ServingStatus::Serving as i32);
    }
    let unknown = client
        .check(HealthCheckRequest {
            service: "no.Such".into(),
        })
        .await;
    assert_eq!(unknown.unwrap_err().code(), tonic::Code::NotFound);

    let scrape = Exposition::parse(&track_metrics::render()).unwrap();
    let labels = [
        ("method", "POST"),
        ("route", "/grpc.health.v1.Health/Check"),
        ("status", "200"),
    ];
    assert_eq!(scrape.value("http_requests_total", &labels), Some(4.0));
    let timed = [
        ("method", "POST"),
        ("route", "/grpc.health.v1.Health/Check"),
    ];
    assert_eq!(
        scrape.value("http_request_duration_seconds_count", &timed),
        Some(4.0)
    );
    assert_eq!(scrape.value("http_requests_in_flight", &[]), Some(0.0));
}

/// The accepted connections of `listener`, as tonic's `serve_with_incoming` takes them.
fn tokio_stream_of(
    listener: tokio::net::TcpListener,
) -> impl futures_core::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    futures_util::stream::unfold(listener, |listener| async move {
        let accepted = listener.accept().await.map(|(stream, _)| stream);
        Some((accepted, listener))
    })
}
