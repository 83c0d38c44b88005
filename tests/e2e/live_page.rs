//! The live page in a real browser: headless Chromium, driven over WebDriver, loads the page of
//! `examples/flaky_service.rs` with no console error (its Content-Security-Policy allows
//! nothing inline or from elsewhere), lists its functions with numbers that agree with
//! `/metrics` scraped at the same moment, updates on its own, and filters by module.

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common;
use crate::webdriver::Browser;

/// `(calls, errors)` of `work` in a scrape of the service.
fn scrape(service: SocketAddr) -> (f64, f64) {
    let response = common::request(service, "GET", "/metrics");
    let scrape = track_metrics::testing::Exposition::parse(&response.body).unwrap();
    let labels = [
        ("function", "work"),
        ("module", "flaky_service"),
        ("objective", "work"),
    ];
    let calls = common::value(&scrape, "function_calls_total", &labels);
    // No error counter until the first error.
    let errors = scrape
        .value(
            "function_errors_total",
            &[
                ("function", "work"),
                ("module", "flaky_service"),
                ("objective", "work"),
                ("error_type", "Unlucky"),
            ],
        )
        .unwrap_or(0.0);
    (calls, errors)
}

/// The rows of the functions table, as the browser shows them.
fn rows(browser: &Browser) -> Vec<Value> {
    browser
        .run(
            "return [...document.querySelectorAll('#functions tr[data-function]')].map(row => ({\
                 function: row.dataset.function, module: row.dataset.module,\
                 calls: Number(row.dataset.calls), rate: Number(row.dataset.rate),\
                 errorRatio: Number(row.dataset.errorRatio), text: row.innerText }));",
        )
        .as_array()
        .unwrap()
        .clone()
}

fn row<'a>(rows: &'a [Value], function: &str) -> &'a Value {
    rows.iter()
        .find(|row| row["function"] == function)
        .unwrap_or_else(|| panic!("no row for {function} in {rows:?}"))
}

#[test]
#[ignore = "needs Chromium and ChromeDriver (Debian packages chromium, chromium-driver); .ci/run installs them"]
fn the_live_page_in_chromium_agrees_with_the_scrape_updates_and_filters() {
    let (_service, _, target) = common::serving(
        Command::new(common::example_binary("flaky_service"))
            .env("CALLS", "1000000")
            .env("PAUSE_MS", "10"),
    );
    let service: SocketAddr = target.parse().unwrap();
    let page = format!("http://{service}/");

    // Nobody has looked at the page yet, so its sampler sleeps; the first view reads at once:
    // every function is listed with its total.
    let browser = Browser::start();
    browser.open(&page);
    let first = rows(&browser);
    let (calls_at_open, _) = scrape(service);
    let opened = row(&first, "work")["calls"].as_f64().unwrap();
    assert!(
        opened <= calls_at_open,
        "page {opened} calls at once, scrape {calls_at_open}"
    );

    // While the page is open it reads every 2 s, and its rates are over its last 30 s of
    // readings: the test measures its own over a span that holds them.
    let (calls_before, _) = scrape(service);
    let before = Instant::now();
    std::thread::sleep(Duration::from_secs(34));
    let shown = rows(&browser);
    let (calls_after, errors_after) = scrape(service);
    let elapsed = before.elapsed().as_secs_f64();

    let work = row(&shown, "work");
    assert_eq!(work["module"], "flaky_service");
    row(&shown, "pause");
    // The page's total is a reading one interval (2 s) old, or a few more on a loaded machine
    // whose sampler thread waits for a core: bounded by 10 s of calls.
    let calls = work["calls"].as_f64().unwrap();
    let measured_rate = (calls_after - calls_before) / elapsed;
    assert!(
        calls <= calls_after && calls >= calls_after - measured_rate * 10.0,
        "page {calls} calls, scrape {calls_after}"
    );
    // Every other call fails: over the page's window the ratio is within one call of a half,
    // as it is over the scrape's lifetime totals.
    let ratio = work["errorRatio"].as_f64().unwrap();
    assert!(
        (ratio - errors_after / calls_after).abs() < 0.02,
        "page {ratio}, scrape {}",
        errors_after / calls_after
    );
    // The page's 30 s lie within the test's 34 s of a steady load: the rates differ by what
    // the 4 s at the ends did differently, which a loaded machine can make a third.
    let rate = work["rate"].as_f64().unwrap();
    eprintln!(
        "page {rate:.2} calls/s, measured {measured_rate:.2} calls/s; page total {calls}, scrape {calls_after}"
    );
    assert!(
        (rate - measured_rate).abs() <= measured_rate * 0.35,
        "page {rate}/s, measured {measured_rate}/s"
    );
    assert!(
        work["text"].as_str().unwrap().contains("Unlucky 50"),
        "{}",
        work["text"]
    );

    // It refreshes on its own: the script fetched newer numbers.
    browser.wait_for(
        "a refresh with more calls",
        &format!(
            "const row = document.querySelector('#functions tr[data-function=\"work\"]');\
             return document.getElementById('live').dataset.updated !== undefined \
                 && Number(row.dataset.calls) > {calls};"
        ),
    );

    // The filter: one module's functions only, at once, and in the address.
    browser.click("#filter select[name=module] option[value=\"flaky_service::backoff\"]");
    browser.wait_for(
        "only the backoff module",
        "const rows = [...document.querySelectorAll('#functions tr[data-function]')];\
         return rows.length === 1 && rows[0].dataset.function === 'pause';",
    );
    assert_eq!(
        browser.run("return location.search;"),
        "?module=flaky_service%3A%3Abackoff"
    );
    // Sorting is a link: by p99, slowest first.
    browser.click("#functions th a[href*=\"sort=p99\"]");
    browser.wait_for(
        "the page sorted by p99",
        "return location.search.includes('sort=p99');",
    );

    let console = browser.console();
    assert!(
        console
            .iter()
            .all(|(level, _)| level != "SEVERE" && level != "WARNING"),
        "the console: {console:?}"
    );
    if let Ok(path) = std::env::var("LIVE_PAGE_SCREENSHOT") {
        std::fs::write(path, browser.screenshot()).unwrap();
    }
}
