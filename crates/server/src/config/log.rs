//! The log settings: the format of the lines and the filter of what is logged.

use serde::Deserialize;
use tracing_subscriber::EnvFilter;

#[derive(Debug)]
pub struct LogSettings {
    pub format: LogFormat,
    pub filter: EnvFilter,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum LogFormat {
    Text,
    Json,
}

impl TryFrom<String> for LogFormat {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, String> {
        match raw.trim() {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            other => Err(format!(
                "{other:?} is not a log format (expected `text` or `json`)"
            )),
        }
    }
}

/// A log filter such as `info,adapters_http=debug` (`TENANCY_LOG`, `RUST_LOG`).
#[derive(Deserialize)]
#[serde(try_from = "String")]
pub(super) struct LogFilter(pub(super) EnvFilter);

impl TryFrom<String> for LogFilter {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, String> {
        EnvFilter::builder()
            .parse(raw.trim())
            .map(Self)
            .map_err(|e| format!("{raw:?} is not a log filter: {e}"))
    }
}
