//! A Pushgateway client that cannot hang a batch job or wipe a group: a gateway that accepts and
//! never answers makes the push fail within its timeout (the child process's watchdog catches a
//! hang), and a job that never installed track-metrics is told so instead of sending an empty
//! `PUT`. The real Pushgateway's tests are in `tests/e2e/pushgateway.rs`.

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use track_metrics::{Error, Pushgateway};

use crate::common::in_own_process;
use crate::test_name;

/// A server that accepts every connection and never answers; returns its URL and how many
/// connections it took.
fn silent_gateway() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&accepted);
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            counted.fetch_add(1, Ordering::SeqCst);
            held.push(stream); // never read, never answered, never closed
        }
    });
    (url, accepted)
}

#[test]
fn a_push_with_nothing_installed_is_refused_before_anything_is_sent() {
    in_own_process(
        &test_name!(a_push_with_nothing_installed_is_refused_before_anything_is_sent),
        || {
            let (url, accepted) = silent_gateway();
            let gateway = Pushgateway::new(&url, "forgot_install").unwrap();
            for result in [gateway.push(), gateway.push_add()] {
                let error = result.unwrap_err();
                assert!(matches!(error, Error::Push { .. }), "{error:?}");
                let message = error.to_string();
                assert!(message.contains("nothing to push"), "{message}");
                assert!(message.contains("install()"), "{message}");
            }
            assert_eq!(accepted.load(Ordering::SeqCst), 0, "no request was sent");
        },
    );
}

#[test]
fn a_gateway_that_never_answers_fails_the_push_within_its_timeout() {
    in_own_process(
        &test_name!(a_gateway_that_never_answers_fails_the_push_within_its_timeout),
        || {
            track_metrics::Exporter::builder()
                .without_listener()
                .install()
                .unwrap();
            let (url, accepted) = silent_gateway();
            let gateway = Pushgateway::new(&url, "nightly")
                .unwrap()
                .timeout(Duration::from_millis(500));
            let error = gateway.push().unwrap_err();
            assert!(error.to_string().contains("timeout"), "{error}");
            assert!(accepted.load(Ordering::SeqCst) >= 1, "the request was sent");
            // The guard at the end of a job is bounded the same way: this returns.
            std::thread::spawn(move || drop(gateway.push_on_drop()))
                .join()
                .unwrap();
        },
    );
}

#[test]
fn grouping_labels_that_are_not_label_names_are_refused() {
    in_own_process(
        &test_name!(grouping_labels_that_are_not_label_names_are_refused),
        || {
            track_metrics::Exporter::builder()
                .without_listener()
                .install()
                .unwrap();
            let (url, accepted) = silent_gateway();
            for (label, problem) in [
                ("job", "job name"),
                ("bad-name", "label name"),
                ("__reserved", "reserved"),
            ] {
                let error = Pushgateway::new(&url, "nightly")
                    .unwrap()
                    .grouping(label, "x")
                    .push()
                    .unwrap_err();
                assert!(error.to_string().contains(problem), "{label}: {error}");
            }
            let error = Pushgateway::new(&url, "nightly")
                .unwrap()
                .grouping("instance", "a")
                .grouping("instance", "b")
                .push()
                .unwrap_err();
            assert!(error.to_string().contains("twice"), "{error}");
            assert_eq!(accepted.load(Ordering::SeqCst), 0);
        },
    );
}
