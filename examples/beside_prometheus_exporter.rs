//! A service that already runs metrics-exporter-prometheus keeps it: `#[track_metrics]` handlers
//! and a `metrics!` family record through its recorder, without `track_metrics::install()`, and
//! its `/metrics` route (rendered by the Prometheus handle) shows them beside the service's own
//! `metrics::counter!`s, in one scrape.
//!
//! ```text
//! cargo run --example beside_prometheus_exporter
//! curl http://127.0.0.1:9000/metrics
//! ```
//!
//! `TRACK_METRICS_ADDR=host:port` serves elsewhere (port 0 picks a free one). It sends itself
//! traffic until Ctrl-C.

use std::time::Duration;

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use track_metrics::track_metrics;

track_metrics::metrics! {
    /// Orders placed, by payment method
    counter ORDERS: shop_orders_total(payment);
}

/// One user; an unknown one is a 404, which is the client's mistake, not an error.
#[track_metrics]
async fn get_user(Path(id): Path<u32>) -> Result<String, StatusCode> {
    // The service's own metric, through the facade as before.
    metrics::counter!("user_lookups").increment(1);
    if id == 0 {
        return Err(StatusCode::NOT_FOUND);
    }
    Ok(format!("{{\"id\": {id}}}\n"))
}

/// Places an order; one in seven fails with 503.
#[track_metrics]
async fn place_order(Path(id): Path<u32>) -> Result<&'static str, StatusCode> {
    tokio::time::sleep(Duration::from_millis(2)).await;
    if id % 7 == 0 {
        return Err(StatusCode::SERVICE_UNAVAILABLE);
    }
    ORDERS
        .labels(if id % 2 == 0 { "card" } else { "invoice" })
        .inc();
    Ok("placed\n")
}

fn app(prometheus: PrometheusHandle) -> Router {
    Router::new()
        .route("/users/{id}", get(get_user))
        .route("/orders/{id}", get(place_order))
        .route("/metrics", get(move || async move { prometheus.render() }))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The exporter the service already had, installed first. Buckets for the functions'
    // duration family make it a histogram there too (metrics-exporter-prometheus makes
    // histograms without buckets summaries).
    let prometheus = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full("function_duration_seconds".to_owned()),
            track_metrics::DEFAULT_BUCKETS,
        )?
        .install_recorder()?;
    let upkeep = prometheus.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(5)).await;
            upkeep.run_upkeep();
        }
    });

    let addr = std::env::var(track_metrics::ADDR_VARIABLE)
        .ok()
        .filter(|addr| !addr.trim().is_empty())
        .unwrap_or_else(|| track_metrics::DEFAULT_ADDR.to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await.map_err(|error| {
        format!("cannot listen on {addr}: {error}; choose another address with TRACK_METRICS_ADDR=host:port")
    })?;
    let local = listener.local_addr()?;
    println!("Serving metrics at http://{local}/metrics");
    println!("See them with: curl http://{local}/metrics");
    println!("Sending itself traffic; press Ctrl-C to stop.");
    tokio::spawn(traffic(local));
    axum::serve(listener, app(prometheus))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

/// Requests to the service's own routes, every 20 ms, over plain HTTP/1.1.
async fn traffic(addr: std::net::SocketAddr) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    for id in 0_u32.. {
        let path = if id % 3 == 0 {
            format!("/users/{}", id % 5)
        } else {
            format!("/orders/{id}")
        };
        if let Ok(mut stream) = tokio::net::TcpStream::connect(addr).await {
            let request =
                format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
            if stream.write_all(request.as_bytes()).await.is_ok() {
                let mut response = Vec::new();
                let _ = stream.read_to_end(&mut response).await;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
