//! The database settings: URLs, pool, pooler, migrations.

use super::*;

#[test]
fn without_database_url_the_store_is_in_memory_and_nothing_migrates() {
    let config = from_env(&[]).unwrap();
    assert!(config.database.is_none());
    assert!(config.owner_url.is_none());
    assert!(!config.migrate);
}

#[test]
fn database_settings_have_documented_defaults() {
    let config = from_env(&[
        ("DATABASE_URL", "postgres://app:pw@db:5433/tenancy"),
        ("TENANCY_KEYRING", "keyring.json"),
    ])
    .unwrap();
    let database = config.database.unwrap();
    assert_eq!(database.url.expose(), "postgres://app:pw@db:5433/tenancy");
    assert_eq!(database.listen_url.expose(), database.url.expose());
    assert_eq!(database.pool_size, 10);
    assert_eq!(
        database.statement_timeout,
        std::time::Duration::from_millis(5000)
    );
    assert!(!database.pooler);
    assert!(!config.migrate);
}

#[test]
fn database_settings_are_read_from_the_environment() {
    let config = from_env(&[
        ("TENANCY_KEYRING", "keyring.json"),
        ("DATABASE_URL", "postgres://app@pgbouncer:6432/tenancy"),
        (
            "TENANCY_DATABASE_OWNER_URL",
            "postgresql://owner:pw@db/tenancy",
        ),
        ("TENANCY_DB_POOL_SIZE", "25"),
        ("TENANCY_DB_STATEMENT_TIMEOUT_MS", "750"),
        ("TENANCY_DB_POOLER", "true"),
        (
            "TENANCY_LISTEN_DATABASE_URL",
            "postgres://app@db:5432/tenancy",
        ),
    ])
    .unwrap();
    let database = config.database.unwrap();
    assert_eq!(database.pool_size, 25);
    assert_eq!(
        database.statement_timeout,
        std::time::Duration::from_millis(750)
    );
    assert!(database.pooler);
    assert_eq!(database.listen_url.shown(), "db:5432/tenancy");
    assert_eq!(database.url.shown(), "pgbouncer:6432/tenancy");
    assert!(config.migrate, "migrating is the default with an owner URL");

    let config = from_env(&[
        ("TENANCY_DATABASE_OWNER_URL", "postgres://owner@db/tenancy"),
        ("TENANCY_MIGRATE", "false"),
    ])
    .unwrap();
    assert!(!config.migrate);
}

#[test]
fn bad_database_settings_are_refused_naming_their_variable() {
    for (pairs, name) in [
        (vec![("DATABASE_URL", "mysql://u:pw@db/x")], "DATABASE_URL"),
        (vec![("DATABASE_URL", "not a url")], "DATABASE_URL"),
        (
            vec![("TENANCY_DATABASE_OWNER_URL", "db:5432")],
            "TENANCY_DATABASE_OWNER_URL",
        ),
        (vec![("TENANCY_MIGRATE", "yes")], "TENANCY_MIGRATE"),
        (vec![("TENANCY_MIGRATE", "true")], "TENANCY_MIGRATE"),
        (vec![("TENANCY_DB_POOL_SIZE", "0")], "TENANCY_DB_POOL_SIZE"),
        (
            vec![("TENANCY_DB_STATEMENT_TIMEOUT_MS", "soon")],
            "TENANCY_DB_STATEMENT_TIMEOUT_MS",
        ),
        (vec![("TENANCY_DB_POOLER", "1")], "TENANCY_DB_POOLER"),
        (
            vec![
                ("DATABASE_URL", "postgres://u@pgbouncer/x"),
                ("TENANCY_DB_POOLER", "true"),
            ],
            "TENANCY_DB_POOLER",
        ),
    ] {
        let message = error(from_env(&pairs));
        assert!(
            message.starts_with(&format!("invalid {name}: ")),
            "{pairs:?}: {message}"
        );
    }
}

#[test]
fn a_database_password_is_never_shown() {
    let config = from_env(&[
        ("DATABASE_URL", "postgres://u:s3cret@db/tenancy"),
        ("TENANCY_KEYRING", "keyring.json"),
    ])
    .unwrap();
    let database = config.database.unwrap();
    assert_eq!(database.url.shown(), "db/tenancy");
    assert!(!format!("{database:?}").contains("s3cret"));
    let message = error(from_env(&[("DATABASE_URL", "mysql://u:s3cret@db/tenancy")]));
    assert!(!message.contains("s3cret"), "{message}");
}

#[test]
fn the_toml_file_sets_database_settings() {
    let config = from_toml(
        "database_url = \"postgres://app@db/tenancy\"\ndb_pool_size = 4\ndb_pooler = false\n\
         keyring = \"keyring.json\"\n",
        &[],
    )
    .unwrap();
    assert_eq!(config.database.unwrap().pool_size, 4);
}
