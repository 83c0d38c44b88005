// The kinds are counter, gauge, histogram, summary and info.
track_metrics::metrics! {
    /// Requests
    pub meter REQUESTS: requests_total;
}

fn main() {}
