//! Helpers shared by the integration tests: a real HTTP client over TCP, the real external
//! readers (`promtool`, prometheus_client), tests run in a process of their own, and the
//! warnings the runtime logs.
#![allow(dead_code)] // Each test binary uses its own subset.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use track_metrics::Exporter;
use track_metrics::testing::Exposition;

/// The exporter of this test binary, on a free loopback port, with room for every test thread
/// to scrape at once.
pub fn exporter() -> &'static Exporter {
    static EXPORTER: OnceLock<Exporter> = OnceLock::new();
    EXPORTER.get_or_init(|| {
        Exporter::builder()
            .listen_address("127.0.0.1:0")
            .max_concurrent_scrapes(256)
            .install()
            .expect("install")
    })
}

/// One HTTP response, as read off the socket.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub bytes: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// Sends `method path` over a fresh TCP connection and reads the whole response.
pub fn request(addr: SocketAddr, method: &str, path: &str) -> Response {
    request_with(
        TcpStream::connect(addr).expect("connect"),
        addr,
        method,
        path,
        &[],
    )
}

/// Sends `method path` with extra headers over `stream` and reads the whole response; the body
/// is kept as bytes, for compressed bodies.
pub fn request_with(
    mut stream: TcpStream,
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Response {
    let extra: String = headers
        .iter()
        .map(|(name, value)| format!("{name}: {value}\r\n"))
        .collect();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{extra}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read the response");
    parse_response(&raw)
}

/// A response read off a socket, as bytes.
pub fn parse_response(raw: &[u8]) -> Response {
    let split = raw
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header block in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8(raw[..split].to_vec()).expect("UTF-8 headers");
    let mut body = raw[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .map(|line| {
            let (key, value) = line.split_once(':').unwrap();
            (key.trim().to_owned(), value.trim().to_owned())
        })
        .collect();
    Response {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        bytes: body,
    }
}

/// The body of a `Transfer-Encoding: chunked` response, joined.
fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let line_end = raw
            .windows(2)
            .position(|window| window == b"\r\n")
            .expect("a chunk size");
        let size_text = String::from_utf8_lossy(&raw[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16)
            .expect("a hex chunk size");
        if size == 0 {
            return body;
        }
        let start = line_end + 2;
        body.extend_from_slice(&raw[start..start + size]);
        raw = &raw[start + size + 2..];
    }
}

/// Scrapes the exporter's endpoint, checks the status, and parses the body strictly.
pub fn scrape() -> (String, Exposition) {
    let exporter = exporter();
    let response = request(exporter.local_addr().unwrap(), "GET", "/metrics");
    assert_eq!(response.status, 200, "{}", response.body);
    let parsed = Exposition::parse(&response.body)
        .unwrap_or_else(|error| panic!("{error} in:\n{}", response.body));
    (response.body, parsed)
}

/// Where a Prometheus tool is: `$VARIABLE`, then `PATH`, then where `.ci/run` unpacks the
/// Debian package.
pub fn prometheus_tool(name: &str, variable: &str) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(variable) {
        return Some(PathBuf::from(path));
    }
    let unpacked = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target/ci-tools/usr/bin")
        .join(name);
    [PathBuf::from(name), unpacked]
        .into_iter()
        .find(|candidate| Command::new(candidate).arg("--version").output().is_ok())
}

/// A tool an ignored test needs: its path, or a failure that says how to install it.
pub fn required_tool(name: &str, variable: &str, package: &str) -> PathBuf {
    prometheus_tool(name, variable).unwrap_or_else(|| {
        panic!(
            "{name} is not installed: apt-get install {package}, set {variable}, or run .ci/run, \
             which does"
        )
    })
}

/// Every promtool to check with: Debian bookworm's 2.42 (`$PROMTOOL`), and Prometheus 3.5's
/// (`$PROMTOOL_3`, or where `.ci/run` unpacks Debian sid's package).
pub fn promtools() -> Vec<PathBuf> {
    let mut tools = vec![required_tool("promtool", "PROMTOOL", "prometheus")];
    tools.push(required_tool_3("promtool", "PROMTOOL_3"));
    tools
}

/// A tool of Prometheus 3.5 or VictoriaMetrics that an ignored test needs: `$VARIABLE`, else
/// where `.ci/run` unpacks Debian sid's packages.
pub fn required_tool_3(name: &str, variable: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(variable) {
        return PathBuf::from(path);
    }
    let unpacked = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target/ci-tools/sid/usr/bin")
        .join(name);
    assert!(
        unpacked.exists(),
        "{name} (Prometheus 3.5 or VictoriaMetrics, from Debian sid) is not installed: set \
         {variable}, or run .ci/run, which unpacks it into target/ci-tools/sid"
    );
    unpacked
}

/// The Python that has prometheus_client: `$PYTHON` (`.ci/run` sets the system's, which Debian's
/// `python3-prometheus-client` installs into), else `python3`.
pub fn python() -> std::ffi::OsString {
    std::env::var_os("PYTHON").unwrap_or_else(|| "python3".into())
}

/// Runs `program` with `args`, `text` on its standard input, and returns what it printed.
pub fn pipe(
    program: impl AsRef<std::ffi::OsStr>,
    args: &[&str],
    text: &str,
) -> std::process::Output {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the reader");
    let mut stdin = child.stdin.take().unwrap();
    // A reader that stops early says why on its standard error, which the caller shows.
    let _ = stdin.write_all(text.as_bytes());
    drop(stdin);
    child.wait_with_output().unwrap()
}

/// Runs `promtool check metrics` on `text` and asserts it reports nothing at all.
pub fn assert_promtool_accepts(text: &str) {
    let promtool = required_tool("promtool", "PROMTOOL", "prometheus");
    let output = pipe(promtool, &["check", "metrics"], text);
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success() && report.trim().is_empty(),
        "promtool check metrics complained:\n{report}\non:\n{text}"
    );
}

/// The value of a sample, or a panic that shows the whole scrape.
pub fn value(scrape: &Exposition, name: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .value(name, labels)
        .unwrap_or_else(|| panic!("no sample {name}{labels:?} in {scrape:#?}"))
}

/// The lines of one family in an exposition: HELP, TYPE and samples, in order.
pub fn family_text(text: &str, name: &str) -> String {
    let belongs = |line: &str| {
        let sample = line.split(['{', ' ']).next().unwrap_or_default();
        line.starts_with(&format!("# HELP {name} "))
            || line.starts_with(&format!("# TYPE {name} "))
            || ["", "_bucket", "_sum", "_count"]
                .iter()
                .any(|suffix| sample == format!("{name}{suffix}"))
    };
    text.lines()
        .filter(|line| belongs(line))
        .map(|line| format!("{line}\n"))
        .collect()
}

/// Builds an example (a no-op when `cargo test` already did) and returns its path.
pub fn example_binary(name: &str) -> PathBuf {
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--example", name])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("run cargo");
    assert!(status.success(), "the example {name} does not build");
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"),
        PathBuf::from,
    );
    target.join("debug/examples").join(name)
}

/// A child process that is killed when this is dropped, so a failing test leaves none behind.
pub struct Running(pub std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `command`, an example that serves its metrics and prints `Serving metrics at <url>`
/// first (with `TRACK_METRICS_ADDR` set to a free port here); returns it, the rest of its
/// output, and the `host:port` it serves on.
pub fn serving(
    command: &mut Command,
) -> (
    Running,
    std::io::BufReader<std::process::ChildStdout>,
    String,
) {
    use std::io::BufRead as _;
    let mut child = command
        .env("TRACK_METRICS_ADDR", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let target = first
        .trim()
        .strip_prefix("Serving metrics at http://")
        .expect(&first)
        .trim_end_matches("/metrics")
        .to_owned();
    (Running(child), stdout, target)
}

/// The name libtest gives the test function `$test` of the calling module.
#[macro_export]
macro_rules! test_name {
    ($test:ident) => {
        match module_path!().split_once("::") {
            Some((_, path)) => format!("{path}::{}", stringify!($test)),
            None => stringify!($test).to_owned(),
        }
    };
}

/// How long a test's child process may run before it is taken for hung.
pub const CHILD_WATCHDOG: Duration = Duration::from_secs(300);

/// Runs `body` in a child process of this test binary, for a test that installs the exporter
/// its own way: `install()` holds for the rest of a process. The parent asserts that the child
/// ran exactly this test and that it passed. The watchdog is there to catch a hang, not to time
/// the work: five minutes, for a debug build on a machine busy with other builds.
pub fn in_own_process(name: &str, body: impl FnOnce()) {
    if is_own_process(name) {
        body();
        return;
    }
    let directory = std::env::temp_dir().join(format!(
        "track-metrics-test-{}-{}",
        std::process::id(),
        name.replace("::", "-")
    ));
    std::fs::create_dir_all(&directory).unwrap();
    let output = directory.join("output");
    let file = std::fs::File::create(&output).unwrap();
    let mut child = Running(
        own_process(name)
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + CHILD_WATCHDOG;
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let printed = std::fs::read_to_string(&output).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&directory);
    let status = status.unwrap_or_else(|| {
        panic!("{name} did not finish in {CHILD_WATCHDOG:?}, so it hangs:\n{printed}")
    });
    assert!(
        status.success() && printed.contains("test result: ok. 1 passed"),
        "{name} failed in its own process:\n{printed}"
    );
}

/// Starts the test `name` of this binary in a child process of its own, its standard input and
/// output piped: for a scenario that serves while the parent acts as its clients. The child's
/// body runs when [`in_own_process`] sees it is the one asked for.
pub fn spawn_own_process(name: &str) -> (Running, std::io::BufReader<std::process::ChildStdout>) {
    let mut child = Running(
        own_process(name)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stdout = std::io::BufReader::new(child.0.stdout.take().unwrap());
    (child, stdout)
}

/// Names, in a child process, the one test it runs.
const OWN_PROCESS_VARIABLE: &str = "TRACK_METRICS_TEST_PROCESS";

/// This test binary, set to run the test `name` alone, as the child [`is_own_process`] tells.
fn own_process(name: &str) -> Command {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([
            name,
            "--exact",
            "--nocapture",
            "--include-ignored",
            "--test-threads=1",
        ])
        .env(OWN_PROCESS_VARIABLE, name);
    command
}

/// Whether this process is the child that runs the test `name` (see [`spawn_own_process`]).
pub fn is_own_process(name: &str) -> bool {
    std::env::var(OWN_PROCESS_VARIABLE).as_deref() == Ok(name)
}

/// Keeps every message the runtime logs, for assertions.
pub struct Logged(Mutex<Vec<String>>);

impl log::Log for Logged {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Warn
    }

    fn log(&self, record: &log::Record<'_>) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(record.args().to_string());
    }

    fn flush(&self) {}
}

/// The warnings logged in this process so far that contain `needle`, once the logger is set.
pub fn warnings_about(needle: &str) -> Vec<String> {
    logged()
        .0
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .filter(|message| message.contains(needle))
        .cloned()
        .collect()
}

/// Sets the capturing logger of this process, once; call it before the code that warns.
pub fn logged() -> &'static Logged {
    static LOGGED: Logged = Logged(Mutex::new(Vec::new()));
    static SET: OnceLock<()> = OnceLock::new();
    SET.get_or_init(|| {
        log::set_logger(&LOGGED).expect("no other logger");
        log::set_max_level(log::LevelFilter::Warn);
    });
    &LOGGED
}

/// Waits until `condition` holds, checking every 5 ms, for at most 30 seconds.
pub fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !condition() {
        assert!(Instant::now() < deadline, "never: {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The line (from 1) of the first line of `source` that contains `needle`: where an error
/// message should point, found in the test's own source rather than written down.
pub fn line_of(source: &str, needle: &str) -> usize {
    source
        .lines()
        .position(|line| line.contains(needle))
        .unwrap_or_else(|| panic!("`{needle}` is not in the source"))
        + 1
}

/// Polls `future` once (it must stay pending), waits `pending_for`, and drops it: a cancelled
/// call. Returns the shortest and longest duration the call can have, from moments measured
/// around the poll and the drop, with 1% of slack for the runtime's clock against std's: bounds
/// that hold however long a loaded machine takes between them.
pub fn cancel_after<F: std::future::Future>(future: F, pending_for: Duration) -> (f64, f64) {
    let mut future = Box::pin(future);
    let before_poll = Instant::now();
    let waker = std::task::Waker::noop();
    assert!(
        future
            .as_mut()
            .poll(&mut std::task::Context::from_waker(waker))
            .is_pending()
    );
    let after_poll = Instant::now();
    std::thread::sleep(pending_for);
    let before_drop = Instant::now();
    drop(future);
    let after_drop = Instant::now();
    (
        (before_drop - after_poll).as_secs_f64() * 0.99,
        (after_drop - before_poll).as_secs_f64() * 1.01,
    )
}
