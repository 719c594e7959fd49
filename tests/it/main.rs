//! The one integration test binary: modules by stage, fixtures as data.

mod check;
mod cli;
mod confined;
mod daemons;
mod dns;
mod docs;
mod engine;
mod escape;
mod hostile;
mod listings;
mod packets;
mod query;
mod readback;
mod report;
mod targets;
mod truth;

use std::path::{Path, PathBuf};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Load and check a plan given relative to the repository root (so paths in output are
/// stable). Cargo runs the test binary in the repository root; nothing changes directory in
/// this parallel binary.
pub fn checked(rel: &str) -> netc::Checked {
    netc::load_and_check(&[PathBuf::from(rel)]).expect("plan loads")
}

pub fn datalyptica() -> &'static netc::Checked {
    static PLAN: std::sync::OnceLock<netc::Checked> = std::sync::OnceLock::new();
    PLAN.get_or_init(|| checked("fixtures/datalyptica"))
}

pub fn rel(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Run the netc binary from the repository root: (exit status, stdout, stderr).
pub fn run_netc(args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_netc"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env_remove("COLUMNS")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A fresh copy of the Datalyptica plan under `target/NAME`, to change.
pub fn datalyptica_copy(name: &str) -> std::path::PathBuf {
    let dir = root().join("target").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for f in std::fs::read_dir(root().join("fixtures/datalyptica")).unwrap() {
        let f = f.unwrap().path();
        if f.extension().is_some_and(|e| e == "netc") {
            std::fs::copy(&f, dir.join(f.file_name().unwrap())).unwrap();
        }
    }
    dir
}

/// A plan of one file `plan.netc` under `target/NAME` (a fresh directory).
pub fn plan_dir(name: &str, text: &str) -> std::path::PathBuf {
    let dir = root().join("target").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("plan.netc"), text).unwrap();
    dir
}

/// Every file of a tree (relative path, contents), sorted.
pub fn tree(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    fn go(base: &std::path::Path, dir: &std::path::Path, out: &mut Vec<(String, Vec<u8>)>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                go(base, &p, out);
            } else {
                let rel = p.strip_prefix(base).unwrap().display().to_string();
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    go(dir, dir, &mut out);
    out.sort();
    out
}
