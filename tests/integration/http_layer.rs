//! The tower layer on a real axum server over TCP, and around a real tonic gRPC server called by
//! a real tonic client: requests counted by method, route template and status, timed, in flight
//! while they run; the `/metrics` handler serves the exposition.
//!
//! Both servers record into the same families (`http_requests_in_flight` is one gauge), so the
//! two tests take turns.

use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::routing::get;
use tonic_health::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::health_server::{Health, HealthServer};
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};
use track_metrics::axum::{MetricsLayer, metrics};
use track_metrics::testing::Exposition;

use crate::common::{self, Response, request_with};

static TURN: Mutex<()> = Mutex::new(());

fn send(addr: SocketAddr, method: &str, path: &str) -> Response {
    request_with(TcpStream::connect(addr).unwrap(), addr, method, path, &[])
}

fn in_flight() -> f64 {
    Exposition::parse(&track_metrics::render())
        .unwrap()
        .value("http_requests_in_flight", &[])
        .unwrap()
}

#[test]
fn requests_are_counted_by_method_route_template_and_status() {
    let _turn = TURN.lock().unwrap_or_else(PoisonError::into_inner);
    common::exporter();
    // The slow route answers when the test says so.
    let release = Arc::new(tokio::sync::Notify::new());
    let slow_release = Arc::clone(&release);
    let app = Router::new()
        .route(
            "/users",
            get(|| async { "users" }).post(|| async { "created" }),
        )
        .route("/users/{id}", get(|| async { "a user" }))
        .route(
            "/slow",
            get(move || {
                let release = Arc::clone(&slow_release);
                async move {
                    release.notified().await;
                    "slow"
                }
            }),
        )
        .route("/metrics", get(metrics))
        .layer(MetricsLayer::new());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    runtime.spawn(async move { axum::serve(listener, app).await });
    // A second app that asks for its scrapes to count as requests.
    let counted = Router::new()
        .route("/scrape", get(metrics))
        .layer(MetricsLayer::new().record_exporter_routes(true));
    let counted_listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let counted_addr = counted_listener.local_addr().unwrap();
    runtime.spawn(async move { axum::serve(counted_listener, counted).await });

    let before = in_flight();
    assert_eq!(send(addr, "GET", "/users/42").status, 200);
    assert_eq!(send(addr, "GET", "/users/7").status, 200);
    assert_eq!(send(addr, "POST", "/users").status, 200);
    assert_eq!(send(addr, "DELETE", "/users").status, 405);
    assert_eq!(send(addr, "GET", "/no/such/page").status, 404);
    assert_eq!(send(addr, "BREW", "/users").status, 405);
    for id in 0..50 {
        // Many raw paths, one route template: one series.
        assert_eq!(
            send(addr, "GET", &format!("/users/{id}-{}", id * 7)).status,
            200
        );
    }
    let slow = std::thread::spawn(move || send(addr, "GET", "/slow"));
    common::eventually("the slow request is in flight", || {
        in_flight() == before + 1.0
    });
    let during = send(addr, "GET", "/metrics");
    assert_eq!(
        during.header("content-type"),
        Some(track_metrics::CONTENT_TYPE)
    );
    let during = Exposition::parse(&during.body).unwrap();
    // The scrape itself and the slow request.
    assert_eq!(
        during.value("http_requests_in_flight", &[]),
        Some(before + 2.0)
    );
    release.notify_one();
    assert_eq!(slow.join().unwrap().status, 200);

    let scrapes = |scrape: &Exposition| {
        scrape
            .value("track_metrics_scrapes_total", &[("status", "200")])
            .unwrap_or(0.0)
    };
    let before_scrapes = scrapes(&Exposition::parse(&track_metrics::render()).unwrap());
    assert_eq!(send(counted_addr, "GET", "/scrape").status, 200);
    let response = send(addr, "GET", "/metrics");
    let scrape = Exposition::parse(&response.body).unwrap();
    // Scrapes through the handler count as the endpoint's do (other tests may scrape too).
    assert!(
        scrapes(&scrape) >= before_scrapes + 1.0,
        "{}",
        response.body
    );
    // Requests are timed with the functions' buckets, from 10 µs.
    assert!(
        scrape
            .value(
                "http_request_duration_seconds_bucket",
                &[("method", "GET"), ("route", "/slow"), ("le", "0.00001")]
            )
            .is_some(),
        "{}",
        response.body
    );
    let count = |method: &str, route: &str, status: &str| {
        scrape.value(
            "http_requests_total",
            &[("method", method), ("route", route), ("status", status)],
        )
    };
    assert_eq!(count("GET", "/users/{id}", "200"), Some(52.0));
    assert_eq!(count("POST", "/users", "200"), Some(1.0));
    assert_eq!(count("DELETE", "/users", "405"), Some(1.0));
    assert_eq!(count("GET", "unmatched", "404"), Some(1.0));
    assert_eq!(count("other", "/users", "405"), Some(1.0));
    assert_eq!(count("GET", "/slow", "200"), Some(1.0));
    // Scrapes are the exporter's traffic, not the application's, unless asked for.
    assert_eq!(count("GET", "/metrics", "200"), None);
    assert_eq!(count("GET", "/scrape", "200"), Some(1.0));
    let slow_count = scrape.value(
        "http_request_duration_seconds_count",
        &[("method", "GET"), ("route", "/slow")],
    );
    assert_eq!(slow_count, Some(1.0));
    assert_eq!(
        scrape.value("http_requests_in_flight", &[]),
        Some(before + 1.0),
        "only this scrape"
    );
    assert!(
        !response.body.contains("/users/42"),
        "raw paths never become labels"
    );
}

#[test]
fn grpc_calls_are_counted_by_method() {
    let _turn = TURN.lock().unwrap_or_else(PoisonError::into_inner);
    common::exporter();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(grpc_calls());
}

/// A health service whose handlers are instrumented: `shop.Orders` serves, `shop.Down` is
/// unavailable (a server error), anything else is not found (the client's mistake).
struct Checks;

#[track_metrics::track_metrics]
#[async_trait::async_trait]
impl Health for Checks {
    async fn check(
        &self,
        request: tonic::Request<HealthCheckRequest>,
    ) -> Result<tonic::Response<HealthCheckResponse>, tonic::Status> {
        match request.into_inner().service.as_str() {
            "shop.Orders" => Ok(tonic::Response::new(HealthCheckResponse {
                status: ServingStatus::Serving as i32,
            })),
            "shop.Down" => Err(tonic::Status::unavailable("down for maintenance")),
            _ => Err(tonic::Status::not_found("no such service")),
        }
    }

    type WatchStream = futures_util::stream::Empty<Result<HealthCheckResponse, tonic::Status>>;

    async fn watch(
        &self,
        _: tonic::Request<HealthCheckRequest>,
    ) -> Result<tonic::Response<Self::WatchStream>, tonic::Status> {
        Err(tonic::Status::unimplemented("no watching"))
    }
}

async fn grpc_calls() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .layer(MetricsLayer::new())
            .add_service(HealthServer::new(Checks))
            .serve_with_incoming(accepted(listener)),
    );

    // The listener is bound: connecting succeeds before the server task first runs.
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = HealthClient::new(channel);
    let check = |service: &str| HealthCheckRequest {
        service: service.into(),
    };
    for _ in 0..3 {
        let reply = client.check(check("shop.Orders")).await.unwrap();
        assert_eq!(reply.into_inner().status, ServingStatus::Serving as i32);
    }
    let unknown = client.check(check("no.Such")).await;
    assert_eq!(unknown.unwrap_err().code(), tonic::Code::NotFound);
    let down = client.check(check("shop.Down")).await;
    assert_eq!(down.unwrap_err().code(), tonic::Code::Unavailable);
    let watch = client.watch(check("shop.Orders")).await;
    assert_eq!(watch.unwrap_err().code(), tonic::Code::Unimplemented);

    let text = track_metrics::render();
    let scrape = Exposition::parse(&text).unwrap();
    let handled = |method: &str, code: &str| {
        scrape.value(
            "grpc_server_handled_total",
            &[
                ("grpc_service", "grpc.health.v1.Health"),
                ("grpc_method", method),
                ("grpc_code", code),
            ],
        )
    };
    // The status of a reply, from its trailers (OK) or its headers (errors, "trailers-only").
    assert_eq!(handled("Check", "OK"), Some(3.0), "{text}");
    assert_eq!(handled("Check", "NotFound"), Some(1.0));
    assert_eq!(handled("Check", "Unavailable"), Some(1.0));
    assert_eq!(handled("Watch", "Unimplemented"), Some(1.0));
    let timed = [
        ("grpc_service", "grpc.health.v1.Health"),
        ("grpc_method", "Check"),
    ];
    assert_eq!(
        scrape.value("grpc_server_handling_seconds_count", &timed),
        Some(5.0)
    );
    assert!(
        !text.contains("route=\"/grpc.health.v1.Health/Check\""),
        "gRPC calls are not HTTP requests by route: {text}"
    );
    assert_eq!(scrape.value("http_requests_in_flight", &[]), Some(0.0));

    // The handlers' own series: errors labelled by their code, and only the server's failures
    // counted as errors (a client asking for a service that does not exist is not one).
    let module = module_path!();
    let site = [("function", "Checks::check"), ("module", module)];
    assert_eq!(scrape.value("function_calls_total", &site), Some(5.0));
    let errors = |code: &str| {
        let mut labels = site.to_vec();
        labels.push(("error_type", code));
        scrape.value("function_errors_total", &labels)
    };
    assert_eq!(errors("Unavailable"), Some(1.0));
    assert_eq!(errors("NotFound"), None, "{text}");
}

/// The accepted connections of `listener`, as tonic's `serve_with_incoming` takes them.
fn accepted(
    listener: tokio::net::TcpListener,
) -> impl futures_core::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    futures_util::stream::unfold(listener, |listener| async move {
        let accepted = listener.accept().await.map(|(stream, _)| stream);
        Some((accepted, listener))
    })
}

/// Requests that end without a response still count: a client that goes away (its future
/// dropped while pending), and a handler that panics.
#[test]
fn requests_dropped_or_panicking_before_their_response_are_counted() {
    use std::future::Future as _;
    use tower_service::Service as _;

    let _turn = TURN.lock().unwrap_or_else(PoisonError::into_inner);
    common::exporter();
    let mut app: Router = Router::new()
        .route(
            "/never",
            get(|| async { std::future::pending::<&str>().await }),
        )
        .route(
            "/boom",
            get(|| async {
                if true {
                    panic!("the handler failed");
                }
                "unreachable"
            }),
        )
        .layer(MetricsLayer::new());
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    let request = |path: &str| {
        axum::http::Request::get(path)
            .body(axum::body::Body::empty())
            .unwrap()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let _entered = runtime.enter();
    let mut never = Box::pin(app.call(request("/never")));
    assert!(never.as_mut().poll(&mut context).is_pending());
    drop(never);
    std::panic::set_hook(Box::new(|_| {}));
    let boom = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut boom = Box::pin(app.call(request("/boom")));
        let _ = boom.as_mut().poll(&mut context);
    }));
    let _ = std::panic::take_hook();
    assert!(boom.is_err());
    let scrape = Exposition::parse(&track_metrics::render()).unwrap();
    let counted = |route: &str, status: &str| {
        scrape.value(
            "http_requests_total",
            &[("method", "GET"), ("route", route), ("status", status)],
        )
    };
    assert_eq!(counted("/never", "cancelled"), Some(1.0));
    assert_eq!(counted("/boom", "panic"), Some(1.0));
}
