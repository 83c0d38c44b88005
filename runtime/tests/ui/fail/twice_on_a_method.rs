// One `#[track_metrics]` per method inside an instrumented impl block.
struct Cache;

#[track_metrics::track_metrics]
impl Cache {
    #[track_metrics(name = "a")]
    #[track_metrics(name = "b")]
    fn get(&self) {}
}

fn main() {
    Cache.get();
}
