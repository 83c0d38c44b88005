// A trait method declaration has no body to time.
trait Store {
    #[track_metrics::track_metrics]
    fn put(&mut self, value: u32);
}

fn main() {}
