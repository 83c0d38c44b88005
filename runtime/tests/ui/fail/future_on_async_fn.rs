// `future` is for a plain function that returns a boxed future.
#[track_metrics::track_metrics(future)]
async fn fetch() -> u32 {
    1
}

fn main() {
    let _ = fetch();
}
