//! A contract case is a `pub async fn` in `src/contract/<family>.rs` (or in a
//! file under `src/contract/<family>/`) and a line in the `store_contract!` or
//! `kms_contract!` macro; a case written but not listed would never run. These
//! tests read both from the source and fail naming every case missing from a
//! list. (A listed case that does not exist already fails to compile.)

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Family name → the case names of that family.
type Cases = BTreeMap<String, BTreeSet<String>>;

fn crate_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The names of the `pub async fn`s declared in `source`.
fn public_async_fns(source: &str) -> BTreeSet<String> {
    source
        .lines()
        .filter_map(|line| line.trim_start().strip_prefix("pub async fn "))
        .map(|rest| {
            rest.chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect()
        })
        .collect()
}

/// Every case written under `src/contract`, by family: the family's own file
/// and, when it has been split, every file in its directory.
fn written_cases(contract_dir: &Path) -> Cases {
    let mut cases = Cases::new();
    let entries = fs::read_dir(contract_dir)
        .unwrap_or_else(|e| panic!("listing {}: {e}", contract_dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        if stem == "mod" {
            continue;
        }
        let mut names = BTreeSet::new();
        if path.is_dir() {
            for file in fs::read_dir(&path).expect("listing a family's directory") {
                let file = file.expect("a directory entry").path();
                if file.extension().is_some_and(|e| e == "rs") {
                    names.extend(public_async_fns(&read(&file)));
                }
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            names.extend(public_async_fns(&read(&path)));
        }
        if !names.is_empty() {
            cases.entry(stem.to_owned()).or_default().extend(names);
        }
    }
    cases
}

/// The text of `macro_rules! <name> {` up to the next `macro_rules!`.
fn macro_body<'a>(source: &'a str, name: &str) -> &'a str {
    let start = source
        .find(&format!("macro_rules! {name} {{"))
        .unwrap_or_else(|| panic!("no `macro_rules! {name}` in lib.rs"));
    let body = &source[start + 1..];
    let end = body.find("macro_rules!").unwrap_or(body.len());
    &body[..end]
}

/// The cases a listing macro names, by family: a line `family {` opens a
/// family, a line `case,` names a case of the open one (or of `flat_family`
/// when the macro lists one family without braces).
fn listed_cases(body: &str, flat_family: Option<&str>) -> Cases {
    let mut cases = Cases::new();
    let mut family = flat_family.map(str::to_owned);
    for line in body.lines().map(str::trim) {
        let is_ident =
            |s: &str| !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_');
        if let Some(name) = line.strip_suffix(" {").filter(|s| is_ident(s)) {
            family = Some(name.to_owned());
        } else if let Some(name) = line.strip_suffix(',').filter(|s| is_ident(s)) {
            let family = family.clone().expect("a case listed outside a family");
            cases.entry(family).or_default().insert(name.to_owned());
        }
    }
    cases
}

/// "family::case" for every written case the listing lacks.
fn unlisted(written: &Cases, listed: &Cases) -> Vec<String> {
    written
        .iter()
        .flat_map(|(family, names)| {
            names
                .iter()
                .filter(move |name| !listed.get(family).is_some_and(|l| l.contains(*name)))
                .map(move |name| format!("{family}::{name}"))
        })
        .collect()
}

#[test]
fn every_written_contract_case_is_listed_in_its_macro() {
    let lib = read(&crate_file("src/lib.rs"));
    let mut listed = listed_cases(macro_body(&lib, "store_contract"), None);
    listed.extend(listed_cases(macro_body(&lib, "kms_contract"), Some("kms")));
    let mut written = written_cases(&crate_file("src/contract"));
    // The id-generator cases are plain functions that a generator's own tests
    // call; no macro lists them.
    written.remove("ids");
    let missing = unlisted(&written, &listed);
    assert!(
        missing.is_empty(),
        "contract cases written but not listed in `store_contract!`/`kms_contract!` in \
         src/lib.rs, so they never run: {missing:?}"
    );
    // Guard against the scan itself finding nothing.
    assert!(written.len() >= 10 && written.contains_key("kms"));
}

#[test]
fn a_case_missing_from_the_listing_is_reported_by_family_and_name() {
    let source = "pub async fn listed(store: StorePorts) {}\n\
                  async fn helper() {}\n\
                  pub async fn forgotten(store: StorePorts) {}\n";
    let written = Cases::from([("orgs".to_owned(), public_async_fns(source))]);
    let body = "macro_rules! store_contract {\n  orgs {\n    listed,\n  }\n";
    let listed = listed_cases(body, None);
    assert_eq!(unlisted(&written, &listed), ["orgs::forgotten"]);
}
