//! Tests that need a PostgreSQL server are marked ignored, not passed, when
//! `MENTORD_TEST_POSTGRES` does not name one: `cargo test` then says so in its count.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=MENTORD_TEST_POSTGRES");
    println!("cargo::rustc-check-cfg=cfg(mentord_test_postgres)");
    if std::env::var_os("MENTORD_TEST_POSTGRES").is_some_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=mentord_test_postgres");
    }
}
