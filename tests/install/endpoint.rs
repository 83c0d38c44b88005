//! The endpoint's settings over real TCP, each scenario in a process of its own: bearer and basic
//! authentication, the client network allow-list, gzip, the header and connection deadlines, and
//! the bound on concurrent scrapes (the default of 4 and a set one), with exact self-metrics.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use socket2::{Domain, Socket, Type};
use track_metrics::testing::Exposition;

use crate::common::{self, Response, in_own_process, request_with};
use crate::test_name;

track_metrics::metrics! {
    /// Blocks its scrape until the test releases it
    gauge HELD: held_scrape_items;
}

/// Scrapes that a gauge function holds until the test releases them.
struct Hold {
    entered: AtomicUsize,
    released: Mutex<bool>,
    release: Condvar,
}

static HOLD: Hold = Hold {
    entered: AtomicUsize::new(0),
    released: Mutex::new(false),
    release: Condvar::new(),
};
static HOLDING: AtomicBool = AtomicBool::new(false);

impl Hold {
    /// From now on, each scrape waits in the gauge's function until [`Hold::release`].
    fn start() {
        HOLDING.store(true, Ordering::Release);
        HELD.set_function(|| {
            if HOLDING.load(Ordering::Acquire) {
                HOLD.entered.fetch_add(1, Ordering::AcqRel);
                let released = HOLD.released.lock().unwrap_or_else(PoisonError::into_inner);
                let _released = HOLD
                    .release
                    .wait_while(released, |released| !*released)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            1.0
        });
    }

    fn wait_for(scrapes: usize) {
        common::eventually(&format!("{scrapes} scrapes held"), || {
            HOLD.entered.load(Ordering::Acquire) == scrapes
        });
    }

    fn release() {
        HOLDING.store(false, Ordering::Release);
        *HOLD.released.lock().unwrap_or_else(PoisonError::into_inner) = true;
        HOLD.release.notify_all();
    }
}

fn get(addr: SocketAddr, headers: &[(&str, &str)]) -> Response {
    request_with(
        TcpStream::connect(addr).unwrap(),
        addr,
        "GET",
        "/metrics",
        headers,
    )
}

fn parsed(response: &Response) -> Exposition {
    assert_eq!(response.status, 200, "{}", response.body);
    Exposition::parse(&response.body).unwrap()
}

fn scrapes(scrape: &Exposition, status: &str) -> f64 {
    scrape
        .value("track_metrics_scrapes_total", &[("status", status)])
        .unwrap_or(0.0)
}

/// A connection to `addr` from the loopback address `source`.
fn connect_from(source: [u8; 4], addr: SocketAddr) -> TcpStream {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    socket.bind(&SocketAddr::from((source, 0)).into()).unwrap();
    socket.connect(&addr.into()).unwrap();
    socket.into()
}

const AUTHORIZED: (&str, &str) = ("Authorization", "Bearer s3cret-token");

#[test]
fn only_the_bearer_token_is_answered_and_gzip_follows_accept_encoding() {
    in_own_process(
        &test_name!(only_the_bearer_token_is_answered_and_gzip_follows_accept_encoding),
        || {
            let addr = track_metrics::Exporter::builder()
                .listen_address("127.0.0.1:0")
                .bearer_token("s3cret-token")
                .install()
                .unwrap()
                .local_addr()
                .unwrap();
            let missing = get(addr, &[]);
            assert_eq!(missing.status, 401);
            assert_eq!(missing.header("www-authenticate"), Some("Bearer"));
            assert_eq!(
                get(addr, &[("Authorization", "Bearer wrong-token!")]).status,
                401
            );
            assert_eq!(
                get(addr, &[("Authorization", "Basic czNjcmV0LXRva2Vu")]).status,
                401
            );
            let first = parsed(&get(addr, &[AUTHORIZED]));
            assert_eq!(scrapes(&first, "401"), 3.0);
            assert_eq!(
                scrapes(&first, "200"),
                0.0,
                "a scrape is counted once answered"
            );

            let compressed = get(addr, &[AUTHORIZED, ("Accept-Encoding", "gzip, deflate")]);
            assert_eq!(compressed.status, 200);
            assert_eq!(compressed.header("content-encoding"), Some("gzip"));
            assert_eq!(compressed.header("vary"), Some("Accept-Encoding"));
            let mut text = String::new();
            flate2::read::GzDecoder::new(&compressed.bytes[..])
                .read_to_string(&mut text)
                .unwrap();
            let scrape = Exposition::parse(&text).unwrap();
            assert_eq!(scrapes(&scrape, "200"), 1.0);

            for refusing in [
                "gzip;q=0, identity",
                "gzip;Q=0",
                "gzip; q=0.000",
                "identity",
            ] {
                let plain = get(addr, &[AUTHORIZED, ("Accept-Encoding", refusing)]);
                assert_eq!(plain.header("content-encoding"), None, "{refusing}");
                parsed(&plain);
            }
            for accepting in ["*", "GZIP;q=0.5", "br, gzip;q=1"] {
                let compressed = get(addr, &[AUTHORIZED, ("Accept-Encoding", accepting)]);
                assert_eq!(
                    compressed.header("content-encoding"),
                    Some("gzip"),
                    "{accepting}"
                );
            }
            assert_eq!(get(addr, &[AUTHORIZED]).header("content-encoding"), None);
        },
    );
}

#[test]
fn other_networks_get_403_and_allowed_ones_need_basic_auth() {
    in_own_process(
        &test_name!(other_networks_get_403_and_allowed_ones_need_basic_auth),
        || {
            let addr = track_metrics::Exporter::builder()
                .listen_address("127.0.0.1:0")
                .allow_network("127.0.0.2")
                .allow_network("127.0.0.3/32")
                .basic_auth("prometheus", "hunter2")
                .install()
                .unwrap()
                .local_addr()
                .unwrap();
            let from = |source, headers: &[(&str, &str)]| {
                request_with(connect_from(source, addr), addr, "GET", "/metrics", headers)
            };
            let refused = from([127, 0, 0, 1], &[]);
            assert_eq!(refused.status, 403, "{}", refused.body);
            let anonymous = from([127, 0, 0, 2], &[]);
            assert_eq!(anonymous.status, 401);
            assert_eq!(
                anonymous.header("www-authenticate"),
                Some("Basic realm=\"metrics\"")
            );

            // "prometheus:hunter2" in base64.
            let credentials = ("Authorization", "Basic cHJvbWV0aGV1czpodW50ZXIy");
            let second_network = parsed(&from([127, 0, 0, 3], &[credentials]));
            assert_eq!(scrapes(&second_network, "403"), 1.0);
            assert_eq!(scrapes(&second_network, "401"), 1.0);
            let first_network = parsed(&from([127, 0, 0, 2], &[credentials]));
            assert_eq!(scrapes(&first_network, "200"), 1.0);
        },
    );
}

#[test]
fn a_client_that_trickles_its_headers_is_cut_off_at_the_header_deadline() {
    in_own_process(
        &test_name!(a_client_that_trickles_its_headers_is_cut_off_at_the_header_deadline),
        || {
            let addr = track_metrics::Exporter::builder()
                .listen_address("127.0.0.1:0")
                .header_timeout(Duration::from_secs(1))
                .install()
                .unwrap()
                .local_addr()
                .unwrap();
            let mut stream = TcpStream::connect(addr).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_millis(100)))
                .unwrap();
            let started = Instant::now();
            let mut answer = Vec::new();
            // One byte every 200 ms: the request would take 8 s to arrive.
            let closed = 'sending: {
                for byte in b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n\r\n" {
                    if stream.write_all(&[*byte]).is_err() {
                        break 'sending started.elapsed();
                    }
                    let pause = Instant::now();
                    while pause.elapsed() < Duration::from_millis(200) {
                        let mut buffer = [0; 1024];
                        match stream.read(&mut buffer) {
                            Ok(0) => break 'sending started.elapsed(),
                            Ok(read) => answer.extend_from_slice(&buffer[..read]),
                            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {}
                            Err(error) if error.kind() == std::io::ErrorKind::TimedOut => {}
                            Err(_) => break 'sending started.elapsed(),
                        }
                    }
                }
                panic!(
                    "the whole request was sent: {:?}",
                    String::from_utf8_lossy(&answer)
                );
            };
            let answer = String::from_utf8_lossy(&answer);
            assert!(
                !answer.contains(" 200 "),
                "the slow client was served: {answer}"
            );
            assert!(
                closed >= Duration::from_millis(900) && closed < Duration::from_millis(2500),
                "closed after {closed:?}, with a 1 s header deadline"
            );
        },
    );
}

#[test]
fn an_idle_connection_is_closed_at_the_connection_deadline() {
    in_own_process(
        &test_name!(an_idle_connection_is_closed_at_the_connection_deadline),
        || {
            let addr = track_metrics::Exporter::builder()
                .listen_address("127.0.0.1:0")
                .connection_timeout(Duration::from_secs(1))
                .install()
                .unwrap()
                .local_addr()
                .unwrap();
            let mut stream = TcpStream::connect(addr).unwrap();
            let started = Instant::now();
            // Keep-alive: the server would wait for the next request.
            write!(stream, "GET /metrics HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let mut everything = Vec::new();
            let _ = stream.read_to_end(&mut everything);
            let closed = started.elapsed();
            let response = common::parse_response(&everything);
            assert_eq!(response.status, 200);
            assert!(
                closed >= Duration::from_millis(900) && closed < Duration::from_millis(2500),
                "closed after {closed:?}, with a 1 s connection deadline"
            );
        },
    );
}

#[test]
fn scrapes_beyond_the_default_four_get_503_and_are_counted() {
    in_own_process(
        &test_name!(scrapes_beyond_the_default_four_get_503_and_are_counted),
        || {
            let addr = track_metrics::Exporter::builder()
                .listen_address("127.0.0.1:0")
                .install()
                .unwrap()
                .local_addr()
                .unwrap();
            Hold::start();
            let held: Vec<_> = (0..4)
                .map(|_| std::thread::spawn(move || get(addr, &[])))
                .collect();
            Hold::wait_for(4);
            let rejected = get(addr, &[]);
            assert_eq!(rejected.status, 503, "{}", rejected.body);
            assert_eq!(rejected.body, "too many scrapes at once: try again\n");
            Hold::release();
            for scrape in held {
                assert_eq!(scrape.join().unwrap().status, 200);
            }
            let scrape = parsed(&get(addr, &[]));
            assert_eq!(scrapes(&scrape, "503"), 1.0);
            assert_eq!(scrapes(&scrape, "200"), 4.0);
            assert_eq!(
                scrape.value("track_metrics_scrape_duration_seconds_count", &[]),
                Some(4.0)
            );
        },
    );
}

#[test]
fn a_set_bound_of_one_scrape_at_a_time_holds() {
    in_own_process(
        &test_name!(a_set_bound_of_one_scrape_at_a_time_holds),
        || {
            let addr = track_metrics::Exporter::builder()
                .listen_address("127.0.0.1:0")
                .max_concurrent_scrapes(1)
                .install()
                .unwrap()
                .local_addr()
                .unwrap();
            Hold::start();
            let held = std::thread::spawn(move || get(addr, &[]));
            Hold::wait_for(1);
            assert_eq!(get(addr, &[]).status, 503);
            assert_eq!(get(addr, &[]).status, 503);
            Hold::release();
            assert_eq!(held.join().unwrap().status, 200);
            let scrape = parsed(&get(addr, &[]));
            assert_eq!(scrapes(&scrape, "503"), 2.0);
            assert_eq!(scrapes(&scrape, "200"), 1.0);
        },
    );
}
