//! Push, push-add and delete against the real Pushgateway (Debian package
//! `prometheus-pushgateway`), started here on loopback with no persistence file. A family pushed
//! by another job into the same group tells the two apart: push-add (`POST`) keeps it, push
//! (`PUT`) replaces the whole group.

use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use track_metrics::testing::Exposition;
use track_metrics::{Error, Pushgateway, track_metrics};

use super::prometheus::free_port;
use crate::common::{self, Running, in_own_process, request_with};
use crate::test_name;

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

/// Puts a family of another job's into the group, by hand.
fn push_foreign_family(addr: SocketAddr, group: &str) {
    let mut stream = TcpStream::connect(addr).unwrap();
    let body = "# TYPE other_job_items gauge\nother_job_items 7\n";
    std::io::Write::write_all(
        &mut stream,
        format!(
            "POST {group} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    )
    .unwrap();
    let mut answer = Vec::new();
    std::io::Read::read_to_end(&mut stream, &mut answer).unwrap();
    assert_eq!(common::parse_response(&answer).status, 200);
}

#[test]
#[ignore = "needs the Pushgateway (Debian package prometheus-pushgateway); .ci/run installs it"]
fn batch_jobs_push_push_add_and_delete_their_group() {
    in_own_process(
        &test_name!(batch_jobs_push_push_add_and_delete_their_group),
        || {
            let binary = common::required_tool(
                "prometheus-pushgateway",
                "PUSHGATEWAY",
                "prometheus-pushgateway",
            );
            let addr = free_port();
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
                std::thread::sleep(Duration::from_millis(50));
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
            // The grouping value holds a `/`: it travels base64-encoded.
            let group = "/metrics/job/nightly_import/instance@base64/ZGIvMQ==";
            gateway.push().unwrap();

            let group_labels = [("job", "nightly_import"), ("instance", "db/1")];
            let calls = |scrape: &Exposition| {
                let mut labels = vec![("function", "import_batch"), ("module", "e2e::pushgateway")];
                labels.extend(group_labels);
                scrape.value("function_calls_total", &labels)
            };
            let foreign = |scrape: &Exposition| scrape.value("other_job_items", &group_labels);
            assert_eq!(calls(&gateway_metrics(addr)), Some(1.0));

            push_foreign_family(addr, group);
            import_batch(4);
            gateway.push_add().unwrap();
            let after_push_add = gateway_metrics(addr);
            assert_eq!(calls(&after_push_add), Some(2.0));
            assert_eq!(
                foreign(&after_push_add),
                Some(7.0),
                "POST keeps other families"
            );

            gateway.push().unwrap();
            let after_push = gateway_metrics(addr);
            assert_eq!(calls(&after_push), Some(2.0));
            assert_eq!(foreign(&after_push), None, "PUT replaces the whole group");

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
                matches!(&refused, Error::Push { method: "PUT", url, .. } if url == "http://127.0.0.1:1/metrics/job/job"),
                "{refused:?}"
            );
            assert!(matches!(
                Pushgateway::new("https://example.invalid", "job"),
                Err(Error::InvalidSetting { .. })
            ));
        },
    );
}
