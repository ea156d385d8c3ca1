//! Callers' mistakes: each gets a 4xx problem, never a 500, and changes nothing.

use reqwest::Method;
use reqwest::header::CONTENT_TYPE;
use serde_json::json;

use crate::app::{TOKEN, TestApp};

/// An org with one tenant, so refused writes have something to damage.
async fn populated() -> TestApp {
    let app = TestApp::start().await;
    app.org("signstack").await;
    app.tenant("signstack", "acme").await;
    app
}

#[tokio::test]
async fn malformed_bodies_are_refused_without_effect() {
    let app = populated().await;
    let before = app.visible_state().await;
    let tenants = "/v1/orgs/signstack/tenants";
    // (path, body, code, field)
    let cases: Vec<(&str, String, &str, Option<&str>)> = vec![
        (
            "/v1/orgs",
            r#"{"key": "new-org", "name": "#.into(),
            "malformed_json",
            None,
        ),
        (
            "/v1/orgs",
            r#"{"key": "new-org", "name": "N"} trailing"#.into(),
            "malformed_json",
            None,
        ),
        ("/v1/orgs", "".into(), "malformed_json", None),
        ("/v1/orgs", "[]".into(), "malformed_json", None),
        (
            "/v1/orgs",
            r#"{"key": 5, "name": "N"}"#.into(),
            "malformed_json",
            Some("key"),
        ),
        (
            "/v1/orgs",
            r#"{"key": "new-org"}"#.into(),
            "malformed_json",
            None,
        ),
        (
            "/v1/orgs",
            r#"{"key": "new-org", "name": "N", "admin": true}"#.into(),
            "malformed_json",
            Some("admin"),
        ),
        (
            tenants,
            r#"{"key": "new", "name": "N", "namespaces": [{"key": "new-live", "mode": "prod"}]}"#
                .into(),
            "malformed_json",
            Some("namespaces[0].mode"),
        ),
        (
            tenants,
            r#"{"key": "new", "name": "N", "owner": {"userId": "u"}}"#.into(),
            "malformed_json",
            Some("owner"),
        ),
        (
            tenants,
            r#"{"key": "new", "name": "N", "metadata": {"tier": 1}}"#.into(),
            "malformed_json",
            Some("metadata.tier"),
        ),
        (
            tenants,
            r#"{"key": "new", "name": "N", "metadata": []}"#.into(),
            "malformed_json",
            Some("metadata"),
        ),
    ];
    for (path, body, code, field) in cases {
        let reply = app
            .send(
                app.request(Method::POST, path)
                    .header(CONTENT_TYPE, "application/json")
                    .body(body.clone()),
            )
            .await;
        let problem = reply.expect_problem(400, code);
        assert_eq!(problem["field"].as_str(), field, "{body}: {problem:#}");
        let detail = problem["detail"].as_str().unwrap();
        for internal in ["Body", "struct", "adapters_http", "serde"] {
            assert!(
                !detail.contains(internal),
                "{body}: {detail:?} names {internal:?}"
            );
        }
    }
    let not_utf8 = app
        .send(
            app.request(Method::POST, "/v1/orgs")
                .header(CONTENT_TYPE, "application/json")
                .body(b"{\"key\": \"\xff\xfe\", \"name\": \"N\"}".to_vec()),
        )
        .await;
    not_utf8.expect_problem(400, "malformed_json");
    assert_eq!(app.visible_state().await, before);
}

#[tokio::test]
async fn bodies_must_be_sent_as_json() {
    let app = populated().await;
    let before = app.visible_state().await;
    let body = json!({"key": "new-org", "name": "N"}).to_string();
    let no_type = app.request(Method::POST, "/v1/orgs").body(body.clone());
    app.send(no_type)
        .await
        .expect_problem(415, "unsupported_media_type");
    let text = app
        .request(Method::POST, "/v1/orgs")
        .header(CONTENT_TYPE, "text/plain")
        .body(body.clone());
    app.send(text)
        .await
        .expect_problem(415, "unsupported_media_type");
    let merge_patch_on_post = app
        .request(Method::POST, "/v1/orgs")
        .header(CONTENT_TYPE, "application/merge-patch+json")
        .body(body);
    app.send(merge_patch_on_post)
        .await
        .expect_problem(415, "unsupported_media_type");
    assert_eq!(app.visible_state().await, before);
}

/// `{"key": "big", "name": "N", "pad": "xxx…"}` of more than 1 MiB.
fn oversized_body() -> String {
    format!(
        r#"{{"key": "big-org", "name": "N", "pad": "{}"}}"#,
        "x".repeat((1 << 20) + 1)
    )
}

#[tokio::test]
async fn bodies_over_one_mebibyte_are_refused_with_413() {
    let app = populated().await;
    let before = app.visible_state().await;
    let reply = app
        .send(
            app.request(Method::POST, "/v1/orgs")
                .header(CONTENT_TYPE, "application/json")
                .body(oversized_body()),
        )
        .await;
    reply.expect_problem(413, "payload_too_large");
    assert_eq!(app.visible_state().await, before);
}

#[tokio::test]
async fn chunked_bodies_over_one_mebibyte_are_cut_off_with_413() {
    let app = populated().await;
    let before = app.visible_state().await;
    // No Content-Length: only reading the body can find out that it is too long.
    // A plain blocking socket, since the HTTP client always sends a length.
    let addr = app.url("").trim_start_matches("http://").to_owned();
    let response = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        let head = format!(
            "POST /v1/orgs HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {TOKEN}\r\n\
             Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\
             Connection: close\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).unwrap();
        for chunk in oversized_body().as_bytes().chunks(64 * 1024) {
            let framed = [format!("{:x}\r\n", chunk.len()).as_bytes(), chunk, b"\r\n"].concat();
            if stream.write_all(&framed).is_err() {
                break; // the server may stop reading once it has refused the body
            }
        }
        let _ = stream.write_all(b"0\r\n\r\n");
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response);
        response
    })
    .await
    .unwrap();
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(response.contains("application/problem+json"), "{response}");
    assert!(
        response.contains("\"code\":\"payload_too_large\""),
        "{response}"
    );
    assert_eq!(app.visible_state().await, before);
}

#[tokio::test]
async fn a_body_announced_over_one_mebibyte_is_refused_before_it_is_sent() {
    let app = populated().await;
    let addr = app.url("").trim_start_matches("http://").to_owned();
    let response = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        // Only a guard against hanging if the server waited for the body.
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(30)))
            .unwrap();
        let head = format!(
            "POST /v1/orgs HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {TOKEN}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            (1 << 20) + 1
        );
        stream.write_all(head.as_bytes()).unwrap();
        let mut response = vec![0; 4096];
        let n = stream.read(&mut response).unwrap_or(0);
        String::from_utf8_lossy(&response[..n]).into_owned()
    })
    .await
    .unwrap();
    assert!(response.starts_with("HTTP/1.1 413"), "{response:?}");
    assert!(response.contains("application/problem+json"), "{response}");
}

#[tokio::test]
async fn a_wrong_method_is_405_with_the_allowed_ones() {
    let app = populated().await;
    let before = app.visible_state().await;
    let cases = [
        (Method::DELETE, "/v1/orgs", "GET,HEAD,POST"),
        (Method::PUT, "/v1/orgs/signstack", "GET,HEAD,PATCH"),
        (
            Method::GET,
            "/v1/orgs/signstack/tenants/acme/suspend",
            "POST",
        ),
        (Method::POST, "/v1/regions", "GET,HEAD"),
        (Method::POST, "/healthz", "GET,HEAD"),
    ];
    for (method, path, allowed) in cases {
        let reply = app.send(app.request(method.clone(), path)).await;
        reply.expect_problem(405, "method_not_allowed");
        let mut allow: Vec<&str> = reply
            .header("allow")
            .unwrap_or_default()
            .split(',')
            .collect();
        allow.sort_unstable();
        assert_eq!(allow.join(","), allowed, "{method} {path}");
    }
    assert_eq!(app.visible_state().await, before);
}

#[tokio::test]
async fn admin_endpoints_need_the_admin_token() {
    let app = populated().await;
    let before = app.visible_state().await;
    let body = json!({"key": "new-org", "name": "N"});
    let attempts = [
        app.anonymous(Method::POST, "/v1/orgs").json(&body),
        app.anonymous(Method::POST, "/v1/orgs")
            .bearer_auth("wrong-token")
            .json(&body),
        app.anonymous(Method::POST, "/v1/orgs")
            .bearer_auth(&TOKEN[..TOKEN.len() - 1])
            .json(&body),
        app.anonymous(Method::POST, "/v1/orgs")
            .header("authorization", format!("Basic {TOKEN}"))
            .json(&body),
        app.anonymous(Method::POST, "/v1/orgs")
            .header("authorization", "Bearer")
            .json(&body),
        app.anonymous(Method::GET, "/v1/tenants"),
        app.anonymous(Method::POST, "/v1/orgs/signstack/tenants/acme/deactivate")
            .json(&json!({"reason": "x"})),
    ];
    for attempt in attempts {
        let reply = app.send(attempt).await;
        reply.expect_problem(401, "unauthorized");
        assert_eq!(reply.header("www-authenticate"), Some("Bearer"));
        assert!(!reply.text.contains(TOKEN));
    }
    assert_eq!(app.visible_state().await, before);
}

#[tokio::test]
async fn unknown_routes_and_unknown_resources_are_404() {
    let app = populated().await;
    let before = app.visible_state().await;
    let paths = [
        "/v1/nope",
        "/nope",
        "/v1/orgs/signstack/tenants/acme/explode",
        "/v1/orgs/nowhere",
        "/v1/orgs/Not%20A%20Key",
        "/v1/orgs/signstack/tenants/nobody",
        "/v1/orgs/signstack/tenants/UPPER",
        "/v1/orgs/signstack/tenants/acme/namespaces/missing",
        "/v1/orgs/%FF%FE",
    ];
    for path in paths {
        app.get(path).await.expect_problem(404, "not_found");
    }
    let anonymous = app.send(app.anonymous(Method::GET, "/v1/nope")).await;
    anonymous.expect_problem(404, "not_found");
    assert_eq!(app.visible_state().await, before);
}

#[tokio::test]
async fn requests_without_a_body_where_one_is_needed_are_refused() {
    let app = populated().await;
    let before = app.visible_state().await;
    let reply = app
        .send(app.request(Method::POST, "/v1/orgs/signstack/tenants/acme/suspend"))
        .await;
    reply.expect_problem(415, "unsupported_media_type");
    assert_eq!(app.visible_state().await, before);
}
