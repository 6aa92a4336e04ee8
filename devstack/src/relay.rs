//! A TCP relay between a worker and the Temporal server whose connections a test can cut: how a
//! test makes a kept-alive connection die while the environment holding it is frozen, as a
//! load balancer's idle timeout or a server restart does to a Lambda environment between
//! invocations.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

pub struct Relay {
    address: SocketAddr,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accepting: JoinHandle<()>,
}

impl Relay {
    /// Listens on a free loopback port and forwards every connection to `target`.
    pub async fn start(target: String) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let address = listener.local_addr()?;
        let connections: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let accepting = tokio::spawn({
            let connections = connections.clone();
            async move {
                while let Ok((mut inbound, _)) = listener.accept().await {
                    let target = target.clone();
                    let forward = tokio::spawn(async move {
                        if let Ok(mut outbound) = TcpStream::connect(&target).await {
                            let _ =
                                tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        }
                    });
                    connections.lock().unwrap().push(forward);
                }
            }
        });
        Ok(Self {
            address,
            connections,
            accepting,
        })
    }

    /// `host:port` to give the worker instead of the server's.
    pub fn address(&self) -> String {
        self.address.to_string()
    }

    /// Closes every connection open now (both ends see the socket close); new ones are relayed.
    /// Returns how many were cut.
    pub fn cut(&self) -> usize {
        let open: Vec<_> = std::mem::take(&mut *self.connections.lock().unwrap());
        let count = open.iter().filter(|c| !c.is_finished()).count();
        for connection in open {
            connection.abort();
        }
        count
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.accepting.abort();
        self.cut();
    }
}
