//! `sqlx::migrate!` embeds `migrations/` at compile time; this makes cargo
//! rebuild the crate when a migration is added, not only when one changes.

fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
