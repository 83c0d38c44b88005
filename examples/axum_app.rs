//! The tutorial's Flask app in Rust: an axum `Router` whose every request is counted by method,
//! route and status (the tutorial's `after_request` hook, as a tower layer), with `/users` and
//! the `/metrics` route.
//!
//! ```text
//! cargo run --example axum_app
//! curl http://127.0.0.1:5000/users
//! curl http://127.0.0.1:5000/metrics
//! ```
//!
//! `APP_ADDR=host:port` serves elsewhere (port 0 picks a free one).

use axum::Router;
use axum::extract::Path;
use axum::routing::get;
use track_metrics::axum::{MetricsLayer, metrics};
use track_metrics::track_metrics;

/// The tutorial's `get_users`.
async fn get_users() -> &'static str {
    "{\"users\": []}\n"
}

/// One user, timed by `#[track_metrics]` too.
#[track_metrics]
async fn get_user(Path(id): Path<u32>) -> String {
    format!("{{\"id\": {id}}}\n")
}

/// The application: its routes, the metrics route, and the layer around them all.
fn app() -> Router {
    Router::new()
        .route("/users", get(get_users))
        .route("/users/{id}", get(get_user))
        .route("/metrics", get(metrics))
        .layer(MetricsLayer::new())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The app serves /metrics itself: no listener of the exporter's own.
    track_metrics::Exporter::builder()
        .without_listener()
        .install()?;
    let addr = std::env::var("APP_ADDR").unwrap_or_else(|_| "127.0.0.1:5000".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let local = listener.local_addr()?;
    println!("Serving the app at http://{local}/users and its metrics at http://{local}/metrics");
    axum::serve(listener, app())
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
