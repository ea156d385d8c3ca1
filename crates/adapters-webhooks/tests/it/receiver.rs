//! Receivers on 127.0.0.1 for the sender to talk to: an axum app that keeps
//! every request it gets and answers as told, and a raw TCP listener for
//! answers no HTTP framework would give.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Captured {
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Captured {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("the request has no `{name}` header"))
            .to_str()
            .expect("a visible ASCII header")
    }
}

/// How the receiver answers every request.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
    /// How long it waits before answering.
    pub delay: Duration,
}

impl Reply {
    pub fn status(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            delay: Duration::ZERO,
        }
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

struct Shared {
    captured: Mutex<Vec<Captured>>,
    reply: Reply,
}

/// An axum receiver on a free loopback port, serving until the test's runtime
/// ends.
pub struct Receiver {
    pub address: SocketAddr,
    shared: Arc<Shared>,
}

impl Receiver {
    pub async fn start(reply: Reply) -> Self {
        let shared = Arc::new(Shared {
            captured: Mutex::new(Vec::new()),
            reply,
        });
        let app = Router::new()
            .fallback(receive)
            .with_state(Arc::clone(&shared));
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let address = listener.local_addr().expect("the bound address");
        tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("the receiver serves");
        });
        Self { address, shared }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub fn captured(&self) -> Vec<Captured> {
        self.shared.captured.lock().expect("not poisoned").clone()
    }

    /// The one request it got.
    pub fn only(&self) -> Captured {
        let captured = self.captured();
        assert_eq!(captured.len(), 1, "expected exactly one request");
        captured.into_iter().next().expect("one request")
    }
}

async fn receive(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    shared
        .captured
        .lock()
        .expect("not poisoned")
        .push(Captured { headers, body });
    let reply = &shared.reply;
    tokio::time::sleep(reply.delay).await;
    let mut response = Response::new(Body::from(reply.body.clone()));
    *response.status_mut() = StatusCode::from_u16(reply.status).expect("a valid status");
    for (name, value) in &reply.headers {
        response.headers_mut().insert(
            HeaderName::from_static(name),
            HeaderValue::from_str(value).expect("a header value"),
        );
    }
    response
}

/// A TCP listener on a free loopback port that, for each connection, reads
/// the request's head and then writes `answer`, byte for byte.
pub async fn raw(answer: &'static [u8]) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let address = listener.local_addr().expect("the bound address");
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            read_head(&mut stream).await;
            let _ = stream.write_all(answer).await;
            let _ = stream.shutdown().await;
        }
    });
    address
}

/// A receiver whose answer is `200` with a body of `total` bytes, written in
/// 64 KiB pieces until the client stops reading; it counts what it managed to
/// write and says when it is done.
pub struct Streamer {
    pub address: SocketAddr,
    pub written: Arc<AtomicU64>,
    pub done: Arc<AtomicBool>,
}

impl Streamer {
    pub async fn start(total: u64) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let address = listener.local_addr().expect("the bound address");
        let written = Arc::new(AtomicU64::new(0));
        let done = Arc::new(AtomicBool::new(false));
        let (count, finished) = (Arc::clone(&written), Arc::clone(&done));
        tokio::spawn(async move {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            read_head(&mut stream).await;
            let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {total}\r\n\r\n");
            if stream.write_all(head.as_bytes()).await.is_ok() {
                let piece = vec![b'x'; 64 * 1024];
                while count.load(Ordering::SeqCst) < total {
                    if stream.write_all(&piece).await.is_err() {
                        break;
                    }
                    count.fetch_add(piece.len() as u64, Ordering::SeqCst);
                }
            }
            finished.store(true, Ordering::SeqCst);
        });
        Self {
            address,
            written,
            done,
        }
    }
}

/// Reads until the end of a request's head and its `content-length` body, so
/// the client is not answered before it has finished sending.
async fn read_head(stream: &mut tokio::net::TcpStream) {
    let mut seen = Vec::new();
    let mut buffer = [0_u8; 4096];
    loop {
        let Ok(read) = stream.read(&mut buffer).await else {
            return;
        };
        if read == 0 {
            return;
        }
        seen.extend_from_slice(&buffer[..read]);
        if let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&seen[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .and_then(|value| value.trim().parse().ok())
                .unwrap_or(0);
            if seen.len() >= end + 4 + length {
                return;
            }
        }
    }
}
