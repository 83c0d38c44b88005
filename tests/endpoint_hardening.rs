//! The endpoint under load and abuse, over real TCP: bearer authentication, gzip, a client
//! that sends one byte at a time, more concurrent scrapes than allowed, and the endpoint's
//! self-metrics.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::{Response, request_with};
use track_metrics::testing::Exposition;

const TOKEN: &str = "s3cret-token";

track_metrics::metrics! {
    /// Slow to read: makes a scrape last long enough to overlap another
    gauge SLOW_SOURCE: slow_source_items;
}

fn endpoint() -> SocketAddr {
    static ADDR: OnceLock<SocketAddr> = OnceLock::new();
    *ADDR.get_or_init(|| {
        let exporter = track_metrics::Exporter::builder()
            .listen_address("127.0.0.1:0")
            .bearer_token(TOKEN)
            .allow_network("127.0.0.0/8")
            .max_concurrent_scrapes(1)
            .header_timeout(Duration::from_secs(1))
            .install()
            .unwrap();
        exporter.local_addr().unwrap()
    })
}

/// The endpoint allows one scrape at a time, so the tests of this binary take turns.
fn turn() -> std::sync::MutexGuard<'static, ()> {
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    TURN.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn get(headers: &[(&str, &str)]) -> Response {
    let addr = endpoint();
    request_with(
        TcpStream::connect(addr).unwrap(),
        addr,
        "GET",
        "/metrics",
        headers,
    )
}

const AUTHORIZED: (&str, &str) = ("Authorization", "Bearer s3cret-token");

#[test]
fn only_the_bearer_token_is_answered() {
    let _turn = turn();
    let missing = get(&[]);
    assert_eq!(missing.status, 401);
    assert_eq!(missing.header("www-authenticate"), Some("Bearer"));
    assert_eq!(get(&[("Authorization", "Bearer wrong-token!")]).status, 401);
    assert_eq!(
        get(&[("Authorization", "Basic czNjcmV0LXRva2Vu")]).status,
        401
    );
    let ok = get(&[AUTHORIZED]);
    assert_eq!(ok.status, 200);
    assert!(Exposition::parse(&ok.body).is_ok());
    let _ = TOKEN;
}

#[test]
fn gzip_is_sent_to_scrapers_that_accept_it() {
    let _turn = turn();
    let compressed = get(&[AUTHORIZED, ("Accept-Encoding", "gzip, deflate")]);
    assert_eq!(compressed.status, 200);
    assert_eq!(compressed.header("content-encoding"), Some("gzip"));
    assert_eq!(compressed.header("vary"), Some("Accept-Encoding"));
    let mut text = String::new();
    flate2::read::GzDecoder::new(&compressed.bytes[..])
        .read_to_string(&mut text)
        .unwrap();
    let scrape = Exposition::parse(&text).unwrap();
    assert!(
        scrape
            .family("track_metrics_scrape_duration_seconds")
            .is_some(),
        "{text}"
    );

    let refused = get(&[AUTHORIZED, ("Accept-Encoding", "gzip;q=0, identity")]);
    assert_eq!(refused.header("content-encoding"), None);
    assert!(Exposition::parse(&refused.body).is_ok());
    assert_eq!(get(&[AUTHORIZED]).header("content-encoding"), None);
}

#[test]
fn a_client_sending_one_byte_at_a_time_is_cut_off() {
    let _turn = turn();
    let mut stream = TcpStream::connect(endpoint()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let started = Instant::now();
    let request = b"GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cret-token\r\n\r\n";
    let mut cut_off = false;
    for byte in request {
        if stream.write_all(&[*byte]).is_err() {
            cut_off = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(300));
        if started.elapsed() > Duration::from_secs(4) {
            break;
        }
    }
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        cut_off || !answer.contains("200 OK"),
        "the slow client was served: {answer}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "cut off after {:?}",
        started.elapsed()
    );
}

#[test]
fn scrapes_beyond_the_limit_get_503_and_the_endpoint_counts_them() {
    let _turn = turn();
    SLOW_SOURCE.set_function(|| {
        std::thread::sleep(Duration::from_millis(800));
        1.0
    });
    let slow = std::thread::spawn(|| get(&[AUTHORIZED]));
    std::thread::sleep(Duration::from_millis(250));
    let rejected = get(&[AUTHORIZED]);
    assert_eq!(rejected.status, 503, "{}", rejected.body);
    assert_eq!(slow.join().unwrap().status, 200);
    SLOW_SOURCE.set_function(|| 1.0);

    let scrape = Exposition::parse(&get(&[AUTHORIZED]).body).unwrap();
    let count = |status| {
        scrape
            .value("track_metrics_scrapes_total", &[("status", status)])
            .unwrap_or(0.0)
    };
    assert!(count("503") >= 1.0, "{scrape:?}");
    assert!(count("200") >= 1.0);
    assert!(
        scrape
            .value("track_metrics_scrape_duration_seconds_count", &[])
            .unwrap()
            >= 1.0
    );
}
