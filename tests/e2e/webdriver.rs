//! A WebDriver client for the browser tests: ChromeDriver started on a free port, driving a
//! headless Chromium with a profile of its own, through the W3C protocol's JSON over HTTP.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

use crate::common::{self, Running};
use crate::prometheus::{TempDirectory, free_port};

/// A browser session; the browser and the driver end when it is dropped.
pub struct Browser {
    driver: SocketAddr,
    session: String,
    _driver_process: Running,
    _profile: TempDirectory,
}

impl Browser {
    /// A headless Chromium, its console logged.
    pub fn start() -> Self {
        let chromedriver = common::required_tool("chromedriver", "CHROMEDRIVER", "chromium-driver");
        let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
        let driver = free_port();
        let process = Running(
            Command::new(chromedriver)
                .arg(format!("--port={}", driver.port()))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(driver).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = TempDirectory::new("chromium");
        // The flags keep a closed network quiet: no background requests, no component updates.
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--window-size=1280,1000",
                    format!("--user-data-dir={}", profile.0.display()),
                ],
            },
            "goog:loggingPrefs": {"browser": "ALL"},
        }}});
        let created = call(driver, "POST", "/session", &capabilities);
        let session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {created}"))
            .to_owned();
        Browser {
            driver,
            session,
            _driver_process: process,
            _profile: profile,
        }
    }

    fn command(&self, method: &str, path: &str, body: &Value) -> Value {
        let value = call(
            self.driver,
            method,
            &format!("/session/{}{path}", self.session),
            body,
        );
        assert!(
            value["value"]["error"].is_null(),
            "{method} {path}: {value}"
        );
        value["value"].clone()
    }

    pub fn open(&self, url: &str) {
        self.command("POST", "/url", &json!({"url": url}));
    }

    /// Runs `script` (a function body) in the page and returns what it returns.
    pub fn run(&self, script: &str) -> Value {
        self.command(
            "POST",
            "/execute/sync",
            &json!({"script": script, "args": []}),
        )
    }

    /// Clicks the first element `selector` matches.
    pub fn click(&self, selector: &str) {
        let element = self.command(
            "POST",
            "/element",
            &json!({"using": "css selector", "value": selector}),
        );
        let id = element
            .as_object()
            .and_then(|object| object.values().next())
            .and_then(Value::as_str)
            .unwrap()
            .to_owned();
        self.command("POST", &format!("/element/{id}/click"), &json!({}));
    }

    /// The browser console's entries since the last call: `(level, message)`.
    pub fn console(&self) -> Vec<(String, String)> {
        self.command("POST", "/se/log", &json!({"type": "browser"}))
            .as_array()
            .unwrap()
            .iter()
            .map(|entry| {
                (
                    entry["level"].as_str().unwrap_or_default().to_owned(),
                    entry["message"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }

    /// A PNG of the window.
    pub fn screenshot(&self) -> Vec<u8> {
        let encoded = self.command("GET", "/screenshot", &Value::Null);
        base64::engine::general_purpose::STANDARD
            .decode(encoded.as_str().unwrap())
            .unwrap()
    }

    /// Waits until `script` returns true.
    pub fn wait_for(&self, what: &str, script: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.run(script) != Value::Bool(true) {
            assert!(Instant::now() < deadline, "never happened: {what}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = std::panic::catch_unwind(|| {
            call(
                self.driver,
                "DELETE",
                &format!("/session/{}", self.session),
                &Value::Null,
            )
        });
    }
}

fn call(driver: SocketAddr, method: &str, path: &str, body: &Value) -> Value {
    let body = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    let mut stream = TcpStream::connect(driver).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {driver}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    // ChromeDriver keeps the connection open: read the head, then as many bytes as it says.
    let mut raw = Vec::new();
    let mut buffer = [0_u8; 8192];
    let response = loop {
        let read = stream.read(&mut buffer).unwrap();
        assert!(
            read > 0,
            "chromedriver hung up: {}",
            String::from_utf8_lossy(&raw)
        );
        raw.extend_from_slice(&buffer[..read]);
        let Some(end) = raw.windows(4).position(|window| window == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .map_or(0, |value| value.trim().parse().unwrap());
        if raw.len() >= end + 4 + length {
            raw.truncate(end + 4 + length);
            break common::parse_response(&raw);
        }
    };
    serde_json::from_str(&response.body)
        .unwrap_or_else(|_| panic!("{method} {path}: {}", response.body))
}
