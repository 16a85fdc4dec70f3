//! A lean HTTP/1.1 keep-alive client for load generation.
//!
//! The load generator shares the machine's two cores with the servers it measures, so every
//! microsecond it spends per request is taken from them. A general client (reqwest: URL parsing,
//! pooling, redirects, header maps) cost about 50 µs of CPU per request here; this one writes the
//! request bytes and reads one response on a single connection, with `httparse` for the head,
//! the way wrk and similar tools do.

use std::net::SocketAddr;

use anyhow::Context;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One kept-alive connection; requests go one at a time.
pub struct Connection {
    stream: TcpStream,
    host: String,
    request: Vec<u8>,
    buf: Vec<u8>,
}

impl Connection {
    /// Connects to `addr` (an `http://host:port` base URL or `host:port`).
    pub async fn open(base_url: &str) -> anyhow::Result<Connection> {
        let host = base_url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let addr: SocketAddr = host
            .parse()
            .with_context(|| format!("load client needs ip:port, got {host}"))?;
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Connection {
            stream,
            host,
            request: Vec::with_capacity(4096),
            buf: Vec::with_capacity(4096),
        })
    }

    /// Sends `method path` with `headers` and `body`; returns the status code once the whole
    /// response (head and `Content-Length` body) has been read.
    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> anyhow::Result<u16> {
        self.request.clear();
        self.request.extend_from_slice(method.as_bytes());
        self.request.push(b' ');
        self.request.extend_from_slice(path.as_bytes());
        self.request.extend_from_slice(b" HTTP/1.1\r\nHost: ");
        self.request.extend_from_slice(self.host.as_bytes());
        self.request.extend_from_slice(b"\r\nContent-Length: ");
        self.request
            .extend_from_slice(body.len().to_string().as_bytes());
        for (name, value) in headers {
            self.request.extend_from_slice(b"\r\n");
            self.request.extend_from_slice(name.as_bytes());
            self.request.extend_from_slice(b": ");
            self.request.extend_from_slice(value.as_bytes());
        }
        self.request.extend_from_slice(b"\r\n\r\n");
        self.request.extend_from_slice(body);
        self.stream.write_all(&self.request).await?;
        self.read_response().await
    }

    async fn read_response(&mut self) -> anyhow::Result<u16> {
        self.buf.clear();
        loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut response = httparse::Response::new(&mut headers);
            if let httparse::Status::Complete(head_len) = response.parse(&self.buf)? {
                let status = response.code.context("response without a status")?;
                let body_len = response
                    .headers
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                    .and_then(|h| {
                        std::str::from_utf8(h.value)
                            .ok()?
                            .trim()
                            .parse::<usize>()
                            .ok()
                    })
                    .context("response without Content-Length")?;
                let total = head_len + body_len;
                while self.buf.len() < total {
                    self.fill().await?;
                }
                anyhow::ensure!(self.buf.len() == total, "extra bytes after the response");
                return Ok(status);
            }
            self.fill().await?;
        }
    }

    async fn fill(&mut self) -> anyhow::Result<()> {
        self.buf.reserve(4096);
        let n = self.stream.read_buf(&mut self.buf).await?;
        anyhow::ensure!(n > 0, "the server closed the connection");
        Ok(())
    }
}
