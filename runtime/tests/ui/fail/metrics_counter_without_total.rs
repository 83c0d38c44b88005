// A counter name ends in `_total`.
track_metrics::metrics! {
    /// Requests
    pub counter REQUESTS: requests;
}

fn main() {}
