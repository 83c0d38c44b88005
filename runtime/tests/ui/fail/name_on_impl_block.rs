// `name` names one function, not every method of a block.
struct Cache;

#[track_metrics::track_metrics(name = "cache")]
impl Cache {
    fn get(&self) {}
}

fn main() {
    Cache.get();
}
