//! Clients that stop reading, seen from the kernel: what the server queues for them while
//! they stall (one frame in hyper, a couple in the socket) and what is left once they are
//! dropped (nothing: the socket is reset, its queue freed). Figures come from the server's
//! status and from `ss -tm`.

mod common;

use std::io::{ErrorKind, Read};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::fixture;
use common::server::{MjpegReader, TestServer, wait_until};
use common::sockets;
use framecast::http::listen::HYPER_BUFFER;
use framecast::render::Size;

const TINY: Size = Size {
    width: 160,
    height: 90,
};

/// The stream client listed in the status with this peer port.
fn client_counters(server: &TestServer, port: u16) -> Option<(u64, u64)> {
    let status = server.status();
    let client = status["clients"]
        .as_array()?
        .iter()
        .find(|c| {
            c["peer"]
                .as_str()
                .is_some_and(|p| p.ends_with(&format!(":{port}")))
        })?
        .clone();
    Some((
        client["frames_sent"].as_u64()?,
        client["frames_skipped"].as_u64()?,
    ))
}

#[test]
fn a_stalled_client_with_small_frames_skips_instead_of_queueing() {
    // One photo at 160x90: every part is the same few KB; a new picture every 30 ms and a
    // re-send every 10 ms give the server far more parts than a stalled client can hold.
    let server = TestServer::start(vec![fixture("edge/cmyk.jpg")], |s| {
        s.spec.size = TINY;
        s.timing.interval = Duration::from_millis(30);
        s.http.mjpeg.refresh = Duration::from_millis(10);
    });
    // Every part the photo's, not the larger frame that says the library is still looking.
    wait_until("the photo on screen", Duration::from_secs(20), || {
        server.status()["current"]["path"].is_string()
    });
    let tcp = server.connect_with_recv_buffer(4096);
    let client_port = tcp.local_addr().expect("addr").port();
    let mut stream: MjpegReader = server.stream_via(tcp, "GET /stream.mjpg HTTP/1.1");
    let jpeg = stream.next_jpeg();
    let part = format!(
        "Content-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n",
        jpeg.len()
    )
    .len()
        + jpeg.len()
        + format!("\r\n--{}\r\n", stream.boundary).len();
    // Stop reading. The server hands parts over until hyper and the socket are full, then
    // has to skip; wait until its count of parts handed over stops moving.
    let mut last = (0, 0);
    let mut steady = 0;
    wait_until(
        "the stalled client's count to settle",
        Duration::from_secs(20),
        || {
            let now = client_counters(&server, client_port).expect("listed");
            steady = if now.0 == last.0 { steady + 1 } else { 0 };
            last = now;
            std::thread::sleep(Duration::from_millis(100));
            steady >= 3
        },
    );
    let (sent, _) = last;
    let server_side = sockets::connection(server.addr.port(), client_port).expect("server socket");
    let client_side = sockets::connection(client_port, server.addr.port()).expect("client socket");
    // Every byte handed over after the first part is in the reader's buffer, the client's
    // receive queue, the server's send queue, or hyper's buffer.
    let in_flight = (sent - 1) * part as u64;
    let in_kernel = client_side.recv_q + server_side.send_q;
    let in_hyper = in_flight.saturating_sub(in_kernel + stream.reader.buffer().len() as u64);
    let published = server.status()["photos"]["pictures_published"]
        .as_u64()
        .unwrap_or(0);
    eprintln!(
        "part {part} B; {published} pictures published, {sent} parts handed over; in flight \
         {in_flight} B = {} B read ahead + {} B client Recv-Q + {} B server Send-Q + {in_hyper} B in hyper",
        stream.reader.buffer().len(),
        client_side.recv_q,
        server_side.send_q
    );
    eprintln!("server: {server_side}\nclient: {client_side}");
    assert!(
        in_hyper <= (HYPER_BUFFER + part) as u64,
        "hyper holds {in_hyper} B, more than its {HYPER_BUFFER} B buffer and one part"
    );
    // The socket's send buffer is sized for two frames of this size, not megabytes.
    let send_buffer = server_side.mem("tb");
    assert!(send_buffer <= 64 * 1024, "send buffer {send_buffer} B");
    // Reading again, the client gets what was in flight, then the newest picture: the
    // pictures published in between are skipped, not queued.
    for _ in 0..sent {
        stream.next_jpeg();
    }
    let (_, skipped) = client_counters(&server, client_port).expect("listed");
    eprintln!("then skipped {skipped} pictures at once");
    assert!(
        skipped + sent + 2 >= published,
        "{skipped} skipped + {sent} sent of {published} published"
    );
}

/// Stream clients that connect, ask for the stream and never read, with small receive
/// buffers so they stall at once.
fn stalled_clients(server: &TestServer, n: usize) -> Vec<TcpStream> {
    (0..n)
        .map(|_| {
            let mut tcp = server.connect_with_recv_buffer(4096);
            std::io::Write::write_all(&mut tcp, b"GET /stream.mjpg HTTP/1.1\r\nHost: t\r\n\r\n")
                .expect("request");
            tcp
        })
        .collect()
}

/// Waits until the server side of every one of `clients` has data queued it cannot send.
fn wait_until_stalled(server: &TestServer, clients: &[TcpStream]) -> Vec<sockets::Socket> {
    let ports: Vec<u16> = clients
        .iter()
        .map(|c| c.local_addr().expect("addr").port())
        .collect();
    let mut stalled = Vec::new();
    wait_until("the clients to stall", Duration::from_secs(20), || {
        stalled = sockets::on_port(server.addr.port())
            .into_iter()
            .filter(|s| ports.contains(&s.peer_port()) && s.send_q > 0)
            .collect();
        stalled.len() == ports.len()
    });
    stalled
}

/// Sockets the server's port still holds for `clients`, in any state.
fn left_behind(server: &TestServer, clients: &[TcpStream]) -> Vec<sockets::Socket> {
    let ports: Vec<u16> = clients
        .iter()
        .map(|c| c.local_addr().expect("addr").port())
        .collect();
    sockets::on_port(server.addr.port())
        .into_iter()
        .filter(|s| ports.contains(&s.peer_port()))
        .collect()
}

fn report(what: &str, sockets: &[sockets::Socket]) {
    let queued: u64 = sockets.iter().map(|s| s.send_q).sum();
    let memory: u64 = sockets.iter().map(|s| s.mem("w") + s.mem("t")).sum();
    eprintln!(
        "{what}: {} sockets, Send-Q {queued} B, send memory {memory} B",
        sockets.len()
    );
    for s in sockets {
        eprintln!("  {s}");
    }
}

#[test]
fn clients_dropped_for_the_write_timeout_leave_no_queued_data_behind() {
    let server = TestServer::start(vec![fixture("camera")], |s| {
        s.spec.size = Size {
            width: 640,
            height: 360,
        };
        s.timing.interval = Duration::from_millis(100);
        s.http.mjpeg.refresh = Duration::from_millis(20);
        s.http.write_timeout = Duration::from_secs(1);
    });
    let mut clients = stalled_clients(&server, 4);
    let stalled = wait_until_stalled(&server, &clients);
    report("stalled", &stalled);
    // The write timeout drops them; the sockets are reset, not left to drain as orphans.
    let started = Instant::now();
    wait_until(
        "the server to let go of every socket",
        Duration::from_secs(15),
        || left_behind(&server, &clients).is_empty(),
    );
    eprintln!("all gone {:?} after they stalled", started.elapsed());
    report("after the drop", &left_behind(&server, &clients));
    assert_eq!(server.status()["clients"].as_array().map(Vec::len), Some(0));
    // Each client sees the reset once it has read what reached it.
    for client in &mut clients {
        let mut sink = Vec::new();
        let err = client
            .read_to_end(&mut sink)
            .expect_err("a reset, not a clean end");
        assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
    }
}

#[test]
fn shutdown_leaves_no_queued_data_behind() {
    // Stalled clients when the server stops: a connection whose write is stuck is reset when
    // shutdown gives up on it; one whose last part was already in the kernel's queue is
    // closed gracefully and then dropped by the kernel after twice the write timeout. Either
    // way nothing queued outlives the server for long.
    let mut server = TestServer::start(vec![fixture("camera")], |s| {
        s.spec.size = Size {
            width: 640,
            height: 360,
        };
        s.timing.interval = Duration::from_millis(100);
        s.http.mjpeg.refresh = Duration::from_millis(20);
        s.http.write_timeout = Duration::from_secs(3);
        s.http.shutdown_grace = Duration::from_millis(500);
    });
    let clients = stalled_clients(&server, 4);
    report("stalled", &wait_until_stalled(&server, &clients));
    assert!(
        server.shutdown(Duration::from_secs(10)),
        "the server stopped"
    );
    report("at shutdown", &left_behind(&server, &clients));
    let started = Instant::now();
    let mut left = Vec::new();
    while started.elapsed() < Duration::from_secs(20) {
        left = left_behind(&server, &clients);
        if left.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    report("after", &left);
    assert!(left.is_empty(), "sockets left behind");
    eprintln!("all gone {:?} after shutdown", started.elapsed());
}
