// Methods with every receiver, associated functions, trait impls and trait default methods.
#![deny(warnings)]

use track_metrics::track_metrics;

struct Cache<T> {
    items: Vec<T>,
}

impl<T: Clone> Cache<T> {
    #[track_metrics(name = "Cache::new")]
    fn new() -> Self {
        Cache { items: Vec::new() }
    }

    #[track_metrics]
    fn get(&self, index: usize) -> Option<T> {
        self.items.get(index).cloned()
    }

    #[track_metrics]
    fn insert(&mut self, item: T) {
        self.items.push(item);
    }

    #[track_metrics]
    fn into_items(self) -> Vec<T> {
        self.items
    }

    #[track_metrics]
    fn boxed_len(self: Box<Self>) -> usize {
        self.items.len()
    }
}

trait Store {
    fn put(&mut self, value: u32);

    #[track_metrics]
    fn put_twice(&mut self, value: u32) {
        self.put(value);
        self.put(value);
    }
}

impl Store for Cache<u32> {
    #[track_metrics]
    fn put(&mut self, value: u32) {
        self.insert(value);
    }
}

fn main() {
    track_metrics::Exporter::builder().without_listener().install().unwrap();
    let mut cache = Cache::new();
    cache.put_twice(3);
    assert_eq!(cache.get(1), Some(3));
    assert_eq!(Box::new(Cache::<u8>::new()).boxed_len(), 0);
    assert_eq!(cache.into_items(), [3, 3]);
    let scrape = track_metrics::testing::Exposition::parse(&track_metrics::render()).unwrap();
    for (function, calls) in [("put", 2.0), ("put_twice", 1.0), ("insert", 2.0), ("Cache::new", 2.0), ("boxed_len", 1.0)] {
        let sample = scrape
            .samples()
            .find(|s| s.name == "function_calls_total" && s.label("function") == Some(function));
        assert_eq!(sample.map(|sample| sample.value), Some(calls), "{function}");
    }
}
