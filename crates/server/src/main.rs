//! `tenancy`: the Tenancy server. Reads the configuration, wires the adapters
//! into a [`domain::Tenancy`], serves the HTTP API and runs the retention job
//! until SIGINT or SIGTERM; `tenancy migrate` applies the database migrations;
//! `tenancy export` writes a tenant's export from a running server to a file.

mod commands;
mod config;
mod domains;
mod kms;
mod retention;
mod store;
mod telemetry;
mod token_file;
// Not started yet: it needs the real `WebhookSender` (crate `adapters-webhooks`,
// being written beside it), which `serve` will hand it.
mod webhooks;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use adapters_cache::CacheLimits;
use clap::{Parser, Subcommand};
use domain::{Settings, Tenancy};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::{AdminToken, Config, Environment};
use crate::store::Storage;

/// Exit code for a configuration the server refuses (the usual one for usage errors).
const EXIT_CONFIG: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "tenancy",
    version,
    about = "Tenancy: a self-hostable multi-tenant control plane.",
    long_about = "Tenancy: a self-hostable multi-tenant control plane.\n\n\
                  Serves the HTTP API for orgs, tenants and namespaces. With no command, \
                  runs `serve`.",
    after_help = "\
Settings come from built-in defaults, then the TOML file given by --config, then
these environment variables (highest precedence):

  TENANCY_LISTEN          address to listen on            [default: 127.0.0.1:8080]
  TENANCY_ADMIN_TOKEN     platform admin bearer token, 32 characters or more
                          [default: generated at start and printed once on
                          standard output, or written to --admin-token-file]
  TENANCY_REGIONS         code[=Display Name][:unavailable], comma-separated
                                                          [default: global]
  TENANCY_BASE_DOMAIN     tenants' subdomains live under it, e.g. tenancy.example.com
  TENANCY_RETENTION_DAYS  days a deactivated tenant is kept before deletion [default: 30]
  TENANCY_LOG_FORMAT      text or json                    [default: text]
  TENANCY_LOG, RUST_LOG   log filter, e.g. info,adapters_http=debug [default: info]
  DATABASE_URL            PostgreSQL URL of the runtime role (tenancy_app)
                                                          [default: in-memory store]
  TENANCY_DATABASE_OWNER_URL  PostgreSQL URL of the owner role, for migrations only
  TENANCY_MIGRATE         true or false: migrate when `serve` starts
                          [default: true when TENANCY_DATABASE_OWNER_URL is set]
  TENANCY_DB_POOL_SIZE    database connections            [default: 10]
  TENANCY_DB_STATEMENT_TIMEOUT_MS  per statement          [default: 5000]
  TENANCY_DB_POOLER       true when DATABASE_URL goes through PgBouncer in
                          transaction mode                [default: false]
  TENANCY_LISTEN_DATABASE_URL  direct connection for LISTEN [default: DATABASE_URL]
  TENANCY_KMS             local or aws: what wraps data keys [default: local]
  TENANCY_KEYRING         keyring file (`tenancy kms init`); required with
                          DATABASE_URL unless TENANCY_KMS=aws
                                                          [default: ephemeral keyring]
  TENANCY_KEYRING_JSON    the text of a keyring file, instead of TENANCY_KEYRING
  TENANCY_AWS_KMS_KEY_ID  AWS KMS key id, ARN or alias (TENANCY_KMS=aws)
  TENANCY_AWS_REGION      its region, e.g. eu-west-1 (TENANCY_KMS=aws)
  TENANCY_AWS_KMS_ENDPOINT  another endpoint than AWS's own
  TENANCY_HEADER_READ_TIMEOUT_MS  time a client has to send a request's
                          headers; idle connections close after it too [default: 10000]
  TENANCY_REQUEST_TIMEOUT_MS  time a request may run before it is stopped
                          with 503 timed_out                [default: 30000]
  TENANCY_MAX_CONNECTIONS  open connections; beyond, new ones wait in the
                          listen backlog                    [default: 1024]
  TENANCY_MAX_IN_FLIGHT   requests handled at once; beyond, 503 overloaded
                          with Retry-After                  [default: 512]
  TENANCY_INVENTORY_TIMEOUT_MS  per tenant listing statement; one that runs
                          out answers 422 search_too_broad [default: 2000]
  TENANCY_INVENTORY_QUERIES_PER_CALLER  tenant listings one key or the admin
                          token may run at once            [default: 2]
  TENANCY_DB_LOOKUP_TIMEOUT_MS  per key lookup on a cache miss [default: 1000]
  TENANCY_VERIFY_UNKNOWN_KEYS  unknown keys remembered     [default: 100000]
  TENANCY_VERIFY_UNKNOWN_TTL_MS  how long an unknown key is remembered; 0: not
                          at all                          [default: 5000]
  TENANCY_WEBHOOK_ALLOW_PRIVATE  true: webhook endpoints may be http and private,
                          loopback or link-local addresses (development only)
                                                          [default: false]
  TENANCY_DNS_NAMESERVERS  nameservers that verify custom domains, ip:port,
                          comma-separated                 [default: the system's]
  TENANCY_DNS_TIMEOUT_MS  time one nameserver has to answer [default: 5000]
  TENANCY_DOMAIN_CHALLENGE_PREFIX  label of the TXT record in front of a custom
                          domain                          [default: _tenancy-challenge]
  TENANCY_DOMAIN_CHECK_INTERVAL_MS  how often pending custom domains that are
                          due are checked                 [default: 30000]

`tenancy export` reads its bearer token from TENANCY_TOKEN (or --token-file).

Logs go to standard error. An invalid setting stops the server with exit code 2."
)]
struct Cli {
    /// TOML configuration file; environment variables override what it sets
    /// [env: TENANCY_CONFIG]
    // Read by hand rather than with clap's `env`, which refuses an empty
    // variable; everywhere else an empty variable counts as unset.
    #[arg(long, short, global = true, value_name = "PATH")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the HTTP API (the default)
    Serve {
        /// Without TENANCY_ADMIN_TOKEN: write the generated admin token to this
        /// new file (mode 0600; refused if it exists) instead of standard output
        #[arg(long, value_name = "PATH")]
        admin_token_file: Option<PathBuf>,
    },
    /// Apply the database migrations with TENANCY_DATABASE_OWNER_URL, then exit
    Migrate,
    /// Manage the key-encryption key that wraps data keys
    #[command(subcommand)]
    Kms(commands::kms::KmsCommand),
    /// Write a tenant's export (NDJSON) from a running server to a file; the
    /// token (the admin token or an org key) comes from TENANCY_TOKEN or
    /// --token-file
    Export(commands::export::ExportArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config_file = cli.config.or_else(|| {
        std::env::var_os("TENANCY_CONFIG")
            .filter(|path| !path.is_empty())
            .map(PathBuf::from)
    });
    let command = cli.command.unwrap_or(Command::Serve {
        admin_token_file: None,
    });
    match command {
        Command::Serve { admin_token_file } => serve(config_file, admin_token_file),
        Command::Migrate => migrate(config_file),
        Command::Kms(command) => commands::kms::run(command, config_file),
        Command::Export(args) => commands::export::run(args),
    }
}

fn load(config_file: Option<PathBuf>) -> Result<Config, ExitCode> {
    Environment::from_process()
        .and_then(|env| Config::load(config_file.as_deref(), &env))
        .map_err(|error| {
            eprintln!("tenancy: configuration error: {error}");
            ExitCode::from(EXIT_CONFIG)
        })
}

/// `tenancy migrate`: applies what is not applied yet and says what it applied.
fn migrate(config_file: Option<PathBuf>) -> ExitCode {
    let config = match load(config_file) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let Some(owner) = config.owner_url else {
        eprintln!(
            "tenancy: configuration error: `tenancy migrate` needs TENANCY_DATABASE_OWNER_URL \
             (`database_owner_url`): the URL of the role that owns the schema (migrations \
             do not run as the runtime role of DATABASE_URL)"
        );
        return ExitCode::from(EXIT_CONFIG);
    };
    let runtime = match logging_and_runtime(config.log) {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    match runtime.block_on(store::migrate(&owner)) {
        Ok(applied) if applied.is_empty() => {
            println!("{}: up to date, no migration to apply", owner.shown());
            ExitCode::SUCCESS
        }
        Ok(applied) => {
            for (version, description) in &applied {
                println!("applied {version:04} {description}");
            }
            println!("{}: applied {} migration(s)", owner.shown(), applied.len());
            ExitCode::SUCCESS
        }
        Err(error) => {
            tracing::error!("{error}");
            ExitCode::FAILURE
        }
    }
}

fn serve(config_file: Option<PathBuf>, admin_token_file: Option<PathBuf>) -> ExitCode {
    let config = match load(config_file) {
        Ok(config) => config,
        Err(code) => return code,
    };
    if admin_token_file.is_some() && config.admin_token.is_some() {
        eprintln!(
            "tenancy: configuration error: --admin-token-file writes a generated admin token, \
             but TENANCY_ADMIN_TOKEN (`admin_token`) sets one: use only one of them"
        );
        return ExitCode::from(EXIT_CONFIG);
    }
    let Config {
        listen,
        admin_token,
        regions,
        base_domain,
        trusted_proxies,
        retention,
        key_prefix,
        verify_cache_keys,
        max_resources_per_tenant,
        max_members_per_tenant,
        log,
        database,
        owner_url,
        migrate,
        kms,
        http_limits,
        query_limits,
        webhook_allow_private,
        mail,
        domains: domain_settings,
    } = config;

    if let Err(error) = telemetry::init(log) {
        eprintln!("tenancy: could not set up logging: {error}");
        return ExitCode::FAILURE;
    }

    let admin_token = match admin_token {
        Some(token) => token,
        None => match AdminToken::generate() {
            Ok(token) if admin_token_file.is_some() => {
                let path = admin_token_file.as_deref().expect("checked by the guard");
                if let Err(error) = token_file::write(path, token.expose()) {
                    tracing::error!("{error}");
                    return ExitCode::FAILURE;
                }
                tracing::info!(
                    path = %path.display(),
                    "no TENANCY_ADMIN_TOKEN set: wrote a generated admin token to the admin \
                     token file; it changes at every restart"
                );
                token
            }
            Ok(token) => {
                // On standard output and outside the log, on purpose: log
                // pipelines keep and ship lines, and this one is a credential.
                println!(
                    "Generated admin token (shown only this once; set TENANCY_ADMIN_TOKEN \
                     to choose your own): {}",
                    token.expose()
                );
                tracing::warn!(
                    "no TENANCY_ADMIN_TOKEN set: generated a one-time admin token and \
                     printed it on standard output; it changes at every restart"
                );
                token
            }
            Err(error) => {
                tracing::error!(%error, "could not generate an admin token");
                return ExitCode::FAILURE;
            }
        },
    };

    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!(%error, "could not start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    let settings = Settings {
        regions,
        retention,
        key_prefix,
        max_resources_per_tenant,
        max_members_per_tenant,
        base_domain: base_domain.clone(),
        challenge_prefix: domain_settings.challenge_prefix.clone(),
        inventory_queries_per_caller: query_limits.inventory_queries_per_caller,
        webhook_allow_private,
        registration: mail.registration.clone(),
        ..Settings::default()
    };
    let http = adapters_http::HttpConfig {
        admin_token: admin_token.expose().to_owned(),
        base_domain: base_domain.map(|d| d.as_str().to_owned()),
        trusted_proxies,
        readiness: None,
        limits: http_limits.requests,
        registration_rate: mail.rate,
    };
    let Some(mailer) = mailer(&mail) else {
        return ExitCode::from(EXIT_CONFIG);
    };
    let cache = CacheLimits {
        max_keys: verify_cache_keys,
        max_unknown_keys: query_limits.unknown_keys,
        unknown_time_to_live: query_limits.unknown_key_ttl,
        ..CacheLimits::default()
    };
    let (kms, checkpoints) = match runtime.block_on(kms::open_with_checkpoint_key(&kms)) {
        Ok(opened) => opened,
        Err(kms::OpenError::Config(message)) => {
            tracing::error!("configuration error: {message}");
            return ExitCode::from(EXIT_CONFIG);
        }
        Err(kms::OpenError::Unavailable(message)) => {
            tracing::error!("could not open the KMS: {message}");
            return ExitCode::FAILURE;
        }
    };
    // Inside the runtime: the resolver binds to it.
    let dns = match runtime.block_on(async { domains::resolver(&domain_settings) }) {
        Ok(dns) => dns,
        Err(message) => {
            tracing::error!("{message}");
            return ExitCode::FAILURE;
        }
    };
    let storage = Storage {
        database,
        migrate_with: owner_url.filter(|_| migrate),
        cache,
        kms,
        query_limits,
        mailer,
        dns,
    };
    match runtime.block_on(run(
        listen,
        settings,
        storage,
        checkpoints,
        http,
        http_limits.connections,
        domain_settings.check_interval,
    )) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error}");
            ExitCode::FAILURE
        }
    }
}

/// The mailer the settings ask for: SMTP when `TENANCY_SMTP_URL` is set, else
/// the log (which shows who would get what, never the body). `None` (after
/// logging why) when the SMTP settings cannot make a mailer.
fn mailer(mail: &config::MailSettings) -> Option<Arc<dyn domain::ports::Mailer>> {
    let mailer: Arc<dyn domain::ports::Mailer> = match &mail.smtp {
        Some(smtp) => match adapters_mail::SmtpMailer::new(smtp.clone()) {
            Ok(mailer) => {
                tracing::info!(server = %format!("{}:{}", smtp.host, smtp.port), "emails go through SMTP");
                Arc::new(mailer)
            }
            Err(error) => {
                tracing::error!("configuration error: TENANCY_SMTP_URL: {error}");
                return None;
            }
        },
        None => {
            tracing::info!(
                "no TENANCY_SMTP_URL: emails are written to the log (sender, recipient and \
                 subject, never the body) instead of being sent"
            );
            Arc::new(adapters_mail::LogMailer::new())
        }
    };
    match &mail.registration {
        Some(registration) => tracing::info!(
            confirm_url = %registration.confirm_url,
            "self-service registration is available to orgs that enable it"
        ),
        None => tracing::info!("no TENANCY_PUBLIC_URL: self-service registration is off"),
    }
    Some(mailer)
}

/// How often key uses are written back as `last_used_at` (docs/api.md §3: coarse).
const USAGE_FLUSH: std::time::Duration = std::time::Duration::from_secs(30);

/// Serves until a shutdown signal, then lets in-flight requests finish and
/// stops the retention job, the custom domain job and the webhook delivery
/// worker.
async fn run(
    listen: std::net::SocketAddr,
    settings: Settings,
    storage: Storage,
    checkpoints: Option<Arc<dyn domain::ports::CheckpointSigner>>,
    mut http: adapters_http::HttpConfig,
    connections: adapters_http::ConnectionLimits,
    domain_checks: std::time::Duration,
) -> Result<(), String> {
    let store = storage.open().await?;
    http.readiness.clone_from(&store.readiness);
    let sender = adapters_webhooks::Sender::new(adapters_webhooks::SenderConfig {
        allow_private: settings.webhook_allow_private,
        ..adapters_webhooks::SenderConfig::default()
    })
    .map_err(|e| e.to_string())?;
    let sender: Arc<dyn domain::ports::WebhookSender> = Arc::new(sender);
    let usage = Arc::clone(&store.usage);
    let mut tenancy =
        Tenancy::new(store.ports.clone(), settings).with_webhook_sender(Arc::clone(&sender));
    if let Some(signer) = checkpoints {
        tenancy = tenancy.with_checkpoint_signer(signer);
    }
    let flusher = usage.spawn_flusher(USAGE_FLUSH);
    let shutdown =
        shutdown_signals().map_err(|e| format!("could not listen for shutdown signals: {e}"))?;
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| format!("could not listen on {listen}: {e}"))?;
    let address = listener
        .local_addr()
        .map_err(|e| format!("could not read the listening address: {e}"))?;

    let (stop, stopped) = watch::channel(false);
    let retention = tokio::spawn(retention::run(tenancy.clone(), stopped.clone()));
    let domain_job = tokio::spawn(domains::run(
        tenancy.clone(),
        domain_checks,
        stopped.clone(),
    ));
    let wake = Arc::new(tokio::sync::Notify::new());
    let worker_settings = match store.outbox_listen {
        // Woken at each commit that writes an event; the poll is the backstop.
        Some(_) => webhooks::WorkerSettings::default(),
        // Nothing wakes it in memory: poll often, it costs a lock and a look
        // at each endpoint's oldest message.
        None => webhooks::WorkerSettings {
            poll: std::time::Duration::from_millis(100),
            ..webhooks::WorkerSettings::default()
        },
    };
    let worker = tokio::spawn(webhooks::run(
        tenancy.clone(),
        sender,
        Arc::clone(&wake),
        worker_settings,
        stopped.clone(),
    ));
    let wakeups = store
        .outbox_listen
        .clone()
        .map(|url| tokio::spawn(webhooks::outbox_wakeups(url, wake, stopped)));
    let app = adapters_http::router(tenancy, http);

    tracing::info!("listening on {address}");
    adapters_http::serve(listener, app, connections, async move {
        let signal = shutdown.await;
        tracing::info!("received {signal}: finishing in-flight requests, then stopping");
        // The receiver may be gone already; nothing to stop then.
        let _ = stop.send(true);
    })
    .await;

    if let Err(error) = retention.await {
        tracing::error!(%error, "the retention job ended abnormally");
    }
    if let Err(error) = domain_job.await {
        tracing::error!(%error, "the custom domain job ended abnormally");
    }
    if let Err(error) = worker.await {
        tracing::error!(%error, "the webhook delivery worker ended abnormally");
    }
    if let Some(wakeups) = wakeups
        && let Err(error) = wakeups.await
    {
        tracing::error!(%error, "the outbox listener ended abnormally");
    }
    flusher.abort();
    usage.flush().await;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Listens for SIGINT (Ctrl-C) and SIGTERM right away, so a signal that
/// arrives before serving starts is not lost; the future resolves on the first,
/// naming it.
#[cfg(unix)]
fn shutdown_signals() -> std::io::Result<impl Future<Output = &'static str>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => "SIGINT",
            _ = terminate.recv() => "SIGTERM",
        }
    })
}

#[cfg(not(unix))]
fn shutdown_signals() -> std::io::Result<impl Future<Output = &'static str>> {
    Ok(async {
        match tokio::signal::ctrl_c().await {
            Ok(()) => "Ctrl-C",
            // Without a way to hear Ctrl-C, run until killed.
            Err(_) => std::future::pending().await,
        }
    })
}

/// Logging, then the async runtime: what every command that talks to the
/// database needs before it starts.
fn logging_and_runtime(log: config::LogSettings) -> Result<tokio::runtime::Runtime, ExitCode> {
    if let Err(error) = telemetry::init(log) {
        eprintln!("tenancy: could not set up logging: {error}");
        return Err(ExitCode::FAILURE);
    }
    tokio::runtime::Runtime::new().map_err(|error| {
        tracing::error!(%error, "could not start the async runtime");
        ExitCode::FAILURE
    })
}
