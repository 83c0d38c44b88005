// `skip` leaves the method alone, so other options on it are a mistake.
struct Cache;

#[track_metrics::track_metrics]
impl Cache {
    #[track_metrics(skip, name = "other")]
    fn helper(&self) {}
}

fn main() {
    Cache.helper();
}
