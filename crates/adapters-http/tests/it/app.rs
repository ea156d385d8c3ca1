//! `TestApp`: the real router on `127.0.0.1:0` over chosen adapters, and a client
//! that speaks to it with the admin token or with any API key.
//!
//! As in the server, the tenant and key ports go through the verification cache
//! (`CachedStore`), so tests see what a cached deployment does: a revocation or a
//! suspension must be felt by the very next request. Time is a `ManualClock`, so
//! expiry and grace periods are tested by moving it.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use adapters_cache::{CacheLimits, CachedStore};
use adapters_http::{ConnectionLimits, HttpConfig, Readiness, RequestLimits, router, serve};
use adapters_memory::{ManualClock, MemoryKms, MemoryStore};
use chrono::{DateTime, Duration, Utc};
use domain::ports::{DnsResolver, TenantStore};
use domain::{Name, Ports, Region, RegionCode, Regions, Settings, Tenancy};
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};

/// The admin token every `TestApp` is configured with.
pub const TOKEN: &str = "test-admin-token-0123456789";

/// A running server and what it runs on.
pub struct TestApp {
    base: String,
    pub client: reqwest::Client,
    pub clock: Arc<ManualClock>,
    /// The KMS the server wraps data keys with; switch it off to test outages.
    pub kms: Arc<MemoryKms>,
    /// The store, to look at what is stored.
    pub store: Arc<MemoryStore>,
    /// The service behind the router, for what no route does (the
    /// background jobs' steps).
    pub tenancy: Tenancy,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Chooses what a `TestApp` runs on.
#[derive(Default)]
pub struct Builder {
    regions: Option<Regions>,
    base_domain: Option<String>,
    trusted_proxies: domain::TrustedProxies,
    tenants: Option<Arc<dyn TenantStore>>,
    store: Option<Arc<MemoryStore>>,
    readiness: Option<Arc<dyn Readiness>>,
    max_resources: Option<u64>,
    max_members: Option<u64>,
    dns: Option<Arc<dyn DnsResolver>>,
    limits: RequestLimits,
    connections: ConnectionLimits,
    registration: Option<domain::RegistrationConfig>,
    registration_rate: Option<adapters_http::RegistrationRate>,
    mailer: Option<Arc<dyn domain::ports::Mailer>>,
}

impl Builder {
    /// The most resources one tenant may hold.
    pub fn max_resources(mut self, max: u64) -> Self {
        self.max_resources = Some(max);
        self
    }

    /// The most people (owner and members) one tenant may have.
    pub fn max_members(mut self, max: u64) -> Self {
        self.max_members = Some(max);
        self
    }

    /// The request timeout and in-flight limit.
    pub fn limits(mut self, limits: RequestLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The header-read timeout and connection limit.
    pub fn connections(mut self, connections: ConnectionLimits) -> Self {
        self.connections = connections;
        self
    }

    /// Self-service registration's links and fallback sender.
    pub fn registration(mut self, config: domain::RegistrationConfig) -> Self {
        self.registration = Some(config);
        self
    }

    /// How many registrations one client address may request.
    pub fn registration_rate(mut self, rate: adapters_http::RegistrationRate) -> Self {
        self.registration_rate = Some(rate);
        self
    }

    /// Sends the app's emails (the memory store's recording mailer unless set).
    pub fn mailer(mut self, mailer: Arc<dyn domain::ports::Mailer>) -> Self {
        self.mailer = Some(mailer);
        self
    }

    pub fn regions(mut self, regions: Regions) -> Self {
        self.regions = Some(regions);
        self
    }

    /// Looks custom domains' TXT records up with `dns` (by default, a
    /// `MemoryDns` with no records).
    pub fn dns(mut self, dns: Arc<dyn DnsResolver>) -> Self {
        self.dns = Some(dns);
        self
    }

    pub fn base_domain(mut self, domain: &str) -> Self {
        self.base_domain = Some(domain.to_owned());
        self
    }

    /// The proxies whose forwarding headers are believed (`10.0.0.0/8, ::1`).
    pub fn trusted_proxies(mut self, list: &str) -> Self {
        self.trusted_proxies = domain::TrustedProxies::parse(list).expect("proxies");
        self
    }

    /// Runs on `store` instead of a fresh one.
    pub fn store(mut self, store: Arc<MemoryStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// What `/readyz` asks.
    pub fn readiness(mut self, readiness: Arc<dyn Readiness>) -> Self {
        self.readiness = Some(readiness);
        self
    }

    /// Replaces the tenant port (the other ports stay on the memory store, the
    /// key port behind the cache).
    pub fn tenants(mut self, tenants: Arc<dyn TenantStore>) -> Self {
        self.tenants = Some(tenants);
        self
    }

    pub async fn start(self) -> TestApp {
        let store = self.store.unwrap_or_default();
        let clock = Arc::new(ManualClock::default());
        // The cache tells its entries' ages by the app's clock, as in the server.
        let cached = Arc::new(CachedStore::new(
            store.clone(),
            CacheLimits::default(),
            clock.clone(),
        ));
        let kms = Arc::new(MemoryKms::default());
        let defaults = store.ports(clock.clone());
        let ports = Ports {
            tenants: self.tenants.unwrap_or_else(|| cached.clone()),
            keys: cached.clone(),
            settings: cached,
            kms: kms.clone(),
            mailer: self.mailer.unwrap_or_else(|| defaults.mailer.clone()),
            dns: self.dns.unwrap_or(defaults.dns.clone()),
            ..defaults
        };
        let settings = Settings {
            regions: self.regions.unwrap_or_else(Regions::single_global),
            max_resources_per_tenant: self
                .max_resources
                .unwrap_or(Settings::default().max_resources_per_tenant),
            max_members_per_tenant: self
                .max_members
                .unwrap_or(Settings::default().max_members_per_tenant),
            base_domain: self
                .base_domain
                .as_deref()
                .map(|d| domain::custom_domain::DomainName::parse(d).expect("a base domain")),
            registration: self.registration,
            ..Settings::default()
        };
        // The deployment's checkpoint key, as the server opens it from a keyring.
        let checkpoints = adapters_kms::CheckpointKey::from_seed(
            &adapters_kms::CheckpointKey::new_seed(&adapters_memory::SeededSecrets::default()),
        );
        let tenancy = Tenancy::new(ports, settings).with_checkpoint_signer(Arc::new(checkpoints));
        let app = router(
            tenancy.clone(),
            HttpConfig {
                admin_token: TOKEN.to_owned(),
                base_domain: self.base_domain.clone(),
                trusted_proxies: self.trusted_proxies,
                readiness: self.readiness,
                limits: self.limits,
                registration_rate: self.registration_rate.unwrap_or_default(),
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let addr = listener.local_addr().expect("a bound address");
        let connections = self.connections;
        let server = tokio::spawn(serve(listener, app, connections, std::future::pending()));
        TestApp {
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
            clock,
            kms,
            store,
            tenancy,
            server,
        }
    }
}

/// What came back: status, headers and the body, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?} {}", self.status, self.text))
    }

    /// Asserts the status; returns the JSON body.
    #[track_caller]
    pub fn expect(&self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.text);
        self.json()
    }

    /// Asserts an RFC 9457 problem with this status and code; returns it.
    #[track_caller]
    pub fn expect_problem(&self, status: u16, code: &str) -> Value {
        assert_eq!(
            (self.status.as_u16(), self.header("content-type")),
            (status, Some("application/problem+json")),
            "body: {}",
            self.text
        );
        let body = self.json();
        assert_eq!(body["code"], code, "{body:#}");
        assert_eq!(body["status"], status, "{body:#}");
        assert_eq!(
            body["type"],
            format!("urn:tenancy:problem:{code}"),
            "{body:#}"
        );
        assert!(body["title"].as_str().is_some_and(|t| !t.is_empty()));
        assert!(body["detail"].as_str().is_some_and(|t| !t.is_empty()));
        body
    }
}

impl TestApp {
    pub fn builder() -> Builder {
        Builder::default()
    }

    pub async fn start() -> Self {
        Self::builder().start().await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request with the admin token.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(TOKEN)
    }

    /// A request without any token.
    pub fn anonymous(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path))
    }

    /// A request with `bearer` (an API key, or anything else) as its token.
    pub fn request_as(&self, bearer: &str, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(bearer)
    }

    pub async fn get_as(&self, bearer: &str, path: &str) -> Reply {
        self.send(self.request_as(bearer, Method::GET, path)).await
    }

    pub async fn post_as(&self, bearer: &str, path: &str, body: &Value) -> Reply {
        self.send(self.request_as(bearer, Method::POST, path).json(body))
            .await
    }

    pub async fn put_as(&self, bearer: &str, path: &str, body: &Value) -> Reply {
        self.send(self.request_as(bearer, Method::PUT, path).json(body))
            .await
    }

    /// `POST /v1/keys/verify` (no token); returns the verdict.
    pub async fn verify(&self, key: &str) -> Value {
        self.send(
            self.anonymous(Method::POST, "/v1/keys/verify")
                .json(&json!({ "key": key })),
        )
        .await
        .expect(200)
    }

    pub async fn send(&self, request: RequestBuilder) -> Reply {
        let response = request.send().await.expect("the server answers");
        Reply {
            status: response.status(),
            headers: response.headers().clone(),
            text: response.text().await.expect("a readable body"),
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.request(Method::GET, path)).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.send(self.request(Method::POST, path).json(body)).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Reply {
        self.send(self.request(Method::PUT, path).json(body)).await
    }

    /// A JSON merge-patch.
    pub async fn patch(&self, path: &str, body: &Value) -> Reply {
        let request = self
            .request(Method::PATCH, path)
            .header(CONTENT_TYPE, "application/merge-patch+json")
            .body(body.to_string());
        self.send(request).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send(self.request(Method::DELETE, path)).await
    }

    /// Creates an org; returns it.
    pub async fn org(&self, key: &str) -> Value {
        self.post(
            "/v1/orgs",
            &json!({"key": key, "name": format!("Org {key}")}),
        )
        .await
        .expect(201)
    }

    /// The id of the org with this key.
    pub async fn org_id(&self, key: &str) -> String {
        self.get(&format!("/v1/orgs/{key}")).await.expect(200)["id"]
            .as_str()
            .expect("an org id")
            .to_owned()
    }

    /// Provisions a minimal tenant in `org`; returns the tenant.
    pub async fn tenant(&self, org: &str, key: &str) -> Value {
        let body = json!({"key": key, "name": format!("Tenant {key}")});
        self.post(&format!("/v1/orgs/{org}/tenants"), &body)
            .await
            .expect(201)["tenant"]
            .clone()
    }

    /// Provisions a minimal tenant in `org`; returns it with the secret of its
    /// first key (an `admin` key of its first namespace, `{key}-live`).
    pub async fn tenant_with_key(&self, org: &str, key: &str) -> (Value, String) {
        let body = json!({"key": key, "name": format!("Tenant {key}")});
        let created = self
            .post(&format!("/v1/orgs/{org}/tenants"), &body)
            .await
            .expect(201);
        let secret = created["secret"].as_str().expect("a first key").to_owned();
        (created["tenant"].clone(), secret)
    }

    /// Issues a key in namespace `ns` of `tenant` (with the admin token) holding
    /// exactly `scopes`; returns the creation response (`apiKey` and `secret`).
    pub async fn namespace_key(&self, org: &str, tenant: &str, ns: &str, scopes: &[&str]) -> Value {
        self.post(
            &format!("/v1/orgs/{org}/tenants/{tenant}/namespaces/{ns}/api-keys"),
            &json!({"name": format!("key with {}", scopes.join(" ")), "scopes": scopes}),
        )
        .await
        .expect(201)
    }

    /// The secret of a new key of namespace `ns` holding exactly `scopes`.
    pub async fn key_with_scopes(
        &self,
        org: &str,
        tenant: &str,
        ns: &str,
        scopes: &[&str],
    ) -> String {
        secret_of(&self.namespace_key(org, tenant, ns, scopes).await)
    }

    /// Issues an org key of `org`; returns the creation response.
    pub async fn org_key(&self, org: &str) -> Value {
        self.post(
            &format!("/v1/orgs/{org}/api-keys"),
            &json!({"name": format!("{org} automation")}),
        )
        .await
        .expect(201)
    }

    /// Every page of a listing, followed to the end.
    pub async fn all_pages(&self, path: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let sep = if path.contains('?') { '&' } else { '?' };
            let url = match &cursor {
                Some(c) => format!("{path}{sep}cursor={c}"),
                None => path.to_owned(),
            };
            let page = self.get(&url).await.expect(200);
            items.extend(page["items"].as_array().expect("items").iter().cloned());
            match page["nextCursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return items,
            }
        }
    }

    /// Everything a caller can see, to compare before and after a refused request.
    pub async fn visible_state(&self) -> Value {
        let orgs = self.all_pages("/v1/orgs").await;
        let mut audit = Vec::new();
        for org in &orgs {
            let id = org["id"].as_str().expect("org id");
            audit.extend(self.all_pages(&format!("/v1/orgs/{id}/audit-events")).await);
        }
        let mut tenants = self.all_pages("/v1/tenants").await;
        tenants.extend(self.all_pages("/v1/tenants?status=deleted").await);
        json!({"orgs": orgs, "tenants": tenants, "audit": audit})
    }

    /// Every audit record the store holds with a tenant has its details
    /// sealed; every other one has them clear.
    pub async fn assert_tenant_records_sealed(&self) {
        use domain::ports::{AuditLog, DataScope, OrgStore};
        let orgs = self
            .store
            .list_orgs(&DataScope::Platform, None, 1000)
            .await
            .expect("listing orgs");
        for org in orgs {
            let records = self
                .store
                .audit_records(&DataScope::Platform, org.id, None, None, 10_000)
                .await
                .expect("reading the trail");
            for record in records {
                let sealed = matches!(record.details, domain::AuditDetails::Sealed(_));
                assert_eq!(
                    sealed,
                    record.tenant_id.is_some(),
                    "{} stored {}",
                    record.action.as_str(),
                    if sealed { "sealed" } else { "in clear" }
                );
            }
        }
    }

    /// The time the server's clock reads now.
    pub fn now(&self) -> DateTime<Utc> {
        use domain::ports::Clock;
        self.clock.now()
    }

    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }
}

/// The `secret` of a creation response.
#[track_caller]
pub fn secret_of(created: &Value) -> String {
    created["secret"]
        .as_str()
        .unwrap_or_else(|| panic!("no secret in {created:#}"))
        .to_owned()
}

/// The `apiKey.id` of a creation response.
#[track_caller]
pub fn key_id_of(created: &Value) -> String {
    created["apiKey"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no key id in {created:#}"))
        .to_owned()
}

/// Reads a timestamp from a response.
#[track_caller]
pub fn time(value: &Value) -> DateTime<Utc> {
    value
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .unwrap_or_else(|| panic!("not a timestamp: {value}"))
        .with_timezone(&Utc)
}

/// Regions `eu-west` (available) and `us-old` (closed to new tenants).
pub fn two_regions() -> Regions {
    Regions::new(vec![
        Region {
            code: RegionCode::parse("eu-west").unwrap(),
            name: Name::parse("Europe West").unwrap(),
            available: true,
        },
        Region {
            code: RegionCode::parse("us-old").unwrap(),
            name: Name::parse("US (closed)").unwrap(),
            available: false,
        },
    ])
    .unwrap()
}

/// The output of a future that never waits, such as every `MemoryStore` call:
/// lets synchronous mock expectations delegate to the real store.
pub fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the in-memory store never waits"),
    }
}
