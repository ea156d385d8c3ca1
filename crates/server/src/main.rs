//! `tenancy`: the Tenancy server. Reads the configuration, wires the adapters
//! into a [`domain::Tenancy`], serves the HTTP API and runs the retention job
//! until SIGINT or SIGTERM.

mod config;
mod retention;
mod telemetry;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use adapters_cache::{CacheLimits, CachedStore, UsageBatcher};
use clap::{Parser, Subcommand};
use domain::{Ports, Settings, Tenancy};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::{AdminToken, Config, Environment};

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
  TENANCY_ADMIN_TOKEN     platform admin bearer token     [default: generated at
                          start and printed once on standard output]
  TENANCY_REGIONS         code[=Display Name][:unavailable], comma-separated
                                                          [default: global]
  TENANCY_BASE_DOMAIN     tenants' subdomains live under it, e.g. tenancy.example.com
  TENANCY_RETENTION_DAYS  days a deactivated tenant is kept before deletion [default: 30]
  TENANCY_LOG_FORMAT      text or json                    [default: text]
  TENANCY_LOG, RUST_LOG   log filter, e.g. info,adapters_http=debug [default: info]
  DATABASE_URL            reserved for the Postgres adapter; this build refuses to
                          start when it is set

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
    Serve,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config_file = cli.config.or_else(|| {
        std::env::var_os("TENANCY_CONFIG")
            .filter(|path| !path.is_empty())
            .map(PathBuf::from)
    });
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config_file),
    }
}

fn serve(config_file: Option<PathBuf>) -> ExitCode {
    let config = match Environment::from_process()
        .and_then(|env| Config::load(config_file.as_deref(), &env))
    {
        Ok(config) => config,
        Err(error) => {
            eprintln!("tenancy: configuration error: {error}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let Config {
        listen,
        admin_token,
        regions,
        base_domain,
        retention,
        key_prefix,
        verify_cache_keys,
        log,
    } = config;

    if let Err(error) = telemetry::init(log) {
        eprintln!("tenancy: could not set up logging: {error}");
        return ExitCode::FAILURE;
    }

    let admin_token = match admin_token {
        Some(token) => token,
        None => match AdminToken::generate() {
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
    };
    let http = adapters_http::HttpConfig {
        admin_token: admin_token.expose().to_owned(),
        base_domain,
    };
    let cache = CacheLimits {
        max_keys: verify_cache_keys,
        ..CacheLimits::default()
    };
    match runtime.block_on(run(listen, settings, cache, http)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error}");
            ExitCode::FAILURE
        }
    }
}

/// How often key uses are written back as `last_used_at` (SPEC §3: coarse).
const USAGE_FLUSH: std::time::Duration = std::time::Duration::from_secs(30);

/// The only store this build has, behind the verification cache, with key uses
/// batched off the hot path. The Postgres adapter will be chosen here, from
/// `DATABASE_URL`, when it exists.
fn in_memory_ports(cache: CacheLimits) -> (Ports, Arc<UsageBatcher>) {
    tracing::warn!(
        "using the in-memory store: data lives only in this process and will not survive \
         a restart"
    );
    let store = Arc::new(adapters_memory::MemoryStore::new());
    let cached = Arc::new(CachedStore::new(store.clone(), cache));
    let usage = UsageBatcher::new(cached.clone());
    let ports = Ports {
        orgs: store.clone(),
        tenants: cached.clone(),
        namespaces: store.clone(),
        keys: cached,
        audit: store,
        clock: Arc::new(adapters_system::SystemClock),
        ids: Arc::new(adapters_system::UuidV7Ids),
        secrets: Arc::new(adapters_system::OsSecrets),
        key_usage: usage.clone(),
    };
    (ports, usage)
}

/// Serves until a shutdown signal, then lets in-flight requests finish and
/// stops the retention job.
async fn run(
    listen: std::net::SocketAddr,
    settings: Settings,
    cache: CacheLimits,
    http: adapters_http::HttpConfig,
) -> Result<(), String> {
    let (ports, usage) = in_memory_ports(cache);
    let tenancy = Tenancy::new(ports, settings);
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
    let retention = tokio::spawn(retention::run(tenancy.clone(), stopped));
    let app = adapters_http::router(tenancy, http);

    tracing::info!("listening on {address}");
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let signal = shutdown.await;
            tracing::info!("received {signal}: finishing in-flight requests, then stopping");
            // The receiver may be gone already; nothing to stop then.
            let _ = stop.send(true);
        })
        .await;

    if let Err(error) = retention.await {
        tracing::error!(%error, "the retention job ended abnormally");
    }
    flusher.abort();
    usage.flush().await;
    served.map_err(|e| format!("the HTTP server failed: {e}"))?;
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
