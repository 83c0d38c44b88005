//! The process metrics agree with what the kernel says in `/proc/self`: CPU seconds to the tick
//! (not truncated to whole seconds), memory, file descriptors, threads, limits, start time. In a
//! process of its own, so that no other test's threads or files move the figures.

use std::time::{Duration, Instant};

use track_metrics::testing::Exposition;

use crate::common;

fn stat_fields() -> Vec<String> {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // Fields after the command name, which is in parentheses and may hold spaces.
    stat.rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .map(str::to_owned)
        .collect()
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

/// User plus system CPU seconds of this process.
fn cpu_seconds() -> f64 {
    let fields = stat_fields();
    (fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap())
        / clock_ticks_per_second()
}

/// Resident and virtual bytes, from `/proc/self/statm`.
fn memory() -> (f64, f64) {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: Vec<f64> = statm
        .split_whitespace()
        .map(|field| field.parse().unwrap())
        .collect();
    (pages[1] * 4096.0, pages[0] * 4096.0)
}

fn threads() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|line| line.strip_prefix("Threads:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn limit(name: &str) -> Option<f64> {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
    let line = limits.lines().find(|line| line.starts_with(name)).unwrap();
    let soft = line[name.len()..].split_whitespace().next().unwrap();
    soft.parse().ok()
}

fn within(value: f64, low: f64, high: f64, slack: f64) -> bool {
    value >= low.min(high) - slack && value <= low.max(high) + slack
}

#[test]
fn process_metrics_match_proc_self() {
    common::in_own_process(&crate::test_name!(process_metrics_match_proc_self), || {
        track_metrics::Exporter::builder()
            .without_listener()
            .install()
            .unwrap();
        // Spend more than half a second of CPU, so that a truncation to whole seconds would
        // show, however loaded the machine is.
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut spin = 0_u64;
        while cpu_seconds() < 0.6 && Instant::now() < deadline {
            for _ in 0..1_000_000 {
                spin = std::hint::black_box(spin.wrapping_add(1));
            }
        }
        let cpu_before = cpu_seconds();
        let (resident_before, virtual_before) = memory();
        let threads_before = threads();
        let text = track_metrics::render();
        let (resident_after, virtual_after) = memory();
        let threads_after = threads();
        let cpu_after = cpu_seconds();
        let scrape = Exposition::parse(&text).unwrap();
        let value = |name| common::value(&scrape, name, &[]);

        let cpu = value("process_cpu_seconds_total");
        assert!(
            within(cpu, cpu_before, cpu_after, 0.0),
            "{cpu_before} <= {cpu} <= {cpu_after}"
        );
        assert!(cpu >= 0.5 && cpu.fract() != 0.0, "{cpu}");
        assert_eq!(
            scrape.family("process_cpu_seconds_total").unwrap().kind,
            "counter"
        );

        // Memory moves a little while the scrape itself allocates: a page or so.
        let resident = value("process_resident_memory_bytes");
        assert!(
            within(resident, resident_before, resident_after, 256.0 * 1024.0),
            "{resident} vs {resident_before}..{resident_after}"
        );
        let virtual_memory = value("process_virtual_memory_bytes");
        assert!(
            within(
                virtual_memory,
                virtual_before,
                virtual_after,
                1024.0 * 1024.0
            ),
            "{virtual_memory} vs {virtual_before}..{virtual_after}"
        );

        assert_eq!(threads_before, threads_after);
        assert_eq!(value("process_threads"), threads_before);

        let open_fds = value("process_open_fds");
        // Listing the directory opens one descriptor more while it is read.
        let listed = std::fs::read_dir("/proc/self/fd").unwrap().count() as f64;
        assert!(
            (listed - 1.0..=listed).contains(&open_fds),
            "{open_fds} vs {listed}"
        );

        assert_eq!(
            value("process_max_fds"),
            limit("Max open files").unwrap_or(-1.0)
        );
        assert_eq!(
            value("process_virtual_memory_max_bytes"),
            limit("Max address space").unwrap_or(-1.0),
            "-1 when unlimited, as client_golang writes it"
        );

        let boot: f64 = std::fs::read_to_string("/proc/stat")
            .unwrap()
            .lines()
            .find_map(|line| line.strip_prefix("btime "))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let since_boot = stat_fields()[19].parse::<f64>().unwrap() / clock_ticks_per_second();
        let started = value("process_start_time_seconds");
        assert!(
            (started - (boot + since_boot)).abs() <= 1.0,
            "{started} vs {}",
            boot + since_boot
        );
    });
}
