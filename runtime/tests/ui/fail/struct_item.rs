// Only functions can be instrumented: refused on the item keyword.
#[track_metrics::track_metrics]
struct Account {
    balance: i64,
}

fn main() {
    let _ = Account { balance: 0 }.balance;
}
