// Local modules named like the crates the expansion uses cannot capture its paths.
#![deny(warnings)]

#[allow(dead_code)]
mod core {}
#[allow(dead_code)]
mod std {}
#[allow(dead_code)]
mod metrics {}
#[allow(dead_code)]
mod linkme {}

mod user {
    #[allow(dead_code)]
    pub mod track_metrics {}

    #[::track_metrics::track_metrics(labels(layer = "user"))]
    pub fn handler() -> u32 {
        1
    }
}

fn main() {
    ::track_metrics::Exporter::builder().without_listener().install().unwrap();
    assert_eq!(user::handler(), 1);
}
