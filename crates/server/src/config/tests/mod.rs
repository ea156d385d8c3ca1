//! The configuration's tests, one file per topic; the helpers here build a
//! [`Config`] from environment pairs and TOML text the way `Config::load` does.

mod database;
mod file;
mod general;
mod kms;
mod limits;
mod registration;

use super::*;

fn from_env(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
    Config::from_figment(&layers(None, &Environment::from_pairs(pairs)))
}

fn from_toml(toml: &str, pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
    Config::from_figment(&layers(
        Some(Toml::string(toml)),
        &Environment::from_pairs(pairs),
    ))
}

fn error(result: Result<Config, ConfigError>) -> String {
    result
        .expect_err("the configuration should be refused")
        .to_string()
}

fn codes(config: &Config) -> Vec<(&str, &str, bool)> {
    config
        .regions
        .all()
        .iter()
        .map(|r| (r.code.as_str(), r.name.as_str(), r.available))
        .collect()
}
