//! Loopback ports: picking a free one, and refusing to start on a busy one.
//!
//! Tests run side by side and other engineers' servers run on the same machine, so nothing here
//! assumes a fixed port is free: a port is either asked of the kernel (bind to port 0) or checked
//! before a service is started on it. A service that fails to bind often keeps running and
//! answers nothing (LocalStack does), which is far harder to diagnose than a clear refusal.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use anyhow::{Context, Result, bail};

/// A port on 127.0.0.1 that was free a moment ago.
///
/// The listener is closed before returning, so another process may take the port before the
/// caller's service binds it; that window is small and the service then fails loudly.
pub fn pick_free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("binding 127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
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
    fn zero_means_pick() {
        assert_ne!(resolve_port(0).unwrap(), 0);
        assert_eq!(resolve_port(4566).unwrap(), 4566);
    }
}
