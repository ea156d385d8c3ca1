//! The domain-purity check (STYLE.md, "The domain stays pure, and a test proves
//! it"): the `domain` crate must not reach an I/O or async-runtime crate through
//! its normal dependencies, directly or through any other crate.

use crate::{Cargo, Failure};

/// Crates that would mean the domain does I/O or picks a runtime.
const FORBIDDEN: &[&str] = &["tokio", "sqlx", "axum", "hyper", "reqwest", "tower", "mio"];

pub(crate) fn check(cargo: &Cargo) -> Result<(), Failure> {
    eprintln!("\n==> domain purity: the normal dependencies of `domain`");
    // `--prefix depth` is `--prefix none` plus each line's depth, which is what
    // it takes to name the path through which a forbidden crate arrives.
    // Dev-dependencies are excluded on purpose: tests may use a runtime.
    let tree = cargo.output(&[
        "tree",
        "--package",
        "domain",
        "--edges",
        "normal",
        "--all-features",
        "--prefix",
        "depth",
        "--format",
        "{p}",
    ])?;
    let offending = forbidden_paths(&tree);
    if offending.is_empty() {
        eprintln!("domain depends on none of: {}", FORBIDDEN.join(", "));
        return Ok(());
    }
    let paths: Vec<String> = offending
        .iter()
        .map(|path| format!("  {}", path.join(" -> ")))
        .collect();
    Err(Failure::Failed(format!(
        "the domain crate must stay free of I/O and runtime crates, but it depends on:\n{}\n\
         Move that code into an adapter crate and reach it through a port.",
        paths.join("\n")
    )))
}

/// Every path from the root to a forbidden crate in `cargo tree --prefix depth
/// --format {p}` output (lines such as `2tokio v1.45.0`).
fn forbidden_paths(tree: &str) -> Vec<Vec<String>> {
    let mut stack: Vec<String> = Vec::new();
    let mut found = Vec::new();
    for line in tree.lines() {
        let digits = line.chars().take_while(char::is_ascii_digit).count();
        let Ok(depth) = line[..digits].parse::<usize>() else {
            continue;
        };
        let Some(name) = line[digits..].split_whitespace().next() else {
            continue;
        };
        stack.truncate(depth);
        stack.push(name.to_owned());
        if FORBIDDEN.contains(&name) {
            found.push(stack.clone());
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pure_tree_has_no_forbidden_paths() {
        let tree = "0domain v0.1.0 (/src/crates/domain)\n\
                    1thiserror v2.0.0\n\
                    2thiserror-impl v2.0.0 (proc-macro)\n\
                    1uuid v1.0.0\n";
        assert!(forbidden_paths(tree).is_empty());
    }

    #[test]
    fn an_indirect_forbidden_crate_is_named_with_its_path() {
        let tree = "0domain v0.1.0 (/src/crates/domain)\n\
                    1uuid v1.0.0\n\
                    1helper v0.3.0\n\
                    2tokio v1.45.0\n\
                    3mio v1.0.0\n\
                    1tower-layer v0.3.0\n";
        assert_eq!(
            forbidden_paths(tree),
            vec![
                vec!["domain", "helper", "tokio"],
                vec!["domain", "helper", "tokio", "mio"],
            ]
        );
    }

    #[test]
    fn crates_whose_names_only_start_like_a_forbidden_one_pass() {
        let tree = "0domain v0.1.0\n1tower-layer v0.3.0\n1tokio-macros v2.0.0\n";
        assert!(forbidden_paths(tree).is_empty());
    }
}
