//! Memory after a burst, on the real `bayar` binary: what a burst of client connections took
//! goes back to the system once they close, instead of staying with the process for every
//! later request (glibc's malloc kept it: 285 MiB held through a whole benchmark run).

#![cfg(target_os = "linux")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Connections in the burst: each keeps its buffers while it is open (about 20 KiB).
const BURST: usize = 2000;

/// The server's resident memory, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|kib| kib.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/<pid>/status")
}

/// `bayar serve` on a fresh SQLite file, killed when dropped.
struct Server {
    child: Child,
    addr: String,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = format!("127.0.0.1:{port}");
        let url = format!("sqlite:{}", dir.path().join("bayar.db").display());
        let child = Command::new(env!("CARGO_BIN_EXE_bayar"))
            .args(["serve", "--database-url", &url, "--listen", &addr])
            .env_remove("DATABASE_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let server = Server {
            child,
            addr,
            _dir: dir,
        };
        let started = Instant::now();
        while server.healthz().is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "bayar serve did not answer"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// A keep-alive connection that has had one `GET /healthz` answered.
    fn healthz(&self) -> std::io::Result<TcpStream> {
        let mut conn = TcpStream::connect(&self.addr)?;
        conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: bayar\r\n\r\n")?;
        let mut reader = BufReader::new(conn.try_clone()?);
        let mut next_line = || {
            let mut line = String::new();
            match reader.read_line(&mut line)? {
                0 => Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof)),
                _ => Ok(line),
            }
        };
        let status = next_line()?;
        assert!(status.starts_with("HTTP/1.1 200"), "{status}");
        let mut length = 0;
        loop {
            let line = next_line()?;
            if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = value.trim().parse().unwrap();
            }
            if line == "\r\n" {
                break;
            }
        }
        reader.read_exact(&mut vec![0; length])?;
        Ok(conn)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn memory_a_burst_of_connections_took_goes_back_once_they_close() {
    let server = Server::start();
    let pid = server.child.id();
    let before = rss_kib(pid);

    let burst: Vec<TcpStream> = (0..BURST).map(|_| server.healthz().unwrap()).collect();
    let open = rss_kib(pid);
    let took = open.saturating_sub(before);
    assert!(
        took > 10 * 1024,
        "{BURST} open connections should hold well over 10 MiB (took {took} KiB)"
    );
    drop(burst);

    // Given back within seconds; the bound only keeps a broken build from hanging the suite.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut now = rss_kib(pid);
    while now > before + took / 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        now = rss_kib(pid);
    }
    assert!(
        now <= before + took / 2,
        "after the burst closed bayar still holds {now} KiB (before it {before}, with it open {open})"
    );
}
