// Inside an instrumented impl block, the block names the type.
struct Cache;

#[track_metrics::track_metrics]
impl Cache {
    #[track_metrics(self_type = "Other")]
    fn get(&self) {}
}

fn main() {
    Cache.get();
}
