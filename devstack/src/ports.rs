//! Loopback ports: picking a free one, and refusing to start on a busy one.
//!
//! Tests run side by side and other engineers' servers run on the same machine, so nothing here
//! assumes a fixed port is free: a port is either picked and checked free ([`pick_free_port`]) or
//! checked before a service is started on it. A service that fails to bind often keeps running and
//! answers nothing (LocalStack does), which is far harder to diagnose than a clear refusal.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use anyhow::{Context, Result, bail};

/// The lowest port picked; below it are the well-known and registered services people run.
const PICK_FROM: u16 = 20_000;

/// A port on 127.0.0.1 that was free a moment ago.
///
/// The listener is closed before returning, so another process may take the port before the
/// caller's service binds it. The port is picked at random *below* the kernel's ephemeral range
/// (`net.ipv4.ip_local_port_range`), not with a bind to port 0: port 0 hands out a port from that
/// range, which is also where every outgoing connection gets its source port, and with dozens of
/// clients connecting while tests start servers, a picked port was taken as a source port before
/// the server bound it (two Temporal dev servers died with "address already in use" in one full
/// run). Below the range only another explicit picker can collide, one chance in thousands.
pub fn pick_free_port() -> Result<u16> {
    let below = ephemeral_range_start().max(PICK_FROM + 1);
    for _ in 0..200 {
        let port = rand::random_range(PICK_FROM..below);
        if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
            return Ok(port);
        }
    }
    // Everything below the range is busy (unheard of): let the kernel pick.
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("binding 127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// The first port the kernel hands out for outgoing connections (Linux's default is 32768).
fn ephemeral_range_start() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse().ok())
        .unwrap_or(32_768)
}

/// Resolves a requested port: 0 means "pick one".
pub fn resolve_port(requested: u16) -> Result<u16> {
    if requested == 0 {
        pick_free_port()
    } else {
        Ok(requested)
    }
}

/// Fails with a clear message when something already listens on `127.0.0.1:port`.
pub fn ensure_port_free(port: u16, service: &str) -> Result<()> {
    if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_err() || is_listening(port) {
        bail!(
            "cannot start {service}: port {port} on 127.0.0.1 is already in use \
             (another instance still running? `ss -ltnp 'sport = :{port}'` shows who holds it)"
        );
    }
    Ok(())
}

/// True when a TCP connection to `127.0.0.1:port` succeeds.
pub fn is_listening(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
}

/// Whether `port` stops answering within `within`. A stopped process group's members close
/// their sockets as they die, a few milliseconds after the group leader was reaped.
pub fn closes_within(port: u16, within: Duration) -> bool {
    let deadline = std::time::Instant::now() + within;
    while is_listening(port) {
        if std::time::Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_picked_port_is_free_and_a_bound_one_is_refused() {
        let port = pick_free_port().unwrap();
        assert_ne!(port, 0);
        ensure_port_free(port, "test").unwrap();

        let _holder = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).unwrap();
        let err = ensure_port_free(port, "test").unwrap_err().to_string();
        assert!(err.contains("already in use"), "{err}");
        assert!(is_listening(port));
    }

    #[test]
    fn picked_ports_are_below_the_ephemeral_range() {
        let start = ephemeral_range_start();
        for _ in 0..50 {
            let port = pick_free_port().unwrap();
            assert!(
                (PICK_FROM..start).contains(&port),
                "{port} is not in {PICK_FROM}..{start}"
            );
        }
    }

    #[test]
    fn zero_means_pick() {
        assert_ne!(resolve_port(0).unwrap(), 0);
        assert_eq!(resolve_port(4566).unwrap(), 4566);
    }
}
