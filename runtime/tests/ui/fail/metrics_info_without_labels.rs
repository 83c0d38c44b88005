// An info metric carries its information in labels, and its name ends in `_info`.
track_metrics::metrics! {
    /// Build
    pub info BUILD: build;
}

fn main() {}
