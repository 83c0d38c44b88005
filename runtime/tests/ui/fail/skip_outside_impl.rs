// `skip` only means something on a method of an instrumented impl block.
#[track_metrics::track_metrics(skip)]
fn helper() {}

fn main() {
    helper();
}
