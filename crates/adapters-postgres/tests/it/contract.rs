//! The storage port contract suite (`test_support::store_contract!`) against
//! [`PgStore`], connected as the runtime role so that row-level security
//! applies to every statement. Each case gets its own database, which the
//! store keeps alive until the case drops it.

use std::sync::Arc;

use adapters_postgres::PgStore;
use adapters_postgres::testing::TestDatabase;
use test_support::StorePorts;

async fn fresh_store() -> StorePorts {
    let test = TestDatabase::new().await;
    let db = test.runtime().await;
    StorePorts::all(Arc::new(PgStore::new(db).holding(test)))
}

test_support::store_contract!(fresh_store);
