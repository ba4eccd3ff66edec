//! Generates `ferromq.h` with cbindgen into `OUT_DIR` (the test `header_is_up_to_date` compares
//! it with the committed `include/ferromq.h`). With `FERROMQ_UPDATE_HEADER=1` the committed
//! header is rewritten too.

use std::path::PathBuf;

fn main() {
    let crate_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo"));
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-env-changed=FERROMQ_UPDATE_HEADER");
    // Cargo builds libferromq_c.so; programs must depend on the installed name.
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libferromq.so");
    }
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("bindings/c/cbindgen.toml is valid");
    let bindings = cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates ferromq.h");
    bindings.write_to_file(out_dir.join("ferromq.h"));
    if std::env::var_os("FERROMQ_UPDATE_HEADER").is_some_and(|v| v == "1") {
        bindings.write_to_file(crate_dir.join("include").join("ferromq.h"));
    }
}
