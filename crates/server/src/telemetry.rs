//! Structured logs (tracing): human-readable text or one JSON object per line,
//! always on standard error. Standard output is kept for what an operator must
//! read exactly once, such as a generated admin token, and never carries a log
//! line.

use std::io::IsTerminal as _;

use crate::config::{LogFormat, LogSettings};

/// Installs the global subscriber. Fails only if one is already installed.
pub fn init(settings: LogSettings) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let builder = tracing_subscriber::fmt()
        .with_env_filter(settings.filter)
        .with_writer(std::io::stderr);
    match settings.format {
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
    }
}
