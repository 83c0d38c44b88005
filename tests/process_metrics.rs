//! The process metrics in a real scrape agree with what the kernel says in `/proc/self`: CPU
//! seconds to the tick (not truncated to whole seconds), memory, file descriptors, start time.

mod common;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// User plus system CPU seconds of this process, from `/proc/self/stat`.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / clock_ticks_per_second()
}

fn clock_ticks_per_second() -> f64 {
    let output = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .unwrap();
    String::from_utf8(output.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn process_metrics_match_proc_self() {
    common::exporter();
    // Spend some CPU, so that a truncation to whole seconds would show.
    let start = Instant::now();
    let mut spin = 0_u64;
    while start.elapsed() < Duration::from_millis(700) {
        spin = std::hint::black_box(spin.wrapping_add(1));
    }
    let before = cpu_seconds();
    let (text, scrape) = common::scrape();
    let after = cpu_seconds();

    let cpu = common::value(&scrape, "process_cpu_seconds_total", &[]);
    assert!(
        (before..=after).contains(&cpu),
        "{before} <= {cpu} <= {after}"
    );
    assert!(cpu >= 0.5, "{cpu}");
    assert_eq!(
        scrape.family("process_cpu_seconds_total").unwrap().kind,
        "counter"
    );

    let resident = common::value(&scrape, "process_resident_memory_bytes", &[]);
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let resident_pages: f64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    let page = 4096.0;
    assert!(
        (resident - resident_pages * page).abs() < 64.0 * 1024.0 * 1024.0,
        "{resident}"
    );

    let open_fds = common::value(&scrape, "process_open_fds", &[]);
    let counted = std::fs::read_dir("/proc/self/fd").unwrap().count() as f64;
    assert!((open_fds - counted).abs() <= 8.0, "{open_fds} vs {counted}");

    let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
    let soft: f64 = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .and_then(|line| line.split_whitespace().nth(3))
        .and_then(|value| value.parse().ok())
        .unwrap();
    assert_eq!(common::value(&scrape, "process_max_fds", &[]), soft);

    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let started = common::value(&scrape, "process_start_time_seconds", &[]);
    assert!(
        now - started >= 0.0 && now - started < 600.0,
        "started {started}, now {now}"
    );
    assert!(common::value(&scrape, "process_virtual_memory_bytes", &[]) >= resident);
    common::assert_promtool_accepts(&text);
}
