//! The built-in endpoint under load and under hostile clients, with the figures the README
//! quotes. Run it in release mode:
//!
//! ```text
//! cargo run --release --example endpoint_load            # 20 seconds
//! cargo run --release --example endpoint_load -- 60      # or as many as you like
//! ```
//!
//! The server is a child process (this program started with `--serve`), limited to 256 file
//! descriptors, with four threads recording into an instrumented function, 2,000 labelled series
//! and a histogram, and a gauge function that blocks for 3 s on one scrape in fifty. Against it,
//! at the same time:
//!
//! - 16 scrapers in a loop (`GET /metrics`, half of them with gzip), whose latency is reported;
//! - 376 connections that never send a request (more than the server's descriptors);
//! - 8 clients that send a request and hang up at once;
//! - 8 slowloris clients that trickle their headers one byte every 200 ms.
//!
//! The parent samples the child's `/proc` every 10 ms for its high-water marks of render threads,
//! threads and file descriptors, and prints them with the endpoint's own self-metrics.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use track_metrics::testing::Exposition;
use track_metrics::{metrics, track_metrics};

const SCRAPERS: usize = 16;
const IDLE: usize = 376;
const HANG_UPS: usize = 8;
const SLOWLORIS: usize = 8;
const SERVER_DESCRIPTORS: u64 = 256;

metrics! {
    /// Requests handled, by route
    counter HANDLED: load_handled_total(route);
    /// Payload sizes
    histogram PAYLOADS: load_payload_bytes;
    /// A value computed at scrape time, by a function that sometimes blocks
    gauge SLOW_CALLBACK: load_slow_callback_value;
}

#[track_metrics]
fn handle(i: u64) -> Result<u64, std::fmt::Error> {
    if i.is_multiple_of(97) {
        Err(std::fmt::Error)
    } else {
        Ok(i.wrapping_mul(31))
    }
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some("--serve") {
        serve();
    } else {
        let seconds = std::env::args()
            .nth(1)
            .map(|arg| arg.parse().expect("the duration in seconds"))
            .unwrap_or(20);
        drive(Duration::from_secs(seconds));
    }
}

/// The application: records on four threads and serves its metrics until stdin closes.
fn serve() {
    let limit = libc::rlimit {
        rlim_cur: SERVER_DESCRIPTORS,
        rlim_max: SERVER_DESCRIPTORS,
    };
    // SAFETY: `setrlimit` only reads the limit it is given.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);
    let exporter = track_metrics::Exporter::builder()
        .listen_address("127.0.0.1:0")
        .render_timeout(Duration::from_secs(1))
        .header_timeout(Duration::from_secs(2))
        .install()
        .expect("install");
    let calls = AtomicU64::new(0);
    SLOW_CALLBACK.set_function(move || {
        let call = calls.fetch_add(1, Ordering::Relaxed);
        if call % 50 == 49 {
            std::thread::sleep(Duration::from_secs(3));
        }
        call as f64
    });
    let routes: Vec<String> = (0..2_000).map(|route| format!("/route/{route}")).collect();
    let routes: &'static [String] = routes.leak();
    for worker in 0..4_u64 {
        std::thread::spawn(move || {
            for i in (worker..).step_by(4) {
                let _ = std::hint::black_box(handle(i));
                HANDLED.labels(&routes[i as usize % routes.len()]).inc();
                PAYLOADS.observe((i % 4096) as f64);
                if i % 1024 == 0 {
                    // Leave the other processes of this 2-core machine some room.
                    std::thread::yield_now();
                }
            }
        });
    }
    println!("ADDR {}", exporter.local_addr().expect("a listener"));
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
}

/// One scrape on a fresh connection: the status (0 if the connection failed) and its latency.
fn scrape(addr: SocketAddr, gzip: bool) -> (u16, Duration, Vec<u8>) {
    let started = Instant::now();
    let answer = (|| -> std::io::Result<Vec<u8>> {
        let mut stream = TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        let encoding = if gzip {
            "Accept-Encoding: gzip\r\n"
        } else {
            ""
        };
        write!(
            stream,
            "GET /metrics HTTP/1.1\r\nHost: {addr}\r\n{encoding}Connection: close\r\n\r\n"
        )?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer)?;
        Ok(answer)
    })();
    let elapsed = started.elapsed();
    let answer = answer.unwrap_or_default();
    let status = answer
        .get(9..12)
        .and_then(|code| std::str::from_utf8(code).ok())
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    (status, elapsed, answer)
}

/// High-water marks of the server process, sampled from `/proc`.
#[derive(Default, Debug)]
struct Marks {
    render_threads: usize,
    threads: usize,
    descriptors: usize,
}

fn sample(pid: u32, marks: &mut Marks) {
    let tasks: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|tasks| {
            tasks
                .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
                .collect()
        })
        .unwrap_or_default();
    // The kernel keeps 15 characters of "track-metrics-render".
    let render = tasks
        .iter()
        .filter(|name| name.trim() == "track-metrics-r")
        .count();
    let descriptors = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(Iterator::count)
        .unwrap_or(0);
    marks.render_threads = marks.render_threads.max(render);
    marks.threads = marks.threads.max(tasks.len());
    marks.descriptors = marks.descriptors.max(descriptors);
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn drive(duration: Duration) {
    let mut child = Command::new(std::env::current_exe().expect("this program"))
        .arg("--serve")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the server process");
    let pid = child.id();
    let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
    let mut line = String::new();
    stdout.read_line(&mut line).expect("the server's address");
    let addr: SocketAddr = line
        .trim()
        .strip_prefix("ADDR ")
        .and_then(|addr| addr.parse().ok())
        .expect("ADDR <address>");
    println!(
        "server pid {pid} at {addr}, {SERVER_DESCRIPTORS} descriptors; load for {} s",
        duration.as_secs()
    );

    let stop = Arc::new(AtomicBool::new(false));
    let latencies = Arc::new(Mutex::new(Vec::<(u16, Duration)>::new()));
    let idle_opened = AtomicU64::new(0);
    let hang_ups = AtomicU64::new(0);
    let slowloris_cut = AtomicU64::new(0);
    let mut marks = Marks::default();
    let started = Instant::now();
    std::thread::scope(|scope| {
        for scraper in 0..SCRAPERS {
            let (stop, latencies) = (&stop, &latencies);
            scope.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let (status, latency, _) = scrape(addr, scraper % 2 == 0);
                    latencies.lock().unwrap().push((status, latency));
                }
            });
        }
        scope.spawn(|| {
            // Idle connections, reopened as the server closes them to make room.
            let mut idle = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                idle.retain(|stream: &TcpStream| {
                    let mut byte = [0];
                    stream.set_nonblocking(true).is_ok()
                        && matches!(stream.peek(&mut byte), Err(ref e) if e.kind() == std::io::ErrorKind::WouldBlock)
                });
                while idle.len() < IDLE {
                    match TcpStream::connect(addr) {
                        Ok(stream) => {
                            idle.push(stream);
                            idle_opened.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(_) => break,
                    }
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        for _ in 0..HANG_UPS {
            scope.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    if let Ok(mut stream) = TcpStream::connect(addr) {
                        let _ = write!(stream, "GET /metrics HTTP/1.1\r\nHost: {addr}\r\n\r\n");
                        hang_ups.fetch_add(1, Ordering::Relaxed);
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            });
        }
        for _ in 0..SLOWLORIS {
            scope.spawn(|| {
                let request = format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nX-Pad: ");
                while !stop.load(Ordering::Relaxed) {
                    let Ok(mut stream) = TcpStream::connect(addr) else {
                        std::thread::sleep(Duration::from_millis(100));
                        continue;
                    };
                    for byte in request.bytes().chain(std::iter::repeat(b'a')) {
                        if stop.load(Ordering::Relaxed) || stream.write_all(&[byte]).is_err() {
                            break;
                        }
                        std::thread::sleep(Duration::from_millis(200));
                    }
                    slowloris_cut.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        while started.elapsed() < duration {
            sample(pid, &mut marks);
            std::thread::sleep(Duration::from_millis(10));
        }
        stop.store(true, Ordering::Relaxed);
    });

    let mut by_status = std::collections::BTreeMap::<u16, Vec<Duration>>::new();
    for (status, latency) in latencies.lock().unwrap().drain(..) {
        by_status.entry(status).or_default().push(latency);
    }
    println!("scrapes by status (0 = connection failed), latency p50 / p90 / p99 / max in ms:");
    for (status, latencies) in &mut by_status {
        latencies.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "  {status}: {:>6} scrapes, {:8.2} / {:8.2} / {:8.2} / {:8.2}",
            latencies.len(),
            ms(percentile(latencies, 0.5)),
            ms(percentile(latencies, 0.9)),
            ms(percentile(latencies, 0.99)),
            ms(*latencies.last().unwrap()),
        );
    }
    println!(
        "hostile clients: {} idle connections opened, {} hang-ups, {} slowloris connections cut",
        idle_opened.load(Ordering::Relaxed),
        hang_ups.load(Ordering::Relaxed),
        slowloris_cut.load(Ordering::Relaxed),
    );
    println!(
        "server high-water marks: {} render threads (bound 4), {} threads, {} descriptors \
         (limit {SERVER_DESCRIPTORS}, connection cap {})",
        marks.render_threads,
        marks.threads,
        marks.descriptors,
        SERVER_DESCRIPTORS / 2
    );

    // The endpoint's own account, once the load is gone and the renders it started are over.
    let waited = Instant::now();
    let (status, _, answer) = loop {
        let (status, latency, answer) = scrape(addr, false);
        if status == 200 || waited.elapsed() > Duration::from_secs(10) {
            break (status, latency, answer);
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let body = String::from_utf8_lossy(&answer);
    let body = body.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    match Exposition::parse(body) {
        Ok(exposition) if status == 200 => {
            for family in [
                "track_metrics_scrapes_total",
                "track_metrics_scrape_timeouts_total",
                "track_metrics_connections_dropped_total",
                "track_metrics_skipped_functions_total",
            ] {
                for sample in exposition.samples().filter(|s| s.name == family) {
                    let labels: Vec<String> = sample
                        .labels
                        .iter()
                        .map(|(name, value)| format!("{name}={value}"))
                        .collect();
                    println!("  {family}{{{}}} {}", labels.join(","), sample.value);
                }
            }
            let calls = exposition
                .value(
                    "function_calls_total",
                    &[("function", "handle"), ("module", "endpoint_load")],
                )
                .unwrap_or(0.0);
            println!("  the application recorded {calls} calls of handle() meanwhile");
        }
        other => println!("final scrape failed: {status} {other:?}"),
    }
    drop(child.stdin.take());
    let _ = child.wait();
}
