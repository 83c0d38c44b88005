// `ErrorType` is derived for an enum; other types implement it by hand.
#[derive(track_metrics::ErrorType)]
struct StoreError {
    message: String,
}

fn main() {}
