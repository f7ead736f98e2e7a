//! A TCP forwarder a test can unplug: the network between a client and a server going away and
//! coming back, without touching either. Unplugged, nothing listens on its port (connections are
//! refused, as for a host that is down) and the connections it was carrying are cut.

use std::net::SocketAddr;

use anyhow::{Context, Result};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub struct TcpProxy {
    /// The port clients use; the same across unplug and plug.
    pub port: u16,
    target: String,
    running: Option<(JoinHandle<()>, watch::Sender<bool>)>,
}

impl TcpProxy {
    /// A proxy to `target` (`http://host:port` or `host:port`) on a free port, unplugged.
    pub async fn down(target: &str) -> Self {
        // Bound and released at once: the port stays free until `up` binds it again.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("no free port for the proxy: {e}"));
        Self {
            port,
            target: target
                .trim_start_matches("http://")
                .trim_end_matches('/')
                .to_owned(),
            running: None,
        }
    }

    /// A proxy to `target` that forwards from the start.
    pub async fn up_to(target: &str) -> Result<Self> {
        let mut proxy = Self::down(target).await;
        proxy.plug().await?;
        Ok(proxy)
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts forwarding (again) on the same port.
    pub async fn plug(&mut self) -> Result<()> {
        if self.running.is_some() {
            return Ok(());
        }
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], self.port)))
            .await
            .with_context(|| format!("binding the proxy's port {}", self.port))?;
        let (cut, _) = watch::channel(false);
        let target = self.target.clone();
        let cut_for_loop = cut.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                let mut cut = cut_for_loop.subscribe();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut.wait_for(|cut| *cut) => {}
                    }
                });
            }
        });
        self.running = Some((task, cut));
        Ok(())
    }

    /// Stops listening and cuts every connection it carries.
    pub fn unplug(&mut self) {
        if let Some((task, cut)) = self.running.take() {
            task.abort();
            let _ = cut.send(true);
        }
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.unplug();
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    async fn echo_server() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (mut r, mut w) = socket.split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        addr
    }

    async fn round_trip(port: u16) -> std::io::Result<Vec<u8>> {
        let mut s = TcpStream::connect(("127.0.0.1", port)).await?;
        s.write_all(b"ping").await?;
        let mut buf = [0u8; 4];
        s.read_exact(&mut buf).await?;
        Ok(buf.to_vec())
    }

    #[tokio::test]
    async fn forwards_refuses_when_unplugged_and_cuts_live_connections() {
        let target = echo_server().await;
        let mut proxy = TcpProxy::down(&target).await;
        assert!(round_trip(proxy.port).await.is_err(), "nothing listens yet");
        proxy.plug().await.unwrap();
        assert_eq!(round_trip(proxy.port).await.unwrap(), b"ping");

        let mut live = TcpStream::connect(("127.0.0.1", proxy.port)).await.unwrap();
        live.write_all(b"ping").await.unwrap();
        let mut buf = [0u8; 4];
        live.read_exact(&mut buf).await.unwrap();
        proxy.unplug();
        // The carried connection ends: a read sees EOF or an error, never more data.
        let mut rest = Vec::new();
        let read = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            live.read_to_end(&mut rest),
        )
        .await
        .expect("the cut connection must end");
        assert!(read.is_err() || rest.is_empty());
        assert!(round_trip(proxy.port).await.is_err(), "unplugged refuses");

        proxy.plug().await.unwrap();
        assert_eq!(round_trip(proxy.port).await.unwrap(), b"ping");
    }
}
