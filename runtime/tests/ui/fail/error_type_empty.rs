// An empty `error_type` is no label at all.
#[derive(track_metrics::ErrorType)]
enum StoreError {
    #[error_type = ""]
    NotFound,
}

fn main() {}
