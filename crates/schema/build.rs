//! Embeds every file of the repository's `migrations/` directory into the crate, so the
//! binary carries its migrations and runs from any directory.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let dir = manifest.join("../../migrations");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut names: Vec<String> = fs::read_dir(&dir)
        .expect("the migrations directory exists")
        .map(|entry| {
            let entry = entry.expect("readable migrations directory");
            println!("cargo:rerun-if-changed={}", entry.path().display());
            entry.file_name().into_string().expect("UTF-8 file name")
        })
        .filter(|name| name.ends_with(".sql"))
        .collect();
    names.sort();
    let mut code = String::from("/// Every `.sql` file of `migrations/`: (file name, contents).\npub(crate) static EMBEDDED: &[(&str, &str)] = &[\n");
    for name in names {
        let path = dir.join(&name).canonicalize().expect("canonical path");
        writeln!(
            code,
            "    ({name:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .expect("writing to a String");
    }
    code.push_str("];\n");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("set by cargo")).join("embedded.rs");
    fs::write(out, code).expect("writing embedded.rs");
}
