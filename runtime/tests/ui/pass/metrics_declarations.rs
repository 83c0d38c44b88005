// Every kind, visibility, attribute and label shape `metrics!` accepts, used as documented.
#![deny(warnings)]

use track_metrics::{LabelValue, metrics};

#[derive(Clone, Copy, LabelValue)]
enum Method {
    #[label = "GET"]
    Get,
    #[label = "POST"]
    Post,
}

mod inner {
    track_metrics::metrics! {
        /// Visible to the crate
        pub(crate) counter CRATE_VISIBLE: crate_visible_total;
    }
}

metrics! {
    /// Total HTTP requests,
    /// with a HELP text over two lines
    pub counter REQUESTS: requests_total(method: Method, endpoint);
    /// Requests by kind
    counter KINDS: kinds_total(r#type, r#match);
    /// Queue depth
    pub gauge QUEUE: queue_items;
    /// Latency
    #[buckets(0.005, 0.01, 0.05)]
    histogram LATENCY: request_latency_seconds(endpoint);
    /// Response size
    #[quantiles(0.5, 0.99)]
    #[max_age_seconds(60)]
    #[max_series(50)]
    summary SIZES: response_size_bytes(endpoint);
    /// Build
    info BUILD: build_info(version);
    /// An old name, kept for existing dashboards
    #[legacy_name]
    counter LEGACY: http_requests_ms;
    /// Only on Unix
    #[cfg(unix)]
    gauge UNIX_ONLY: unix_only_items;
    /// Never compiled
    #[cfg(any())]
    gauge NEVER: never_items;
    /// By method only, pre-initialised
    counter BY_METHOD: by_method_total(method: Method, secure: bool);
}

/// Names of the user's own: `metrics!` adds no name beside the statics it declares.
mod own_names {
    #![allow(dead_code)]

    pub struct RequestsMetric;
    pub struct RequestsTotal;

    track_metrics::metrics! {
        /// Requests, beside a type called `RequestsMetric`
        pub counter REQUESTS: own_requests_total(method);
    }

    pub fn use_both() -> RequestsMetric {
        REQUESTS.labels("GET").inc();
        RequestsMetric
    }
}

fn main() {
    let _ = own_names::use_both();
    track_metrics::Exporter::builder().without_listener().install().unwrap();
    REQUESTS.labels(Method::Get, "/").inc();
    REQUESTS.labels(Method::Post, String::from("/orders")).inc_by(2);
    KINDS.labels("a", "b").inc();
    QUEUE.set(3.0);
    LATENCY.labels("/").observe(0.001);
    SIZES.labels("/").observe(10.0);
    BUILD.set("1.0");
    LEGACY.inc();
    inner::CRATE_VISIBLE.inc();
    #[cfg(unix)]
    UNIX_ONLY.inc();
    BY_METHOD.labels(Method::Get, true).inc();
    let text = track_metrics::render();
    for line in [
        "requests_total{method=\"GET\",endpoint=\"/\"} 1\n",
        "requests_total{method=\"POST\",endpoint=\"/orders\"} 2\n",
        "kinds_total{type=\"a\",match=\"b\"} 1\n",
        "# HELP requests_total Total HTTP requests, with a HELP text over two lines\n",
        // A counter is written `_total` in every format, as OpenMetrics requires.
        "http_requests_ms_total 1\n",
        "crate_visible_total 1\n",
        "by_method_total{method=\"POST\",secure=\"false\"} 0\n",
        "by_method_total{method=\"GET\",secure=\"true\"} 1\n",
    ] {
        assert!(text.contains(line), "{line} in {text}");
    }
    assert!(!text.contains("never_items"));
}
