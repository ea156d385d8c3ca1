//! The baseline: a bare axum server answering the two benchmarked routes with
//! fixed bodies of exactly the size Tenancy answers with. Whatever Tenancy does
//! beyond this (authentication, verification, the cache) is what the ratio
//! measures. It is served the way `tenancy serve` serves (hyper with the same
//! header-read timeout, connection limit, request timeout and in-flight limit,
//! at their defaults), so that serving costs the same on both sides.

use std::path::PathBuf;

use adapters_http::{ConnectionLimits, RequestLimits, serve};
use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::routing::{get, post};
use bytes::Bytes;

pub struct Options {
    verify_body: PathBuf,
    namespace_body: PathBuf,
}

impl Options {
    pub fn parse(args: &[String]) -> Result<Self, String> {
        let (mut verify_body, mut namespace_body) = (None, None);
        for (name, value) in crate::flags(args)? {
            match name {
                "verify-body" => verify_body = Some(PathBuf::from(value)),
                "namespace-body" => namespace_body = Some(PathBuf::from(value)),
                other => return Err(format!("unknown option --{other}")),
            }
        }
        Ok(Self {
            verify_body: verify_body.ok_or("--verify-body is required")?,
            namespace_body: namespace_body.ok_or("--namespace-body is required")?,
        })
    }
}

pub fn run(options: Options) -> Result<(), String> {
    let read = |path: &PathBuf| {
        std::fs::read(path)
            .map(Bytes::from)
            .map_err(|e| format!("reading {}: {e}", path.display()))
    };
    let verify = read(&options.verify_body)?;
    let namespace = read(&options.namespace_body)?;
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let app =
            Router::new()
                .route(
                    "/v1/keys/verify",
                    post(move |_body: Bytes| async move {
                        ([(CONTENT_TYPE, "application/json")], verify)
                    }),
                )
                .route(
                    "/v1/namespace",
                    get(move || async move { ([(CONTENT_TYPE, "application/json")], namespace) }),
                )
                .layer(RequestLimits::default().layer());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| e.to_string())?;
        let address = listener.local_addr().map_err(|e| e.to_string())?;
        // The parent reads this line, as it reads Tenancy's log line.
        eprintln!("listening on {address}");
        serve(
            listener,
            app,
            ConnectionLimits::default(),
            std::future::pending(),
        )
        .await;
        Ok(())
    })
}
