//! What the kernel holds for a TCP port, from `ss -tm`: queues and socket memory.
#![allow(dead_code)]

use std::process::Command;

/// One socket as `ss` reports it.
#[derive(Debug, Clone)]
pub struct Socket {
    pub state: String,
    /// Bytes received and not yet read by the owner.
    pub recv_q: u64,
    /// Bytes queued to send and not yet acknowledged.
    pub send_q: u64,
    pub local: String,
    pub peer: String,
    /// The `skmem:(…)` figures: r (receive memory), rb, t (send memory), tb (send buffer), …
    pub skmem: String,
}

impl Socket {
    /// One `skmem` figure by name (`t`, `tb`, `r`, `rb`, `w`, …).
    pub fn mem(&self, key: &str) -> u64 {
        self.skmem
            .trim_start_matches("skmem:(")
            .trim_end_matches(')')
            .split(',')
            .find_map(|f| {
                let digits = f.trim_start_matches(|c: char| c.is_ascii_alphabetic());
                (&f[..f.len() - digits.len()] == key).then(|| digits.parse().ok())?
            })
            .unwrap_or(0)
    }

    pub fn local_port(&self) -> u16 {
        port_of(&self.local)
    }

    pub fn peer_port(&self) -> u16 {
        port_of(&self.peer)
    }
}

impl std::fmt::Display for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} Recv-Q {} Send-Q {} {} -> {} {}",
            self.state, self.recv_q, self.send_q, self.local, self.peer, self.skmem
        )
    }
}

fn port_of(addr: &str) -> u16 {
    addr.rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or(0)
}

/// Every TCP socket, in any state (orphans included), whose local port is `port`, except the
/// listener.
pub fn on_port(port: u16) -> Vec<Socket> {
    let output = Command::new("ss")
        .args(["-tmnOH", "state", "all"])
        .arg(format!("( sport = :{port} )"))
        .output()
        .expect("ss runs (iproute2; installed by scripts/deps.sh test)");
    assert!(output.status.success(), "ss failed");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 5 {
                return None;
            }
            Some(Socket {
                state: f[0].to_string(),
                recv_q: f[1].parse().ok()?,
                send_q: f[2].parse().ok()?,
                local: f[3].to_string(),
                peer: f[4].to_string(),
                skmem: f
                    .iter()
                    .find(|x| x.starts_with("skmem:"))
                    .map_or_else(String::new, |s| s.to_string()),
            })
        })
        .filter(|s| s.state != "LISTEN")
        .collect()
}

/// The one socket whose local port is `port` and peer port `peer`, if the kernel has it.
pub fn connection(port: u16, peer: u16) -> Option<Socket> {
    on_port(port).into_iter().find(|s| s.peer_port() == peer)
}
