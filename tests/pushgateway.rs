//! Push, push-add and delete against the real Pushgateway (Debian package
//! `prometheus-pushgateway`), started here on loopback with no persistence file.

mod common;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Running, request_with};
use track_metrics::testing::Exposition;
use track_metrics::{Pushgateway, track_metrics};

#[track_metrics]
fn import_batch(rows: u32) -> u32 {
    rows * 2
}

fn gateway_metrics(addr: SocketAddr) -> Exposition {
    let response = request_with(
        TcpStream::connect(addr).unwrap(),
        addr,
        "GET",
        "/metrics",
        &[],
    );
    assert_eq!(response.status, 200);
    Exposition::parse(&response.body).unwrap_or_else(|error| panic!("{error}: {}", response.body))
}

#[test]
fn batch_jobs_push_push_add_and_delete_their_group() {
    let Some(binary) = common::prometheus_tool("prometheus-pushgateway", "PUSHGATEWAY") else {
        common::missing_tool(
            "prometheus-pushgateway",
            "apt-get install prometheus-pushgateway, or set PUSHGATEWAY",
        );
        return;
    };
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let _gateway = Running(
        Command::new(binary)
            .arg(format!("--web.listen-address={addr}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "the Pushgateway did not start");
        std::thread::sleep(Duration::from_millis(100));
    }

    track_metrics::Exporter::builder()
        .without_listener()
        .process_metrics(false)
        .install()
        .unwrap();
    import_batch(3);
    let url = format!("http://{addr}");
    let gateway = Pushgateway::new(&url, "nightly_import")
        .unwrap()
        .grouping("instance", "db/1");
    gateway.push().unwrap();

    let calls = |scrape: &Exposition| {
        scrape.value(
            "function_calls_total",
            &[
                ("function", "import_batch"),
                ("module", "pushgateway"),
                ("job", "nightly_import"),
                ("instance", "db/1"),
            ],
        )
    };
    assert_eq!(calls(&gateway_metrics(addr)), Some(1.0));

    import_batch(4);
    gateway.push_add().unwrap();
    assert_eq!(calls(&gateway_metrics(addr)), Some(2.0));

    gateway.delete().unwrap();
    assert_eq!(calls(&gateway_metrics(addr)), None);

    {
        let _at_exit = gateway.clone().push_on_drop();
    }
    assert_eq!(
        calls(&gateway_metrics(addr)),
        Some(2.0),
        "pushed when the guard dropped"
    );

    let refused = Pushgateway::new("http://127.0.0.1:1", "job")
        .unwrap()
        .push()
        .unwrap_err();
    assert!(
        refused
            .to_string()
            .starts_with("PUT http://127.0.0.1:1/metrics/job/job failed"),
        "{refused}"
    );
    assert!(Pushgateway::new("https://example.invalid", "job").is_err());
}
