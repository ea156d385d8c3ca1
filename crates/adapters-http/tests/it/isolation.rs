//! Isolation: what each kind of key reaches, generated from tables.
//!
//! Two orgs: X (`xorg`, tenant A `alpha` and a spare) and Y (`yorg`, tenant B
//! `bravo`). Three principals of X's side — X's org key, A's admin key and a key
//! of A holding only `tenant:read keys:read` — meet every endpoint family, each
//! aimed at three targets: their own object, the other side's (Y's or B's), and
//! one that does not exist. The expectations come from the rules, not from a
//! hand-written list: an admitted principal succeeds on its own object and gets
//! exactly the answer of a missing object on the other side's; a principal of the
//! wrong kind gets `403 forbidden` and a key lacking the family's scope
//! `403 missing_scope`, whatever the target. In every case the other side's
//! object is indistinguishable from a missing one.
//!
//! What a kind of principal may not do, whatever the target, is tested in
//! `privileges`.

use reqwest::Method;
use serde_json::{Value, json};

use crate::app::{Reply, TestApp, key_id_of, secret_of};

/// Names no key, org or tenant.
const NONE: &str = "01900000-0000-7000-8000-000000000000";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    OrgKeyOfX,
    AdminKeyOfA,
    /// `tenant:read keys:read` only.
    NarrowKeyOfA,
}

const NARROW: &[&str] = &["tenant:read", "keys:read"];

/// Which routes a family is on.
#[derive(Debug, Clone, Copy)]
enum Route {
    /// `/v1/orgs/...`: the admin token or an org key.
    Org,
    /// `/v1/tenant`, `/v1/namespace/...`: a namespace key with this scope.
    Own(&'static str),
}

/// One endpoint family: a method, a body, and the path aimed at each target.
/// `{fresh}` becomes a new key of A's namespace, `{fresh-org}` a new org key of
/// X, `{b-key}` B's first key, `{y-org-key}` Y's org key, `{x}`/`{y}` the orgs'
/// ids, `{none}` an id nothing has.
struct Family {
    name: &'static str,
    method: Method,
    body: Option<Value>,
    route: Route,
    mine: &'static str,
    /// `None` where the path cannot name another side's object.
    theirs: Option<(&'static str, &'static str)>,
}

fn families() -> Vec<Family> {
    use Route::{Org, Own};
    let family = |name, method, body, route, mine, theirs| Family {
        name,
        method,
        body,
        route,
        mine,
        theirs,
    };
    vec![
        family(
            "read the org",
            Method::GET,
            None,
            Org,
            "/v1/orgs/xorg",
            Some(("/v1/orgs/yorg", "/v1/orgs/zorg")),
        ),
        family(
            "read the org by id",
            Method::GET,
            None,
            Org,
            "/v1/orgs/{x}",
            Some(("/v1/orgs/{y}", "/v1/orgs/{none}")),
        ),
        family(
            "read a tenant",
            Method::GET,
            None,
            Org,
            "/v1/orgs/xorg/tenants/alpha",
            Some(("/v1/orgs/yorg/tenants/bravo", "/v1/orgs/zorg/tenants/bravo")),
        ),
        family(
            "read the other org's tenant under one's own org",
            Method::GET,
            None,
            Org,
            "/v1/orgs/xorg/tenants/alpha",
            Some((
                "/v1/orgs/xorg/tenants/bravo",
                "/v1/orgs/xorg/tenants/nobody",
            )),
        ),
        family(
            "suspend a tenant",
            Method::POST,
            Some(json!({"reason": "probe"})),
            Org,
            "/v1/orgs/xorg/tenants/spare/suspend",
            Some((
                "/v1/orgs/yorg/tenants/bravo/suspend",
                "/v1/orgs/zorg/tenants/bravo/suspend",
            )),
        ),
        family(
            "list a tenant's namespaces",
            Method::GET,
            None,
            Org,
            "/v1/orgs/xorg/tenants/alpha/namespaces",
            Some((
                "/v1/orgs/yorg/tenants/bravo/namespaces",
                "/v1/orgs/zorg/tenants/bravo/namespaces",
            )),
        ),
        family(
            "list a namespace's keys",
            Method::GET,
            None,
            Org,
            "/v1/orgs/xorg/tenants/alpha/namespaces/alpha-live/api-keys",
            Some((
                "/v1/orgs/yorg/tenants/bravo/namespaces/bravo-live/api-keys",
                "/v1/orgs/zorg/tenants/bravo/namespaces/bravo-live/api-keys",
            )),
        ),
        family(
            "create a namespace key",
            Method::POST,
            Some(json!({"name": "probe", "role": "member"})),
            Org,
            "/v1/orgs/xorg/tenants/alpha/namespaces/alpha-live/api-keys",
            Some((
                "/v1/orgs/yorg/tenants/bravo/namespaces/bravo-live/api-keys",
                "/v1/orgs/zorg/tenants/bravo/namespaces/bravo-live/api-keys",
            )),
        ),
        family(
            "revoke a namespace key",
            Method::DELETE,
            None,
            Org,
            "/v1/orgs/xorg/tenants/alpha/namespaces/alpha-live/api-keys/{fresh}",
            Some((
                "/v1/orgs/yorg/tenants/bravo/namespaces/bravo-live/api-keys/{b-key}",
                "/v1/orgs/zorg/tenants/bravo/namespaces/bravo-live/api-keys/{b-key}",
            )),
        ),
        family(
            "revoke the other tenant's key under one's own namespace",
            Method::DELETE,
            None,
            Org,
            "/v1/orgs/xorg/tenants/alpha/namespaces/alpha-live/api-keys/{fresh}",
            Some((
                "/v1/orgs/xorg/tenants/alpha/namespaces/alpha-live/api-keys/{b-key}",
                "/v1/orgs/xorg/tenants/alpha/namespaces/alpha-live/api-keys/{none}",
            )),
        ),
        family(
            "rotate a namespace key",
            Method::POST,
            Some(json!({})),
            Org,
            "/v1/orgs/xorg/tenants/alpha/namespaces/alpha-live/api-keys/{fresh}/rotate",
            Some((
                "/v1/orgs/yorg/tenants/bravo/namespaces/bravo-live/api-keys/{b-key}/rotate",
                "/v1/orgs/zorg/tenants/bravo/namespaces/bravo-live/api-keys/{b-key}/rotate",
            )),
        ),
        family(
            "read the audit trail",
            Method::GET,
            None,
            Org,
            "/v1/orgs/xorg/audit-events",
            Some(("/v1/orgs/yorg/audit-events", "/v1/orgs/zorg/audit-events")),
        ),
        family(
            "list org keys",
            Method::GET,
            None,
            Org,
            "/v1/orgs/xorg/api-keys",
            Some(("/v1/orgs/yorg/api-keys", "/v1/orgs/zorg/api-keys")),
        ),
        family(
            "create an org key",
            Method::POST,
            Some(json!({"name": "probe"})),
            Org,
            "/v1/orgs/xorg/api-keys",
            Some(("/v1/orgs/yorg/api-keys", "/v1/orgs/zorg/api-keys")),
        ),
        family(
            "revoke an org key",
            Method::DELETE,
            None,
            Org,
            "/v1/orgs/xorg/api-keys/{fresh-org}",
            Some((
                "/v1/orgs/yorg/api-keys/{y-org-key}",
                "/v1/orgs/zorg/api-keys/{y-org-key}",
            )),
        ),
        family(
            "revoke the other org's key under one's own org",
            Method::DELETE,
            None,
            Org,
            "/v1/orgs/xorg/api-keys/{fresh-org}",
            Some((
                "/v1/orgs/xorg/api-keys/{y-org-key}",
                "/v1/orgs/xorg/api-keys/{none}",
            )),
        ),
        family(
            "read one's tenant",
            Method::GET,
            None,
            Own("tenant:read"),
            "/v1/tenant",
            None,
        ),
        family(
            "read one's namespace",
            Method::GET,
            None,
            Own("tenant:read"),
            "/v1/namespace",
            None,
        ),
        family(
            "list one's keys",
            Method::GET,
            None,
            Own("keys:read"),
            "/v1/namespace/api-keys",
            None,
        ),
        family(
            "create a key in one's namespace",
            Method::POST,
            Some(json!({"name": "probe", "scopes": ["tenant:read"]})),
            Own("keys:write"),
            "/v1/namespace/api-keys",
            None,
        ),
        family(
            "revoke a key of one's namespace",
            Method::DELETE,
            None,
            Own("keys:write"),
            "/v1/namespace/api-keys/{fresh}",
            Some((
                "/v1/namespace/api-keys/{b-key}",
                "/v1/namespace/api-keys/{none}",
            )),
        ),
        family(
            "rotate a key of one's namespace",
            Method::POST,
            Some(json!({"gracePeriodSeconds": 60})),
            Own("keys:write"),
            "/v1/namespace/api-keys/{fresh}/rotate",
            Some((
                "/v1/namespace/api-keys/{b-key}/rotate",
                "/v1/namespace/api-keys/{none}/rotate",
            )),
        ),
    ]
}

/// What a principal gets on its own object, by the rules.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Success,
    Forbidden,
    MissingScope(&'static str),
}

fn outcome(who: Who, route: Route) -> Outcome {
    match (who, route) {
        (Who::OrgKeyOfX, Route::Org) => Outcome::Success,
        (Who::OrgKeyOfX, Route::Own(_)) => Outcome::Forbidden,
        (Who::AdminKeyOfA | Who::NarrowKeyOfA, Route::Org) => Outcome::Forbidden,
        (Who::AdminKeyOfA, Route::Own(_)) => Outcome::Success,
        (Who::NarrowKeyOfA, Route::Own(scope)) if NARROW.contains(&scope) => Outcome::Success,
        (Who::NarrowKeyOfA, Route::Own(scope)) => Outcome::MissingScope(scope),
    }
}

/// Both sides, set up through the API with the admin token.
struct World {
    app: TestApp,
    x: String,
    y: String,
    b_key: String,
    y_org_key: String,
    keys: Vec<(Who, String)>,
}

impl World {
    async fn new() -> Self {
        let app = TestApp::start().await;
        let x = app.org("xorg").await["id"].as_str().unwrap().to_owned();
        let y = app.org("yorg").await["id"].as_str().unwrap().to_owned();
        let (_, admin_of_a) = app.tenant_with_key("xorg", "alpha").await;
        app.tenant("xorg", "spare").await;
        app.tenant("yorg", "bravo").await;
        let b_key = app
            .get("/v1/orgs/yorg/tenants/bravo/namespaces/bravo-live/api-keys")
            .await
            .expect(200)["items"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let y_org_key = key_id_of(&app.org_key("yorg").await);
        let org_key_of_x = secret_of(&app.org_key("xorg").await);
        let narrow = app
            .key_with_scopes("xorg", "alpha", "alpha-live", NARROW)
            .await;
        Self {
            app,
            x,
            y,
            b_key,
            y_org_key,
            keys: vec![
                (Who::OrgKeyOfX, org_key_of_x),
                (Who::AdminKeyOfA, admin_of_a),
                (Who::NarrowKeyOfA, narrow),
            ],
        }
    }

    /// The path with its placeholders filled; fresh keys are minted as needed.
    async fn fill(&self, template: &str) -> String {
        let mut path = template
            .replace("{x}", &self.x)
            .replace("{y}", &self.y)
            .replace("{b-key}", &self.b_key)
            .replace("{y-org-key}", &self.y_org_key)
            .replace("{none}", NONE);
        if path.contains("{fresh}") {
            let fresh = self
                .app
                .namespace_key("xorg", "alpha", "alpha-live", &[])
                .await;
            path = path.replace("{fresh}", &key_id_of(&fresh));
        }
        if path.contains("{fresh-org}") {
            path = path.replace("{fresh-org}", &key_id_of(&self.app.org_key("xorg").await));
        }
        path
    }

    async fn call(&self, bearer: &str, family: &Family, template: &str) -> Reply {
        let path = self.fill(template).await;
        let mut request = self.app.request_as(bearer, family.method.clone(), &path);
        if let Some(body) = &family.body {
            request = request.json(body);
        }
        self.app.send(request).await
    }
}

/// A problem body without what differs from request to request.
fn comparable(reply: &Reply) -> Value {
    let mut body = reply.json();
    body.as_object_mut().unwrap().remove("requestId");
    body
}

#[track_caller]
fn assert_outcome(case: &str, reply: &Reply, expected: &Outcome) {
    match expected {
        Outcome::Success => assert!(
            reply.status.is_success(),
            "{case}: {} {}",
            reply.status,
            reply.text
        ),
        Outcome::Forbidden => {
            reply.expect_problem(403, "forbidden");
        }
        Outcome::MissingScope(scope) => {
            let problem = reply.expect_problem(403, "missing_scope");
            assert_eq!(problem["scope"], *scope, "{case}");
        }
    }
}

#[tokio::test]
async fn each_key_reaches_its_own_objects_and_the_other_sides_look_missing() {
    let world = World::new().await;
    let mut checked = 0;
    for (who, bearer) in &world.keys {
        for family in families() {
            let expected = outcome(*who, family.route);
            let case = format!("{who:?} / {}", family.name);
            let mine = world.call(bearer, &family, family.mine).await;
            assert_outcome(&format!("{case} / own"), &mine, &expected);
            let Some((theirs, missing)) = family.theirs else {
                continue;
            };
            let theirs = world.call(bearer, &family, theirs).await;
            let missing = world.call(bearer, &family, missing).await;
            match &expected {
                Outcome::Success => {
                    theirs.expect_problem(404, "not_found");
                }
                refused => assert_outcome(&format!("{case} / theirs"), &theirs, refused),
            }
            assert_eq!(
                comparable(&theirs),
                comparable(&missing),
                "{case}: the other side's object must look exactly like a missing one"
            );
            checked += 1;
        }
    }
    assert_eq!(
        checked,
        3 * 18,
        "every principal met every family with two sides"
    );

    // And the other side is untouched.
    let app = &world.app;
    let bravo = app.get("/v1/orgs/yorg/tenants/bravo").await.expect(200);
    assert_eq!(bravo["status"], "active");
    let b_keys = app
        .get("/v1/orgs/yorg/tenants/bravo/namespaces/bravo-live/api-keys")
        .await
        .expect(200);
    let b_keys = b_keys["items"].as_array().unwrap();
    assert_eq!(b_keys.len(), 1, "no key was added to B");
    assert_eq!(b_keys[0]["revokedAt"], Value::Null);
    assert_eq!(b_keys[0]["expiresAt"], Value::Null);
    let y_keys = app.get("/v1/orgs/yorg/api-keys").await.expect(200);
    assert_eq!(y_keys["items"].as_array().unwrap().len(), 1);
    assert_eq!(y_keys["items"][0]["revokedAt"], Value::Null);
    let y_audit = app.all_pages("/v1/orgs/yorg/audit-events").await;
    assert!(
        y_audit
            .iter()
            .all(|e| e["actor"]["kind"] == "platform_admin"),
        "nobody from X's side wrote to Y: {y_audit:#?}"
    );
}

#[tokio::test]
async fn the_own_endpoints_show_the_keys_tenant_namespace_and_keys_only() {
    let world = World::new().await;
    let app = &world.app;
    let (_, admin_of_a) = &world.keys[1];
    let alpha = app.get("/v1/orgs/xorg/tenants/alpha").await.expect(200);
    let tenant = app.get_as(admin_of_a, "/v1/tenant").await.expect(200);
    assert_eq!(tenant, alpha);
    let ns = app.get_as(admin_of_a, "/v1/namespace").await.expect(200);
    assert_eq!(ns["key"], "alpha-live");
    assert_eq!(ns["tenantId"], alpha["id"]);
    let keys = app
        .get_as(admin_of_a, "/v1/namespace/api-keys")
        .await
        .expect(200);
    let keys = keys["items"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "the first key and the narrow one");
    assert!(keys.iter().all(|k| k["namespaceId"] == ns["id"]));
    assert!(keys.iter().all(|k| k["id"] != world.b_key.as_str()));
}
