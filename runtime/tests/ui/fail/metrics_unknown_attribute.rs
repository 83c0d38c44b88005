// Unknown attributes are errors, with the list of known ones.
track_metrics::metrics! {
    /// Requests
    #[bucket(0.1)]
    pub counter REQUESTS: requests_total;
}

fn main() {}
