// A metric without a doc comment has no HELP text.
track_metrics::metrics! {
    pub counter REQUESTS: requests_total;
}

fn main() {}
