// On a trait, the error says where the attribute can go: its implementations, or its default
// methods one by one.
#[track_metrics::track_metrics]
trait Store {
    fn get(&self, key: u32) -> Option<u32>;

    fn contains(&self, key: u32) -> bool {
        self.get(key).is_some()
    }
}

fn main() {}
