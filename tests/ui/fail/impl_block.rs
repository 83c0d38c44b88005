// An `impl` block is refused with a pointer to its methods.
struct Account;

#[track_metrics::track_metrics]
impl Account {
    fn open() -> Self {
        Account
    }
}

fn main() {
    let _ = Account::open();
}
