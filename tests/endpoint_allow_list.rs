//! Only clients from the allowed networks are answered, and basic authentication, over real
//! TCP from two loopback source addresses.

mod common;

use std::net::{SocketAddr, TcpStream};

use common::request_with;
use socket2::{Domain, Socket, Type};

/// A connection to `addr` from the loopback address `source`.
fn connect_from(source: [u8; 4], addr: SocketAddr) -> TcpStream {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    socket.bind(&SocketAddr::from((source, 0)).into()).unwrap();
    socket.connect(&addr.into()).unwrap();
    socket.into()
}

#[test]
fn other_networks_get_403_and_allowed_ones_need_basic_auth() {
    let exporter = track_metrics::Exporter::builder()
        .listen_address("127.0.0.1:0")
        .allow_network("127.0.0.2")
        .basic_auth("prometheus", "hunter2")
        .install()
        .unwrap();
    let addr = exporter.local_addr().unwrap();

    let refused = request_with(
        connect_from([127, 0, 0, 1], addr),
        addr,
        "GET",
        "/metrics",
        &[],
    );
    assert_eq!(refused.status, 403, "{}", refused.body);

    let anonymous = request_with(
        connect_from([127, 0, 0, 2], addr),
        addr,
        "GET",
        "/metrics",
        &[],
    );
    assert_eq!(anonymous.status, 401);
    assert_eq!(
        anonymous.header("www-authenticate"),
        Some("Basic realm=\"metrics\"")
    );

    // "prometheus:hunter2" in base64.
    let credentials = ("Authorization", "Basic cHJvbWV0aGV1czpodW50ZXIy");
    let allowed = request_with(
        connect_from([127, 0, 0, 2], addr),
        addr,
        "GET",
        "/metrics",
        &[credentials],
    );
    assert_eq!(allowed.status, 200, "{}", allowed.body);
    assert!(
        allowed
            .body
            .contains("track_metrics_scrapes_total{status=\"403\"} 1\n"),
        "{}",
        allowed.body
    );
}
