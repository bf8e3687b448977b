//! A private `redis-server` for tests that stop and restart Redis (feature
//! `testing`): it listens on its own free port, so stopping it disturbs no
//! other test or app sharing the machine's Redis.

use std::io;
use std::time::Duration;

use tokio::process::{Child, Command};

/// A `redis-server` child process that keeps nothing on disk.
#[derive(Debug)]
pub struct PrivateRedis {
    port: u16,
    child: Child,
}

impl PrivateRedis {
    /// Starts one on a free port.
    ///
    /// # Errors
    /// When `redis-server` cannot be run or does not listen within 10 s.
    pub async fn start() -> io::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        Self::start_on(port).await
    }

    /// Starts one on `port` (again, after [`PrivateRedis::kill`]).
    ///
    /// # Errors
    /// When `redis-server` cannot be run or does not listen within 10 s.
    pub async fn start_on(port: u16) -> io::Result<Self> {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--loglevel", "warning"])
            .kill_on_drop(true)
            .spawn()?;
        let listening = tokio::time::timeout(Duration::from_secs(10), async {
            while tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_err()
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        listening
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "redis-server did not listen"))?;
        Ok(Self { port, child })
    }

    /// Kills it (as a crash would) and returns its port, to start again.
    ///
    /// # Errors
    /// When the process cannot be killed.
    pub async fn kill(mut self) -> io::Result<u16> {
        self.child.kill().await?;
        Ok(self.port)
    }

    /// Its URL.
    #[must_use]
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}
