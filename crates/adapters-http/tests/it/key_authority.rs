//! Who may rotate or revoke which key, over HTTP, for every pair of caller and
//! target: the admin token, org keys with and without an expiry, and namespace
//! keys by role, scope list, resource restriction and expiry, each aimed at every
//! kind of key and at itself.
//!
//! The expected outcome comes from the rule as this file states it, in sets of
//! scope names and timestamps read from the creation responses, not from the
//! domain's own check: a caller may rotate or revoke its own key, or a key whose
//! scopes its scopes include, whose resources lie within its resources and whose
//! expiry is no later than its own; org keys hold no scopes and reach every key of
//! their org, but their expiry bounds them all the same; the admin token reaches
//! everything. A refused call must change nothing: the target still works as it
//! did and no key was added.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::app::{Reply, TestApp, key_id_of, secret_of, time};

/// Where a key lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Org,
    Namespace,
}

/// A key as the matrix creates it.
#[derive(Debug, Clone, Copy)]
struct Spec {
    name: &'static str,
    kind: Kind,
    role: Option<&'static str>,
    scopes: &'static [&'static str],
    resources: Option<&'static [&'static str]>,
    /// From now; `None`: never expires.
    expires_in: Option<Duration>,
}

const fn org(name: &'static str, expires_in: Option<Duration>) -> Spec {
    Spec {
        name,
        kind: Kind::Org,
        role: None,
        scopes: &[],
        resources: None,
        expires_in,
    }
}

const fn namespace(
    name: &'static str,
    role: Option<&'static str>,
    scopes: &'static [&'static str],
    resources: Option<&'static [&'static str]>,
    expires_in: Option<Duration>,
) -> Spec {
    Spec {
        name,
        kind: Kind::Namespace,
        role,
        scopes,
        resources,
        expires_in,
    }
}

const HALF_HOUR: Duration = Duration::minutes(30);
const HOUR: Duration = Duration::hours(1);
const TWO_HOURS: Duration = Duration::hours(2);
const DAY: Duration = Duration::days(1);

/// Every kind of key the matrix puts on both sides.
fn specs() -> Vec<Spec> {
    vec![
        org("org key", None),
        org("org key for two hours", Some(TWO_HOURS)),
        namespace("admin", Some("admin"), &[], None, None),
        namespace("admin for an hour", Some("admin"), &[], None, Some(HOUR)),
        namespace(
            "admin of two resources",
            Some("admin"),
            &[],
            Some(&["doc_a", "doc_b"]),
            None,
        ),
        namespace("member", Some("member"), &[], None, None),
        namespace("key writer", None, &["keys:read", "keys:write"], None, None),
        // The key of the reported attack.
        namespace(
            "key writer of one resource for an hour",
            None,
            &["keys:write"],
            Some(&["doc_a"]),
            Some(HOUR),
        ),
        namespace(
            "key writer of two resources for a day",
            None,
            &["tenant:read", "keys:read", "keys:write"],
            Some(&["doc_a", "doc_b"]),
            Some(DAY),
        ),
        namespace(
            "reader of one resource for half an hour",
            None,
            &["tenant:read"],
            Some(&["doc_a"]),
            Some(HALF_HOUR),
        ),
        namespace(
            "key reader for half an hour",
            None,
            &["keys:read"],
            None,
            Some(HALF_HOUR),
        ),
    ]
}

/// A key that exists: what its creation answered.
#[derive(Debug, Clone)]
struct Key {
    kind: Kind,
    id: String,
    secret: String,
    scopes: BTreeSet<String>,
    resources: Option<BTreeSet<String>>,
    expires_at: Option<DateTime<Utc>>,
}

impl Key {
    fn of(kind: Kind, created: &Value) -> Self {
        let key = &created["apiKey"];
        let strings = |v: &Value| -> BTreeSet<String> {
            v.as_array()
                .expect("an array")
                .iter()
                .map(|s| s.as_str().expect("a string").to_owned())
                .collect()
        };
        Self {
            kind,
            id: key_id_of(created),
            secret: secret_of(created),
            scopes: strings(&key["scopes"]),
            resources: (!key["resources"].is_null()).then(|| strings(&key["resources"])),
            expires_at: (!key["expiresAt"].is_null()).then(|| time(&key["expiresAt"])),
        }
    }
}

/// Who calls.
#[derive(Debug, Clone, Copy)]
enum Caller {
    AdminToken,
    Key(Spec),
}

/// What is aimed at.
#[derive(Debug, Clone, Copy)]
enum Target {
    Key(Spec),
    /// The calling key itself.
    Itself,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Rotate,
    Revoke,
}

/// What a call should answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Done,
    Refused(u16, &'static str),
}

/// The rule, stated on its own. `caller` is `None` for the admin token.
fn expected(caller: Option<&Key>, target: &Key, itself: bool) -> Outcome {
    let Some(caller) = caller else {
        return Outcome::Done;
    };
    let expiry_covered = match (caller.expires_at, target.expires_at) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(mine), Some(theirs)) => theirs <= mine,
    };
    match caller.kind {
        Kind::Org => {
            if itself || expiry_covered {
                Outcome::Done
            } else {
                Outcome::Refused(403, "scope_escalation")
            }
        }
        Kind::Namespace => {
            if !caller.scopes.contains("keys:write") {
                return Outcome::Refused(403, "missing_scope");
            }
            if target.kind == Kind::Org {
                // Not in the caller's namespace: as if it did not exist.
                return Outcome::Refused(404, "not_found");
            }
            let scopes_covered = target.scopes.is_subset(&caller.scopes);
            let resources_covered = match (&caller.resources, &target.resources) {
                (None, _) => true,
                (Some(_), None) => false,
                (Some(mine), Some(theirs)) => theirs.is_subset(mine),
            };
            if itself || (scopes_covered && resources_covered && expiry_covered) {
                Outcome::Done
            } else {
                Outcome::Refused(403, "scope_escalation")
            }
        }
    }
}

/// One cell of the matrix, in an org and tenant of its own.
struct Cell<'a> {
    app: &'a TestApp,
    org: String,
    namespace_keys: String,
}

impl Cell<'_> {
    async fn new(app: &TestApp, n: usize) -> Cell<'_> {
        let org = format!("org-{n}");
        app.org(&org).await;
        // Tenant keys are unique across orgs.
        let tenant = format!("tenant-{n}");
        app.tenant(&org, &tenant).await;
        Cell {
            app,
            namespace_keys: format!(
                "/v1/orgs/{org}/tenants/{tenant}/namespaces/{tenant}-live/api-keys"
            ),
            org,
        }
    }

    fn org_keys(&self) -> String {
        format!("/v1/orgs/{}/api-keys", self.org)
    }

    /// Creates `spec` with the admin token.
    async fn create(&self, spec: &Spec) -> Key {
        let mut body = json!({"name": spec.name});
        if let Some(expires_in) = spec.expires_in {
            body["expiresAt"] = json!((self.app.now() + expires_in).to_rfc3339());
        }
        let path = match spec.kind {
            Kind::Org => self.org_keys(),
            Kind::Namespace => {
                match spec.role {
                    Some(role) => body["role"] = json!(role),
                    None => body["scopes"] = json!(spec.scopes),
                }
                if let Some(resources) = spec.resources {
                    body["resources"] = json!(resources);
                }
                self.namespace_keys.clone()
            }
        };
        Key::of(spec.kind, &self.app.post(&path, &body).await.expect(201))
    }

    /// Every key of the org and of the namespace: id, expiry and revocation.
    async fn keys(&self) -> BTreeSet<(String, String, String)> {
        let mut all = self.app.all_pages(&self.org_keys()).await;
        all.extend(self.app.all_pages(&self.namespace_keys).await);
        all.iter()
            .map(|k| {
                (
                    k["id"].as_str().expect("an id").to_owned(),
                    k["expiresAt"].to_string(),
                    k["revokedAt"].to_string(),
                )
            })
            .collect()
    }

    /// The path `caller` uses for `target`.
    fn path(&self, caller: Option<&Key>, target: &Key) -> String {
        match (caller.map(|c| c.kind), target.kind) {
            (Some(Kind::Namespace), _) => format!("/v1/namespace/api-keys/{}", target.id),
            (_, Kind::Org) => format!("{}/{}", self.org_keys(), target.id),
            (_, Kind::Namespace) => format!("{}/{}", self.namespace_keys, target.id),
        }
    }

    async fn call(&self, caller: Option<&Key>, op: Op, path: &str) -> Reply {
        let app = self.app;
        let (method, path, body) = match op {
            Op::Rotate => (
                reqwest::Method::POST,
                format!("{path}/rotate"),
                Some(json!({"gracePeriodSeconds": 3600})),
            ),
            Op::Revoke => (reqwest::Method::DELETE, path.to_owned(), None),
        };
        let request = match caller {
            Some(key) => app.request_as(&key.secret, method, &path),
            None => app.request(method, &path),
        };
        let request = match body {
            Some(body) => request.json(&body),
            None => request,
        };
        app.send(request).await
    }
}

/// A reply's status and problem code, without its body (which may hold a secret).
fn summary(reply: &Reply) -> String {
    let code = serde_json::from_str::<Value>(&reply.text)
        .ok()
        .and_then(|body| body["code"].as_str().map(str::to_owned))
        .unwrap_or_default();
    format!("{} {code}", reply.status.as_u16())
}

fn describe(caller: &Caller, target: &Target, op: Op) -> String {
    let caller = match caller {
        Caller::AdminToken => "the admin token",
        Caller::Key(spec) => spec.name,
    };
    let target = match target {
        Target::Key(spec) => spec.name,
        Target::Itself => "itself",
    };
    format!("{op:?} by {caller} of {target}")
}

/// Runs one cell; returns what went against the rule.
async fn check(app: &TestApp, n: usize, caller: Caller, target: Target, op: Op) -> Option<String> {
    let case = describe(&caller, &target, op);
    let cell = Cell::new(app, n).await;
    let caller_key = match caller {
        Caller::AdminToken => None,
        Caller::Key(spec) => Some(cell.create(&spec).await),
    };
    let (target_key, itself) = match (target, &caller_key) {
        (Target::Key(spec), _) => (cell.create(&spec).await, false),
        (Target::Itself, Some(key)) => (key.clone(), true),
        (Target::Itself, None) => unreachable!("the admin token is no key"),
    };
    let want = expected(caller_key.as_ref(), &target_key, itself);
    let before = cell.keys().await;
    let reply = cell
        .call(
            caller_key.as_ref(),
            op,
            &cell.path(caller_key.as_ref(), &target_key),
        )
        .await;
    let after = cell.keys().await;
    let status = reply.status.as_u16();
    match want {
        Outcome::Refused(want_status, want_code) => {
            let code = reply.json()["code"].as_str().unwrap_or_default().to_owned();
            if (status, code.as_str()) != (want_status, want_code) {
                return Some(format!(
                    "{case}: expected {want_status} {want_code}, got {}",
                    summary(&reply)
                ));
            }
            if before != after {
                return Some(format!("{case}: refused, but the keys changed"));
            }
            let verdict = app.verify(&target_key.secret).await;
            let expiry = (!verdict["expiresAt"].is_null()).then(|| time(&verdict["expiresAt"]));
            if verdict["code"] != "valid" || expiry != target_key.expires_at {
                return Some(format!("{case}: refused, but the target is now {verdict}"));
            }
            None
        }
        Outcome::Done => done(&case, op, caller_key.as_ref(), &target_key, &reply),
    }
}

/// Checks a call the rule allows: it succeeded, and a rotated key got exactly
/// the target's access and never outlives the caller.
fn done(case: &str, op: Op, caller: Option<&Key>, target: &Key, reply: &Reply) -> Option<String> {
    let status = reply.status.as_u16();
    match op {
        Op::Revoke => {
            (status != 200).then(|| format!("{case}: expected 200, got {}", summary(reply)))
        }
        Op::Rotate => {
            if status != 201 {
                return Some(format!("{case}: expected 201, got {}", summary(reply)));
            }
            let new = Key::of(target.kind, &reply.json());
            let outlives = match (caller.and_then(|c| c.expires_at), new.expires_at) {
                (Some(_), None) => true,
                (Some(mine), Some(theirs)) => theirs > mine,
                (None, _) => false,
            };
            if new.scopes != target.scopes
                || new.resources != target.resources
                || new.expires_at != target.expires_at
                || outlives
            {
                return Some(format!(
                    "{case}: the new key is {new:?}, the old {target:?}"
                ));
            }
            None
        }
    }
}

#[tokio::test]
async fn every_caller_rotates_and_revokes_exactly_the_keys_its_authority_covers() {
    let app = TestApp::start().await;
    let mut callers = vec![Caller::AdminToken];
    callers.extend(specs().into_iter().map(Caller::Key));
    let mut targets: Vec<Target> = specs().into_iter().map(Target::Key).collect();
    targets.push(Target::Itself);
    let mut wrong = Vec::new();
    let mut cells = 0;
    for caller in &callers {
        for target in &targets {
            if matches!((caller, target), (Caller::AdminToken, Target::Itself)) {
                continue;
            }
            for op in [Op::Rotate, Op::Revoke] {
                cells += 1;
                if let Some(error) = check(&app, cells, *caller, *target, op).await {
                    wrong.push(error);
                }
            }
        }
    }
    assert_eq!(cells, 2 * (11 * 12 + 11), "every pair, both ways");
    assert!(
        wrong.is_empty(),
        "{} of {cells} cells went against the rule:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[tokio::test]
async fn a_narrow_short_lived_key_cannot_rotate_the_namespace_admin_key() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    let (_, admin) = app.tenant_with_key("signstack", "acme").await;
    let keys = "/v1/orgs/signstack/tenants/acme/namespaces/acme-live/api-keys";
    let admin_before = app.verify(&admin).await;
    let admin_id = app.all_pages(keys).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let attacker = app
        .post(
            keys,
            &json!({"name": "attacker", "scopes": ["keys:write"], "resources": ["doc_a"],
                "expiresAt": (app.now() + Duration::hours(1)).to_rfc3339()}),
        )
        .await
        .expect(201);
    // Uses are recorded off the request path: compare what a call could change.
    let listed = async || {
        let mut keys = app.all_pages(keys).await;
        for key in &mut keys {
            key.as_object_mut().unwrap().remove("lastUsedAt");
        }
        keys
    };
    let before = listed().await;

    let rotation = app
        .post_as(
            &secret_of(&attacker),
            &format!("/v1/namespace/api-keys/{admin_id}/rotate"),
            &json!({"gracePeriodSeconds": 30 * 24 * 3600}),
        )
        .await;
    rotation.expect_problem(403, "scope_escalation");
    assert!(
        !rotation.text.contains("tny_"),
        "no secret: {}",
        rotation.text
    );
    assert_eq!(listed().await, before, "no key was added or changed");
    assert_eq!(
        app.verify(&admin).await,
        admin_before,
        "the admin key is as it was"
    );
    app.send(app.request_as(
        &secret_of(&attacker),
        reqwest::Method::DELETE,
        &format!("/v1/namespace/api-keys/{admin_id}"),
    ))
    .await
    .expect_problem(403, "scope_escalation");
    assert_eq!(app.verify(&admin).await["code"], "valid");
}

#[tokio::test]
async fn a_minted_key_never_outlives_the_key_that_minted_it() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    app.tenant("signstack", "acme").await;
    let keys = "/v1/orgs/signstack/tenants/acme/namespaces/acme-live/api-keys";
    let hour = app.now() + Duration::hours(1);
    let ns_minter = secret_of(
        &app.post(
            keys,
            &json!({"name": "minter", "role": "admin", "expiresAt": hour.to_rfc3339()}),
        )
        .await
        .expect(201),
    );
    let org_minter = secret_of(
        &app.post(
            "/v1/orgs/signstack/api-keys",
            &json!({"name": "minter", "expiresAt": hour.to_rfc3339()}),
        )
        .await
        .expect(201),
    );
    let soon = app.now() + Duration::minutes(10);
    let later = app.now() + Duration::days(30);
    for (minter, path) in [
        (&ns_minter, "/v1/namespace/api-keys"),
        (&org_minter, keys),
        (&org_minter, "/v1/orgs/signstack/api-keys"),
    ] {
        for (asked, gets) in [(None, hour), (Some(later), hour), (Some(soon), soon)] {
            let mut body = json!({"name": "minted"});
            if let Some(asked) = asked {
                body["expiresAt"] = json!(asked.to_rfc3339());
            }
            let created = app.post_as(minter, path, &body).await.expect(201);
            assert_eq!(
                time(&created["apiKey"]["expiresAt"]),
                gets,
                "{path} asked for {asked:?}"
            );
        }
    }
}
