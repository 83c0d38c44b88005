// Unknown options are errors, with the list of known ones.
#[track_metrics::track_metrics(nmae = "checkout")]
fn checkout() {}

fn main() {
    checkout();
}
