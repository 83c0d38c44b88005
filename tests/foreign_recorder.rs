//! With another `metrics` recorder installed first, `install()` says so and frees its port.

use std::net::TcpListener;

#[test]
fn another_recorder_is_reported_and_the_port_is_released() {
    metrics::set_global_recorder(metrics::NoopRecorder).unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();

    let error = track_metrics::Exporter::builder()
        .listen_address(port.to_string())
        .install()
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("another `metrics` recorder is already installed"),
        "{error}"
    );

    TcpListener::bind(port).expect("the failed install left no listener on the port");
}
