//! A minimal HTTP/1.1 client over one kept-alive connection: the least the
//! generator can add to each request, and the same for every server measured.

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpStream;

pub struct Connection {
    sender: SendRequest<Full<Bytes>>,
}

/// One request to send, prepared ahead so preparing it is not measured.
#[derive(Clone)]
pub struct Call {
    pub method: Method,
    pub uri: Uri,
    pub bearer: Option<HeaderValue>,
    /// An `x-request-id` to send, which Tenancy keeps and records.
    pub request_id: Option<HeaderValue>,
    pub body: Bytes,
}

impl Connection {
    pub async fn open(address: SocketAddr) -> Result<Self, String> {
        let stream = TcpStream::connect(address)
            .await
            .map_err(|e| format!("connecting to {address}: {e}"))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(connection);
        Ok(Self { sender })
    }

    /// Sends `call` and reads the whole answer.
    pub async fn send(&mut self, call: &Call) -> Result<(StatusCode, Bytes), String> {
        let mut request = Request::builder()
            .method(call.method.clone())
            .uri(call.uri.clone())
            .header(HOST, "localhost");
        if !call.body.is_empty() {
            request = request.header(CONTENT_TYPE, "application/json");
        }
        if let Some(bearer) = &call.bearer {
            request = request.header(AUTHORIZATION, bearer.clone());
        }
        if let Some(id) = &call.request_id {
            request = request.header("x-request-id", id.clone());
        }
        let request = request
            .body(Full::new(call.body.clone()))
            .map_err(|e| e.to_string())?;
        self.sender.ready().await.map_err(|e| e.to_string())?;
        let response = self
            .sender
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok((status, body))
    }
}

impl Call {
    pub fn json(
        method: Method,
        path: &str,
        bearer: Option<&str>,
        body: &serde_json::Value,
    ) -> Self {
        Self {
            method,
            uri: Uri::try_from(path).expect("a valid path"),
            bearer: bearer
                .map(|b| HeaderValue::from_str(&format!("Bearer {b}")).expect("a valid header")),
            request_id: None,
            body: if body.is_null() {
                Bytes::new()
            } else {
                Bytes::from(body.to_string())
            },
        }
    }

    /// The same call, sent with `x-request-id: id`.
    pub fn with_request_id(mut self, id: &str) -> Self {
        self.request_id = Some(HeaderValue::from_str(id).expect("a valid request id"));
        self
    }
}

/// The JSON body of an answer that must be `201 Created`; `what` names the
/// request in the error.
pub fn created((status, body): (StatusCode, Bytes), what: &str) -> Result<Value, String> {
    expect((status, body), StatusCode::CREATED, what)
}

/// The JSON body of an answer that must be `200 OK`.
pub fn expect_ok((status, body): (StatusCode, Bytes), what: &str) -> Result<Value, String> {
    expect((status, body), StatusCode::OK, what)
}

fn expect(
    (status, body): (StatusCode, Bytes),
    expected: StatusCode,
    what: &str,
) -> Result<Value, String> {
    if status != expected {
        return Err(format!(
            "{what}: expected {expected}, got {status}: {}",
            String::from_utf8_lossy(&body)
        ));
    }
    serde_json::from_slice(&body).map_err(|e| format!("{what}: {e}"))
}
