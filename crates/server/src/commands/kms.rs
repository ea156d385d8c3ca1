//! `tenancy kms init|rotate|retire`: the commands that manage the
//! key-encryption key that wraps the data keys. Opening the KMS itself is in
//! `crate::kms`.

use std::path::PathBuf;
use std::process::ExitCode;

use adapters_cache::CacheLimits;
use clap::Subcommand;
use domain::{Settings, Tenancy};

use crate::{EXIT_CONFIG, kms, load, logging_and_runtime, store};

#[derive(Debug, Subcommand)]
pub enum KmsCommand {
    /// Create a keyring file (mode 0600) with one fresh master key; refuses to
    /// overwrite an existing file
    Init {
        /// Where to create it [env: TENANCY_KEYRING]
        #[arg(long, value_name = "PATH")]
        keyring: Option<PathBuf>,
    },
    /// Add a version to the KEK of the configured KMS, then rewrap every
    /// tenant's data key on the database with it, in batches, while servers
    /// keep serving (they read a rotated keyring file again on their own)
    Rotate {
        /// Data keys rewrapped per batch
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u16).range(1..))]
        batch: u16,
    },
    /// Destroy an old version of the KEK once no stored data key is wrapped by
    /// it (run `tenancy kms rotate` first): backups taken while it wrapped data
    /// keys can no longer be decrypted. Refused for the current version, while
    /// any data key still uses it, and by AWS KMS, which keeps its key
    /// material versions itself
    Retire {
        /// The version to retire (`tenancy kms rotate` prints the current one)
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        version: u32,
    },
}

/// Runs one `tenancy kms` command; its exit code is the process's.
pub fn run(command: KmsCommand, config_file: Option<PathBuf>) -> ExitCode {
    match command {
        KmsCommand::Init { keyring } => kms_init(keyring),
        KmsCommand::Rotate { batch } => kms_rotate(config_file, batch.into()),
        KmsCommand::Retire { version } => kms_retire(config_file, version),
    }
}

/// Opens the configured KMS and the database for a `tenancy kms` command that
/// works on the stored data keys, runs `work` on them, then closes the store:
/// exit 2 without a database or with a KMS misconfigured, 1 when either
/// cannot be opened, else what `work` says.
fn with_data_keys<F, Fut>(config_file: Option<PathBuf>, command: &str, work: F) -> ExitCode
where
    F: FnOnce(Tenancy) -> Fut,
    Fut: std::future::Future<Output = ExitCode>,
{
    let config = match load(config_file) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let Some(database) = config.database else {
        eprintln!(
            "tenancy: configuration error: `tenancy kms {command}` needs DATABASE_URL: the \
             data keys are in the database (the in-memory store lives only inside its \
             server)"
        );
        return ExitCode::from(EXIT_CONFIG);
    };
    let runtime = match logging_and_runtime(config.log) {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    runtime.block_on(async move {
        let kms = match kms::open(&config.kms).await {
            Ok(kms) => kms,
            Err(kms::OpenError::Config(message)) => {
                tracing::error!("configuration error: {message}");
                return ExitCode::from(EXIT_CONFIG);
            }
            Err(kms::OpenError::Unavailable(message)) => {
                tracing::error!("could not open the KMS: {message}");
                return ExitCode::FAILURE;
            }
        };
        // KMS maintenance sends no email.
        let mailer = std::sync::Arc::new(adapters_mail::LogMailer::new());
        // These commands check no custom domain: a resolver that asks nobody.
        let dns = std::sync::Arc::new(adapters_memory::MemoryDns::new());
        let store = match store::postgres(
            &database,
            &config.query_limits,
            CacheLimits::default(),
            kms,
            mailer,
            dns,
        )
        .await
        {
            Ok(store) => store,
            Err(error) => {
                tracing::error!("{error}");
                return ExitCode::FAILURE;
            }
        };
        let code = work(Tenancy::new(store.ports.clone(), Settings::default())).await;
        store.close().await;
        code
    })
}

/// `tenancy kms rotate`: exit 0 when every data key carries the new version, 2
/// without a database, 1 when the KMS or the database fails.
fn kms_rotate(config_file: Option<PathBuf>, batch: usize) -> ExitCode {
    with_data_keys(config_file, "rotate", |tenancy| async move {
        match tenancy.rotate_kek().await {
            Ok(info) => {
                println!(
                    "rotated {}: new data keys are wrapped with {}",
                    info.kek_id, info.current_version
                );
                let rewrap = tenancy.rewrap_data_keys(batch, |p| {
                    println!(
                        "rewrapping to {}: {} data keys seen, {} rewrapped",
                        p.target, p.seen, p.rewrapped
                    );
                });
                match rewrap.await {
                    Ok(done) => {
                        println!(
                            "done: {} data keys, {} rewrapped to {}",
                            done.seen, done.rewrapped, done.target
                        );
                        ExitCode::SUCCESS
                    }
                    Err(error) => {
                        tracing::error!(
                            "the rewrap stopped: {error}; once that is fixed, run `tenancy \
                             kms rotate` again: it adds another version and rewraps every \
                             data key still on an older one"
                        );
                        ExitCode::FAILURE
                    }
                }
            }
            Err(error) => {
                tracing::error!("could not rotate the KEK: {error}");
                ExitCode::FAILURE
            }
        }
    })
}

/// `tenancy kms retire --version N`: exit 0 when the version is retired (or
/// was already), 2 without a database, 1 when it is refused (current, still in
/// use, unknown, or a KMS that cannot retire one version) or something fails.
fn kms_retire(config_file: Option<PathBuf>, version: u32) -> ExitCode {
    let Some(version) = domain::kms::KekVersion::new(version) else {
        eprintln!("tenancy: configuration error: --version counts from 1");
        return ExitCode::from(EXIT_CONFIG);
    };
    with_data_keys(config_file, "retire", |tenancy| async move {
        match tenancy.retire_kek_version(version).await {
            Ok(info) => {
                let left: Vec<String> = info.versions.iter().map(ToString::to_string).collect();
                println!(
                    "retired {version} of {}: its key material is destroyed; versions left: {}",
                    info.kek_id,
                    left.join(", ")
                );
                ExitCode::SUCCESS
            }
            Err(error) => {
                tracing::error!("could not retire {version}: {error}");
                ExitCode::FAILURE
            }
        }
    })
}

/// `tenancy kms init`: exit 0 with the file created, 2 without a path, 1 when
/// the file exists or cannot be written.
fn kms_init(keyring: Option<PathBuf>) -> ExitCode {
    let Some(path) = keyring.or_else(|| {
        std::env::var_os("TENANCY_KEYRING")
            .filter(|path| !path.is_empty())
            .map(PathBuf::from)
    }) else {
        eprintln!(
            "tenancy: configuration error: `tenancy kms init` needs --keyring PATH (or \
             TENANCY_KEYRING): where to create the keyring file"
        );
        return ExitCode::from(EXIT_CONFIG);
    };
    match kms::init(&path) {
        Ok(message) => {
            println!("{message}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("tenancy: {error}");
            ExitCode::FAILURE
        }
    }
}
