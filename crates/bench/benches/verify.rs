//! In-process verification: `Tenancy::verify` through the verification cache
//! (hit), straight on the memory store (the cache's miss path), and refusing a
//! malformed key (no store at all).

use std::sync::Arc;

use adapters_cache::{CacheLimits, CachedStore};
use adapters_memory::{ManualClock, MemoryStore};
use criterion::{Criterion, criterion_group, criterion_main};
use domain::{
    Context, Metadata, Name, NewOrg, OrgKey, OrgRef, Ports, ProvisionTenant, Settings, Tenancy,
    TenantKey, VerifyCode,
};

const TENANTS: usize = 1_000;

fn tenancy(cached: bool) -> Tenancy {
    let store = Arc::new(MemoryStore::new());
    let cache = Arc::new(CachedStore::new(
        store.clone(),
        CacheLimits::default(),
        Arc::new(adapters_system::SystemClock),
    ));
    let (tenants, keys): (
        Arc<dyn domain::ports::TenantStore>,
        Arc<dyn domain::ports::ApiKeyStore>,
    ) = if cached {
        (cache.clone(), cache)
    } else {
        (store.clone(), store.clone())
    };
    Tenancy::new(
        Ports {
            tenants,
            keys,
            key_usage: adapters_cache::UsageBatcher::new(store.clone()),
            ..store.ports(Arc::new(ManualClock::default()))
        },
        Settings::default(),
    )
}

async fn seeded(tenancy: &Tenancy) -> Vec<String> {
    let admin = Context::platform_admin();
    let org = tenancy
        .create_org(
            &admin,
            NewOrg {
                key: OrgKey::parse("bench").unwrap(),
                name: Name::parse("Bench").unwrap(),
            },
        )
        .await
        .unwrap();
    let mut secrets = Vec::with_capacity(TENANTS);
    for i in 0..TENANTS {
        let provisioned = tenancy
            .provision(
                &admin,
                &OrgRef::Id(org.id),
                ProvisionTenant {
                    key: TenantKey::parse(&format!("tenant-{i:06}")).unwrap(),
                    name: Name::parse("Tenant").unwrap(),
                    plan: None,
                    region: None,
                    owner: None,
                    metadata: Metadata::default(),
                    namespaces: vec![],
                },
            )
            .await
            .unwrap();
        secrets.push(provisioned.api_key.unwrap().secret.expose().to_owned());
    }
    secrets
}

fn verify(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for (name, cached) in [
        ("verify/cached", true),
        ("verify/memory store, no cache", false),
    ] {
        let tenancy = tenancy(cached);
        let secrets = runtime.block_on(seeded(&tenancy));
        let mut i = 0;
        c.bench_function(name, |b| {
            b.iter(|| {
                i = (i + 1) % secrets.len();
                let v = runtime.block_on(tenancy.verify(&secrets[i], None)).unwrap();
                assert_eq!(v.code, VerifyCode::Valid);
            })
        });
    }
    let tenancy = tenancy(true);
    c.bench_function("verify/malformed (no lookup)", |b| {
        b.iter(|| {
            runtime
                .block_on(tenancy.verify("tny_live_not-a-key", None))
                .unwrap()
        })
    });
}

criterion_group!(benches, verify);
criterion_main!(benches);
