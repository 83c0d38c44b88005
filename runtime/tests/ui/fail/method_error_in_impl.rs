// An error in one method of an instrumented block points at that method's option.
struct Cache;

#[track_metrics::track_metrics]
impl Cache {
    fn get(&self) {}

    #[track_metrics(calls = "cache_puts")]
    fn put(&self) {}
}

fn main() {
    Cache.get();
    Cache.put();
}
