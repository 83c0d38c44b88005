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
        },
    );
}

/// Job names and grouping values of every shape reach the real Pushgateway as they were
/// written: spaces, slashes, Unicode, dot segments, `%`, empty.
#[test]
#[ignore = "needs the Pushgateway (Debian package prometheus-pushgateway); .ci/run installs it"]
fn any_job_name_and_grouping_value_arrives_as_written() {
    in_own_process(
        &test_name!(any_job_name_and_grouping_value_arrives_as_written),
        || {
            let (_gateway, addr) = start_gateway(&[]);
            track_metrics::Exporter::builder()
                .without_listener()
                .process_metrics(false)
                .install()
                .unwrap();
            import_batch(1);
            let url = format!("http://{addr}");
            let values = [
                "db 1",
                "a/b",
                "héllo wörld",
                "..",
                ".",
                "100%",
                "x?y#z",
                "tab\there",
            ];
            for (index, value) in values.iter().enumerate() {
                let job = format!("job {index}/{value}");
                Pushgateway::new(&url, &job)
                    .unwrap()
                    .grouping("instance", value)
                    .grouping("empty", "")
                    .push()
                    .unwrap_or_else(|error| panic!("{value:?}: {error}"));
                let scrape = gateway_metrics(addr);
                let labels = [
                    ("function", "import_batch"),
                    ("module", "e2e::pushgateway"),
                    ("job", job.as_str()),
                    ("instance", value),
                ];
                assert_eq!(
                    scrape.value("function_calls_total", &labels),
                    Some(1.0),
                    "{value:?} in {scrape:#?}"
                );
            }
        },
    );
}

/// A Pushgateway over TLS, with a certificate of a private authority.
#[test]
#[ignore = "needs the Pushgateway (Debian package prometheus-pushgateway) and openssl; .ci/run installs them"]
fn pushes_reach_a_gateway_over_https_with_a_private_authority() {
    in_own_process(
        &test_name!(pushes_reach_a_gateway_over_https_with_a_private_authority),
        || {
            let directory =
                std::env::temp_dir().join(format!("tm-push-tls-{}", std::process::id()));
            std::fs::create_dir_all(&directory).unwrap();
            let authority = certificates(&directory);
            let config = directory.join("web.yml");
            std::fs::write(
                &config,
                format!(
                    "tls_server_config:\n  cert_file: {}\n  key_file: {}\n",
                    directory.join("server.pem").display(),
                    directory.join("server.key").display()
                ),
            )
            .unwrap();
            let web_config = format!("--web.config.file={}", config.display());
            let (_gateway, addr) = start_gateway(&[&web_config]);
            track_metrics::Exporter::builder()
                .without_listener()
                .process_metrics(false)
                .install()
                .unwrap();
            import_batch(5);
            let url = format!("https://127.0.0.1:{}", addr.port());
            // Mozilla's roots do not know the private authority.
            let untrusted = Pushgateway::new(&url, "tls_job")
                .unwrap()
                .push()
                .unwrap_err();
            assert!(untrusted.to_string().contains("PUT"), "{untrusted}");
            Pushgateway::new(&url, "tls_job")
                .unwrap()
                .root_certificates(&authority)
                .unwrap()
                .push()
                .unwrap();
            // Read back over TLS with openssl's client.
            let output = Command::new("openssl")
                .args(["s_client", "-quiet", "-connect"])
                .arg(format!("127.0.0.1:{}", addr.port()))
                .args(["-CAfile"])
                .arg(directory.join("ca.pem"))
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .and_then(|mut child| {
                    use std::io::Write as _;
                    child.stdin.take().unwrap().write_all(
                        b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
                    )?;
                    child.wait_with_output()
                })
                .unwrap();
            let answer = common::parse_response(&output.stdout);
            assert!(
                answer.body.contains(
                    "function_calls_total{function=\"import_batch\",instance=\"\",job=\"tls_job\""
                ),
                "{}",
                answer.body
            );
            let _ = std::fs::remove_dir_all(&directory);
        },
    );
}

/// A private authority and a certificate it signed for 127.0.0.1, made by openssl in
/// `directory`; returns the authority's PEM.
pub fn certificates(directory: &std::path::Path) -> Vec<u8> {
    let openssl = |args: &[&str]| {
        let status = Command::new("openssl")
            .args(args)
            .current_dir(directory)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("openssl (Debian package openssl)");
        assert!(status.success(), "openssl {args:?}");
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-subj",
        "/CN=track-metrics test authority",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    std::fs::write(
        directory.join("san.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-out",
        "server.pem",
        "-extfile",
        "san.ext",
    ]);
    std::fs::read(directory.join("ca.pem")).unwrap()
}

/// The real Pushgateway on a free loopback port, with `extra` flags.
fn start_gateway(extra: &[&str]) -> (Running, SocketAddr) {
    let binary = common::required_tool(
        "prometheus-pushgateway",
        "PUSHGATEWAY",
        "prometheus-pushgateway",
    );
    let addr = free_port();
    let gateway = Running(
        Command::new(binary)
            .arg(format!("--web.listen-address={addr}"))
            .args(extra)
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
    (gateway, addr)
}
