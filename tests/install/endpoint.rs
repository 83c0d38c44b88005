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
    /// Blocks its scrape until the test releases it: one function per slot, as scrapes never
    /// call one function twice at once
    gauge HELD: held_scrape_items(slot);
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

/// A gauge function that waits while the test holds scrapes.
fn hold() -> f64 {
    if HOLDING.load(Ordering::Acquire) {
        HOLD.entered.fetch_add(1, Ordering::AcqRel);
        let released = HOLD.released.lock().unwrap_or_else(PoisonError::into_inner);
        let _released = HOLD
            .release
            .wait_while(released, |released| !*released)
            .unwrap_or_else(PoisonError::into_inner);
    }
    1.0
}

impl Hold {
    /// From now on, up to `renders` scrapes at once wait in a gauge function (one each) until
    /// [`Hold::release`].
    fn start(renders: usize) {
        HOLDING.store(true, Ordering::Release);
        for slot in 0..renders {
            HELD.labels(slot.to_string()).set_function(hold);
        }
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

/// Installs `builder` listening on a free loopback port, and returns the address.
fn listening(builder: track_metrics::ExporterBuilder) -> SocketAddr {
    builder
        .listen_address("127.0.0.1:0")
        .install()
        .unwrap()
        .local_addr()
        .unwrap()
}

fn get(addr: SocketAddr, headers: &[(&str, &str)]) -> Response {
    get_path(addr, "/metrics", headers)
}

fn get_path(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Response {
    request_with(
        TcpStream::connect(addr).unwrap(),
        addr,
        "GET",
        path,
        headers,
    )
}

/// The raw answer to a scrape, empty if the server closed the connection without one.
fn get_raw(addr: SocketAddr) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
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
            let addr = listening(track_metrics::Exporter::builder().bearer_token("s3cret-token"));
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
            // The live page is behind the token too, and is not a scrape; nor is a 404.
            let page = get_path(addr, "/", &[]);
            assert_eq!(page.status, 401);
            let elsewhere = get_path(addr, "/x", &[AUTHORIZED]);
            assert_eq!(elsewhere.status, 404);
            let first = parsed(&get(addr, &[AUTHORIZED]));
            assert_eq!(scrapes(&first, "401"), 3.0);
            assert_eq!(scrapes(&first, "404"), 0.0);
            assert_eq!(
                scrapes(&first, "200"),
                0.0,
                "a scrape is counted once answered"
            );

            let compressed = get(addr, &[AUTHORIZED, ("Accept-Encoding", "gzip, deflate")]);
            assert_eq!(compressed.status, 200);
            assert_eq!(compressed.header("content-encoding"), Some("gzip"));
            assert_eq!(compressed.header("vary"), Some("Accept, Accept-Encoding"));
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
                "gzip;q=0, *",
                "*;q=0",
                "gzip;q=NaN",
                "identity",
            ] {
                let plain = get(addr, &[AUTHORIZED, ("Accept-Encoding", refusing)]);
                assert_eq!(plain.header("content-encoding"), None, "{refusing}");
                parsed(&plain);
            }
            for accepting in ["*", "GZIP;q=0.5", "br, gzip;q=1", "x-gzip", "*;q=0.1, br"] {
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
fn the_scheme_is_read_in_any_case_and_the_credentials_exactly() {
    in_own_process(
        &test_name!(the_scheme_is_read_in_any_case_and_the_credentials_exactly),
        || {
            let addr = listening(track_metrics::Exporter::builder().bearer_token("s3cret"));
            for accepted in [
                "Bearer s3cret",
                "bearer s3cret",
                "BEARER s3cret",
                "beaRer  s3cret",
            ] {
                assert_eq!(
                    get(addr, &[("Authorization", accepted)]).status,
                    200,
                    "{accepted}"
                );
            }
            for refused in [
                "Bearer S3cret",
                "bearer s3cre",
                "bearer s3crets",
                "Bearers3cret",
            ] {
                assert_eq!(
                    get(addr, &[("Authorization", refused)]).status,
                    401,
                    "{refused}"
                );
            }
        },
    );
}

/// A listener on `[::]`, which takes IPv4 clients as `::ffff:a.b.c.d`, allowing only
/// `network`: a client on 127.0.0.1 is answered, one on `::1` is not.
fn dual_stack_allowing(network: &str) {
    let port = track_metrics::Exporter::builder()
        .listen_address("[::]:0")
        .allow_network(network)
        .install()
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let v4: SocketAddr = ([127, 0, 0, 1], port).into();
    assert_eq!(get(v4, &[]).status, 200, "{network}");
    let v6: SocketAddr = (std::net::Ipv6Addr::LOCALHOST, port).into();
    if let Ok(stream) = TcpStream::connect(v6) {
        assert_eq!(request_with(stream, v6, "GET", "/metrics", &[]).status, 403);
    }
}

#[test]
fn a_dual_stack_listener_matches_an_ipv4_client_against_a_mapped_address() {
    in_own_process(
        &test_name!(a_dual_stack_listener_matches_an_ipv4_client_against_a_mapped_address),
        || dual_stack_allowing("::ffff:127.0.0.1"),
    );
}

#[test]
fn a_dual_stack_listener_matches_an_ipv4_client_against_the_mapped_network() {
    in_own_process(
        &test_name!(a_dual_stack_listener_matches_an_ipv4_client_against_the_mapped_network),
        || dual_stack_allowing("::ffff:0:0/96"),
    );
}

#[test]
fn other_networks_get_403_and_allowed_ones_need_basic_auth() {
    in_own_process(
        &test_name!(other_networks_get_403_and_allowed_ones_need_basic_auth),
        || {
            let addr = listening(
                track_metrics::Exporter::builder()
                    .allow_network("127.0.0.2")
                    .allow_network("127.0.0.3/32")
                    .basic_auth("prometheus", "hunter2"),
            );
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
            let addr = listening(
                track_metrics::Exporter::builder().header_timeout(Duration::from_secs(1)),
            );
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
            // Closed by the server before the request was whole, and not before its deadline
            // (a loaded machine may close it later; only a hang would fail above).
            assert!(
                closed >= Duration::from_millis(900),
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
            let addr = listening(
                track_metrics::Exporter::builder().connection_timeout(Duration::from_secs(1)),
            );
            let mut stream = TcpStream::connect(addr).unwrap();
            let started = Instant::now();
            // Keep-alive: the server would wait for the next request.
            write!(stream, "GET /metrics HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(60)))
                .unwrap();
            let mut everything = Vec::new();
            // The server closes the connection (end of stream), not this read's own timeout.
            stream
                .read_to_end(&mut everything)
                .expect("the server closes the idle connection");
            let closed = started.elapsed();
            let response = common::parse_response(&everything);
            assert_eq!(response.status, 200);
            assert!(
                closed >= Duration::from_millis(900),
                "closed after {closed:?}, with a 1 s connection deadline"
            );
        },
    );
}

/// Starts scrapes one after another, each held in a gauge function of its own (a scrape that
/// finds the render before it held in a function renders anew, leaving that function out):
/// `renders` of them end up holding a render slot each.
fn hold_renders(addr: SocketAddr, renders: usize) -> Vec<std::thread::JoinHandle<Response>> {
    Hold::start(renders);
    (1..=renders)
        .map(|held| {
            let scrape = std::thread::spawn(move || get(addr, &[]));
            Hold::wait_for(held);
            scrape
        })
        .collect()
}

#[test]
fn past_the_default_four_renders_a_scrape_waits_for_a_slot_until_the_deadline() {
    in_own_process(
        &test_name!(past_the_default_four_renders_a_scrape_waits_for_a_slot_until_the_deadline),
        || {
            let addr = listening(
                track_metrics::Exporter::builder().render_timeout(Duration::from_secs(2)),
            );
            let held = hold_renders(addr, 4);
            let waited = get(addr, &[]);
            assert_eq!(waited.status, 503, "{}", waited.body);
            assert!(
                waited.body.contains("all 4 render slots stayed busy"),
                "{}",
                waited.body
            );
            for scrape in held {
                let scrape = scrape.join().unwrap();
                assert_eq!(scrape.status, 503, "{}", scrape.body);
                assert!(
                    scrape.body.contains("waits for the function"),
                    "{}",
                    scrape.body
                );
            }
            Hold::release();
            common::eventually("the held renders end and free their slots", || {
                get(addr, &[]).status == 200
            });
            let scrape = parsed(&get(addr, &[]));
            assert_eq!(scrapes(&scrape, "503"), 5.0);
            assert_eq!(
                scrape.value("track_metrics_scrape_timeouts_total", &[]),
                Some(5.0)
            );
        },
    );
}

#[test]
fn a_set_bound_of_one_render_at_a_time_holds() {
    in_own_process(
        &test_name!(a_set_bound_of_one_render_at_a_time_holds),
        || {
            let addr = listening(
                track_metrics::Exporter::builder()
                    .max_concurrent_scrapes(1)
                    .render_timeout(Duration::from_millis(500)),
            );
            let held = hold_renders(addr, 1);
            for _ in 0..2 {
                let waited = get(addr, &[]);
                assert_eq!(waited.status, 503);
                assert!(
                    waited.body.contains("all 1 render slots"),
                    "{}",
                    waited.body
                );
            }
            Hold::release();
            assert_eq!(held.into_iter().next().unwrap().join().unwrap().status, 503);
            common::eventually("the held render ends and frees its slot", || {
                get(addr, &[]).status == 200
            });
            assert_eq!(HOLD.entered.load(Ordering::Acquire), 1);
        },
    );
}

#[test]
fn scrapes_that_ask_at_once_share_one_render() {
    in_own_process(
        &test_name!(scrapes_that_ask_at_once_share_one_render),
        || {
            let addr = listening(
                track_metrics::Exporter::builder()
                    .max_concurrent_scrapes(1)
                    .render_timeout(Duration::from_secs(60)),
            );
            // The one slot is held: the scrapes that come now wait for the next render
            // together.
            let held = hold_renders(addr, 1);
            let renders = |scrape: &Exposition| {
                scrape
                    .value("track_metrics_scrape_duration_seconds_count", &[])
                    .unwrap()
            };
            let waiting: Vec<_> = (0..16)
                .map(|_| std::thread::spawn(move || get(addr, &[])))
                .collect();
            common::eventually("16 scrapes wait", || {
                std::fs::read_dir("/proc/self/task").unwrap().count() >= 16
            });
            std::thread::sleep(Duration::from_millis(200));
            Hold::release();
            let answers: Vec<Response> = waiting.into_iter().map(|s| s.join().unwrap()).collect();
            assert!(answers.iter().all(|answer| answer.status == 200));
            // The held render, and the one the sixteen shared: two, each counted when it ended.
            let first = parsed(&answers[0]);
            assert!(renders(&first) <= 1.0, "{}", renders(&first));
            assert_eq!(held.into_iter().next().unwrap().join().unwrap().status, 200);
            // The next scrape counts the two that ended before it renders.
            assert_eq!(renders(&parsed(&get(addr, &[]))), 2.0);
            // Every one of the sixteen got the same body.
            assert!(answers.iter().all(|answer| answer.body == answers[0].body));
        },
    );
}

/// The resident memory of this process, in bytes.
fn resident_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

track_metrics::metrics! {
    /// Many series, for a large exposition
    #[max_series(200000)]
    counter BULK: bulk_series_total(key);
}

#[test]
fn clients_that_never_read_hold_at_most_the_response_budget() {
    in_own_process(
        &test_name!(clients_that_never_read_hold_at_most_the_response_budget),
        || {
            let budget = 24 << 20;
            let addr = listening(
                track_metrics::Exporter::builder()
                    .max_response_bytes(budget)
                    .connection_timeout(Duration::from_secs(60))
                    .process_metrics(false),
            );
            // An exposition of about 10 MB: more than the kernel's and hyper's buffers take off
            // the server for a client that does not read.
            for key in 0..150_000 {
                BULK.labels(format!("a fairly long label value number {key:08}"))
                    .inc();
            }
            let size = get(addr, &[]).bytes.len();
            assert!(size > 9 << 20, "{size}");
            let before = resident_bytes();
            // Clients that ask, one after another, and never read a byte of the answer, with a
            // small receive window, so that the kernel takes little of it off the server.
            let mut silent = Vec::new();
            for _ in 0..3 {
                let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
                socket.set_recv_buffer_size(4096).unwrap();
                socket.connect(&addr.into()).unwrap();
                let mut stream: TcpStream = socket.into();
                write!(stream, "GET /metrics HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
                // Once its answer starts to arrive (looked at, not read), its render is done
                // and its body held: the next one renders anew.
                stream
                    .set_read_timeout(Some(Duration::from_secs(120)))
                    .unwrap();
                stream.peek(&mut [0; 1]).unwrap();
                silent.push(stream);
            }
            // A client that reads is told the budget is spent.
            let answer = get(addr, &[]);
            assert_eq!(answer.status, 503, "{}", answer.body);
            assert!(answer.body.contains("have not read yet"), "{}", answer.body);
            let grown = resident_bytes().saturating_sub(before);
            // The bodies held, plus a render under way and the allocator's slack.
            assert!(
                grown < budget + 4 * size + (8 << 20),
                "{grown} bytes held for {} silent clients",
                silent.len()
            );
            // Gone clients give their share back.
            drop(silent);
            common::eventually("the budget comes back", || get(addr, &[]).status == 200);
        },
    );
}

/// The render threads of this process, by the name the endpoint gives them (15 characters of
/// it, as the kernel keeps them).
fn render_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|name| name.trim() == "track-metrics-r")
        .count()
}

#[test]
fn renders_stay_at_the_bound_when_clients_hang_up_or_overstay() {
    in_own_process(
        &test_name!(renders_stay_at_the_bound_when_clients_hang_up_or_overstay),
        || {
            let addr = listening(
                track_metrics::Exporter::builder()
                    .connection_timeout(Duration::from_millis(300))
                    .render_timeout(Duration::from_secs(30)),
            );
            Hold::start(4);
            for round in 0..25 {
                // Clients that hang up right after asking, and clients that stay until the
                // connection deadline drops them: none of them frees a render that still runs.
                let mut clients = Vec::new();
                for _ in 0..4 {
                    let mut stream = TcpStream::connect(addr).unwrap();
                    write!(stream, "GET /metrics HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
                    clients.push(stream);
                }
                if round % 2 == 0 {
                    drop(clients);
                } else {
                    for mut client in clients {
                        client
                            .set_read_timeout(Some(Duration::from_secs(10)))
                            .unwrap();
                        let mut answer = Vec::new();
                        let _ = client.read_to_end(&mut answer);
                        let answer = String::from_utf8_lossy(&answer);
                        assert!(
                            answer.is_empty() || answer.starts_with("HTTP/1.1 503"),
                            "{answer}"
                        );
                    }
                }
            }
            Hold::wait_for(4);
            assert_eq!(
                HOLD.entered.load(Ordering::Acquire),
                4,
                "never more than 4 renders"
            );
            assert!(render_threads() <= 4, "{} render threads", render_threads());
            // A scrape now waits for a slot, until the connection deadline closes it.
            let waiting = get_raw(addr);
            assert!(
                waiting.is_empty() || waiting.starts_with("HTTP/1.1 503"),
                "{waiting}"
            );
            Hold::release();
            common::eventually("the held renders end and free their slots", || {
                get(addr, &[]).status == 200
            });
            assert!(render_threads() <= 4, "{} render threads", render_threads());
        },
    );
}

#[test]
fn a_gauge_function_that_blocks_holds_up_one_scrape_not_every_one() {
    in_own_process(
        &test_name!(a_gauge_function_that_blocks_holds_up_one_scrape_not_every_one),
        || {
            let timeout = Duration::from_millis(300);
            let addr = listening(track_metrics::Exporter::builder().render_timeout(timeout));
            Hold::start(1);
            let first = get(addr, &[]);
            assert_eq!(first.status, 503, "{}", first.body);
            // The answer names the function the render waits for.
            assert!(
                first.body.starts_with(
                    "the exposition was not rendered within 300ms: the render waits for the \
                     function of the gauge `held_scrape_items`"
                ),
                "{}",
                first.body
            );
            let entered = Instant::now();
            Hold::wait_for(1);
            // Once the function has run for longer than the render timeout, scrapes leave it out.
            while entered.elapsed() <= timeout {
                std::thread::sleep(Duration::from_millis(10));
            }
            let second = get(addr, &[]);
            let scrape = parsed(&second);
            assert!(
                !second.body.contains("\nheld_scrape_items{"),
                "{}",
                second.body
            );
            assert_eq!(
                scrape.value("track_metrics_scrape_timeouts_total", &[]),
                Some(1.0)
            );
            assert_eq!(
                scrape.value(
                    "track_metrics_skipped_functions_total",
                    &[("metric", "held_scrape_items")]
                ),
                Some(1.0)
            );
            assert_eq!(
                HOLD.entered.load(Ordering::Acquire),
                1,
                "the stuck function ran once"
            );
            Hold::release();
            common::eventually("the function returns and shows again", || {
                get(addr, &[])
                    .body
                    .contains("\nheld_scrape_items{slot=\"0\"} 1\n")
            });
        },
    );
}

#[test]
fn scrapes_that_come_while_a_gauge_function_blocks_do_not_call_it_again() {
    in_own_process(
        &test_name!(scrapes_that_come_while_a_gauge_function_blocks_do_not_call_it_again),
        || {
            let addr = listening(
                track_metrics::Exporter::builder().render_timeout(Duration::from_secs(30)),
            );
            Hold::start(1);
            let held = std::thread::spawn(move || get(addr, &[]));
            Hold::wait_for(1);
            // More scrapes than the four render slots: none waits for the blocked function,
            // none calls it again, and it has no earlier value to show.
            for _ in 0..6 {
                let scrape = get(addr, &[]);
                assert_eq!(scrape.status, 200, "{}", scrape.body);
                assert!(
                    !scrape.body.contains("\nheld_scrape_items{"),
                    "{}",
                    scrape.body
                );
            }
            assert_eq!(
                HOLD.entered.load(Ordering::Acquire),
                1,
                "the function ran once"
            );
            Hold::release();
            assert!(
                held.join()
                    .unwrap()
                    .body
                    .contains("\nheld_scrape_items{slot=\"0\"} 1\n")
            );
            let scrape = parsed(&get(addr, &[]));
            assert_eq!(
                scrape.value(
                    "track_metrics_skipped_functions_total",
                    &[("metric", "held_scrape_items")]
                ),
                Some(6.0)
            );
        },
    );
}

track_metrics::metrics! {
    /// A gauge whose function takes a while, read by the application too
    gauge BUSY: busy_reading_items;
}

#[test]
fn a_gauge_function_the_application_keeps_calling_is_in_every_scrape() {
    in_own_process(
        &test_name!(a_gauge_function_the_application_keeps_calling_is_in_every_scrape),
        || {
            let addr = listening(
                track_metrics::Exporter::builder().render_timeout(Duration::from_millis(100)),
            );
            BUSY.set_function(|| {
                std::thread::sleep(Duration::from_millis(10));
                3.0
            });
            let stop = AtomicBool::new(false);
            std::thread::scope(|scope| {
                for _ in 0..2 {
                    scope.spawn(|| {
                        while !stop.load(Ordering::Relaxed) {
                            assert_eq!(BUSY.get(), 3.0);
                        }
                    });
                }
                // Calls of the application overlap without a break for far longer than the
                // render timeout: no scrape takes that for a stuck function.
                std::thread::sleep(Duration::from_millis(300));
                for _ in 0..5 {
                    let scrape = get(addr, &[]);
                    assert!(
                        scrape.body.contains("\nbusy_reading_items 3\n"),
                        "{}",
                        scrape.body
                    );
                    std::thread::sleep(Duration::from_millis(50));
                }
                stop.store(true, Ordering::Relaxed);
            });
        },
    );
}

/// The serving side of the descriptor-limit test: a process limited to 64 file descriptors.
fn serve_with_64_descriptors() {
    let limit = libc::rlimit {
        rlim_cur: 64,
        rlim_max: 64,
    };
    // SAFETY: `setrlimit` reads the limit it is given.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);
    let addr =
        listening(track_metrics::Exporter::builder().header_timeout(Duration::from_secs(60)));
    println!("ADDR {addr}");
    // Serves until the parent closes standard input.
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
}

#[test]
fn idle_connections_past_the_limit_make_room_for_a_real_scrape() {
    let name = test_name!(idle_connections_past_the_limit_make_room_for_a_real_scrape);
    if common::is_own_process(&name) {
        serve_with_64_descriptors();
        return;
    }
    let (mut child, mut stdout) = common::spawn_own_process(&name);
    let addr: SocketAddr = loop {
        let mut line = String::new();
        assert!(
            std::io::BufRead::read_line(&mut stdout, &mut line).unwrap() > 0,
            "no address"
        );
        // libtest writes the test's name on the same line, before what the test prints.
        if let Some((_, addr)) = line.split_once("ADDR ") {
            break addr.trim().parse().unwrap();
        }
    };
    // 100 connections that never send a request, more than the 64 descriptors of the server.
    let idle: Vec<TcpStream> = (0..100)
        .map(|_| TcpStream::connect(addr).unwrap())
        .collect();
    let scrape = parsed(&get(addr, &[]));
    // Half the limit by default: 32 connections, the oldest idle ones closed to make room.
    let dropped = scrape
        .value(
            "track_metrics_connections_dropped_total",
            &[("reason", "idle")],
        )
        .unwrap_or(0.0);
    assert!(dropped >= 69.0, "{dropped} idle connections closed");
    let descriptors = std::fs::read_dir(format!("/proc/{}/fd", child.0.id()))
        .unwrap()
        .count();
    assert!(
        descriptors < 64,
        "the server holds {descriptors} descriptors"
    );
    drop(idle);
    drop(child.0.stdin.take());
    assert!(child.0.wait().unwrap().success());
}

/// axum's handlers render as the endpoint does: on a runtime with one worker, a gauge function
/// that blocks holds up neither another route nor the live page, and `metrics` answers 503 at
/// the render timeout.
#[test]
fn axum_renders_leave_the_worker_free_and_answer_503_past_the_render_timeout() {
    in_own_process(
        &test_name!(axum_renders_leave_the_worker_free_and_answer_503_past_the_render_timeout),
        || {
            track_metrics::Exporter::builder()
                .without_listener()
                .live_page(Some("/"))
                .render_timeout(Duration::from_millis(300))
                .install()
                .unwrap();
            let addr = serving_on_one_worker(
                axum::Router::new()
                    .route("/metrics", axum::routing::get(track_metrics::axum::metrics))
                    .route("/ping", axum::routing::get(|| async { "pong" }))
                    .nest("/status/", track_metrics::axum::live_router()),
            );

            Hold::start(1);
            let held = std::thread::spawn(move || common::request(addr, "GET", "/metrics"));
            Hold::wait_for(1);
            assert_eq!(common::request(addr, "GET", "/ping").body, "pong");
            let timed_out = held.join().unwrap();
            assert_eq!(timed_out.status, 503, "{}", timed_out.body);
            assert!(
                timed_out
                    .body
                    .contains("waits for the function of the gauge `held_scrape_items`"),
                "{}",
                timed_out.body
            );
            // Later renders leave the blocked function out, the page's too.
            let page = common::request(addr, "GET", "/status/");
            assert_eq!(page.status, 200, "{}", page.body);
            assert!(
                page.body.contains("<table id=\"functions\">"),
                "{}",
                page.body
            );
            assert_eq!(common::request(addr, "GET", "/status/live.js").status, 200);
            assert_eq!(HOLD.entered.load(Ordering::Acquire), 1);
            Hold::release();
            let scrape = parsed(&common::request(addr, "GET", "/metrics"));
            assert_eq!(
                scrape.value("track_metrics_scrape_timeouts_total", &[]),
                Some(1.0)
            );
        },
    );
}

/// Without a listener, the page's path is checked all the same, and without the page on, the
/// axum router says how to turn it on.
#[test]
fn the_live_pages_path_is_checked_without_a_listener() {
    in_own_process(
        &test_name!(the_live_pages_path_is_checked_without_a_listener),
        || {
            for (path, says) in [
                ("status", "must start and end with `/`"),
                ("/a?b/", "holds '?'"),
                ("/a/../", "which clients remove"),
                ("/%2E/", "which clients remove"),
                ("//evil.example/", "which clients remove"),
                ("/caf\u{e9}/", "percent-encode it"),
            ] {
                let refused = track_metrics::Exporter::builder()
                    .without_listener()
                    .live_page(Some(path))
                    .install()
                    .unwrap_err()
                    .to_string();
                assert!(refused.contains(says), "{path}: {refused}");
            }
        },
    );
}

/// A page moved to `/status/`: `/status` redirects to it with its query, and the page comes
/// gzipped to a client that asks.
#[test]
fn a_moved_live_page_redirects_its_bare_path_and_comes_gzipped() {
    in_own_process(
        &test_name!(a_moved_live_page_redirects_its_bare_path_and_comes_gzipped),
        || {
            let addr = listening(track_metrics::Exporter::builder().live_page(Some("/status/")));
            let moved = common::request(addr, "GET", "/status?module=a%20b");
            assert_eq!(moved.status, 308, "{}", moved.body);
            assert_eq!(moved.header("location"), Some("/status/?module=a%20b"));
            assert_eq!(common::request(addr, "GET", "/").status, 404);

            let page = get_path(addr, "/status/", &[("Accept-Encoding", "gzip")]);
            assert_eq!(page.status, 200);
            assert_eq!(page.header("content-encoding"), Some("gzip"));
            let mut html = String::new();
            flate2::read::GzDecoder::new(&page.bytes[..])
                .read_to_string(&mut html)
                .unwrap();
            assert!(html.starts_with("<!doctype html>"), "{html}");
            let plain = common::request(addr, "GET", "/status/");
            assert_eq!(plain.header("content-encoding"), None);
            assert!(plain.body.starts_with("<!doctype html>"));
        },
    );
}

/// Without `live_page`, `axum::live_router` answers 404 and says how to turn the page on.
#[test]
fn the_axum_live_router_without_the_page_says_how_to_turn_it_on() {
    in_own_process(
        &test_name!(the_axum_live_router_without_the_page_says_how_to_turn_it_on),
        || {
            track_metrics::Exporter::builder()
                .without_listener()
                .install()
                .unwrap();
            let addr = serving_on_one_worker(track_metrics::axum::live_router());
            let page = common::request(addr, "GET", "/");
            assert_eq!(page.status, 404, "{}", page.body);
            assert!(
                page.body
                    .contains("live_page(Some(\"/\")) before install()"),
                "{}",
                page.body
            );
        },
    );
}

/// Serves `app` on a tokio runtime with a single worker, on a thread of its own.
fn serving_on_one_worker(app: axum::Router) -> SocketAddr {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || runtime.block_on(async { axum::serve(listener, app).await }));
    addr
}

#[track_metrics::track_metrics]
fn sampled_when_viewed() {}

#[test]
fn the_live_page_reads_the_functions_only_once_someone_looks() {
    in_own_process(
        &test_name!(the_live_page_reads_the_functions_only_once_someone_looks),
        || {
            // The row of the function, as the page renders it.
            fn row(body: &str) -> String {
                let start = body
                    .find("<tr data-function=\"sampled_when_viewed\"")
                    .unwrap_or_else(|| panic!("no row for the function: {body}"));
                body[start..start + body[start..].find('>').unwrap()].to_owned()
            }
            let addr = listening(track_metrics::Exporter::builder());
            sampled_when_viewed();
            // Longer than the sampling interval: a sampler that ran from `install()` would have
            // read the function's first call by now, and would show that reading.
            std::thread::sleep(Duration::from_secs(3));
            sampled_when_viewed();
            let first = get_path(addr, "/", &[]);
            assert_eq!(first.status, 200);
            // The view read at once, and it is the only reading: both calls, none in a window.
            let first = row(&first.body);
            assert!(
                first.contains("data-calls=\"2\"") && first.contains("data-window-calls=\"0\""),
                "nothing was read before the page was looked at, and the view read at once: {first}"
            );
            sampled_when_viewed();
            common::eventually("the sampler reads while the page is looked at", || {
                row(&get_path(addr, "/", &[]).body).contains("data-calls=\"3\"")
            });
        },
    );
}
