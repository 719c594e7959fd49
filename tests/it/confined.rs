//! Nothing escapes `--out`, and a compile is one transaction: the cases of issue 13, each a
//! regression test.

use super::*;
use std::os::unix::fs::symlink;
use std::path::PathBuf;
use std::process::Command;

fn scratch(name: &str) -> PathBuf {
    let dir = root().join("target/it-confined").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn compile(plan: &str, out: &std::path::Path, extra: &[&str]) -> (i32, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_netc"))
        .current_dir(root())
        .arg("compile")
        .arg(plan)
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

const PLAN: &str = "fixtures/valid/three-tiers/plan.netc";

#[test]
fn a_symlinked_directory_and_a_forged_manifest_delete_nothing_outside() {
    let base = scratch("manifest");
    let outside = base.join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret.txt"), "keep me").unwrap();
    let out = base.join("out");
    let (code, _, err) = compile(PLAN, &out, &[]);
    assert_eq!(code, 0, "{err}");
    symlink(&outside, out.join("evil")).unwrap();
    let mut manifest = std::fs::read_to_string(out.join(".netc-manifest")).unwrap();
    manifest.push_str("evil/secret.txt\n");
    std::fs::write(out.join(".netc-manifest"), manifest).unwrap();
    let (code, _, err) = compile(PLAN, &out, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("symbolic link"), "{err}");
    assert_eq!(
        std::fs::read_to_string(outside.join("secret.txt")).unwrap(),
        "keep me"
    );
}

#[test]
fn the_root_and_trailing_slash_links_are_refused() {
    let (code, _, err) = compile(PLAN, std::path::Path::new("/"), &[]);
    assert_eq!(code, 2, "{err}");
    let base = scratch("slash");
    let real = base.join("real");
    std::fs::create_dir_all(&real).unwrap();
    let link = base.join("link");
    symlink(&real, &link).unwrap();
    let (code, _, err) = compile(PLAN, &base.join("link/"), &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("symbolic link"), "{err}");
    assert_eq!(std::fs::read_dir(&real).unwrap().count(), 0);
    // A directory netc did not fill is not taken over.
    let home = base.join("home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(home.join("notes.txt"), "mine").unwrap();
    let (code, _, err) = compile(PLAN, &home, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("netc did not write this file") && err.contains("no .netc-manifest"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(home.join("notes.txt")).unwrap(),
        "mine"
    );
}

#[test]
fn pre_placed_links_are_never_written_through() {
    let base = scratch("tmp-links");
    let victim = base.join("victim");
    std::fs::write(&victim, "intact").unwrap();
    let out = base.join("out");
    let (code, _, err) = compile(PLAN, &out, &[]);
    assert_eq!(code, 0, "{err}");
    symlink(&victim, out.join(".netc-manifest.netc-tmp")).unwrap();
    let (code, _, _) = compile(PLAN, &out, &[]);
    assert_eq!(code, 2);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "intact");
    // A report written next to a planted temporary name.
    let rdir = base.join("r");
    std::fs::create_dir_all(&rdir).unwrap();
    symlink(&victim, rdir.join(".report.html.netc-tmp")).unwrap();
    let (code, _, err) = run_netc(&[
        "report",
        PLAN,
        "-o",
        rdir.join("report.html").to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "intact");
}

#[test]
fn check_never_reads_through_a_link() {
    let base = scratch("check-link");
    let secret = base.join("shadow");
    std::fs::write(&secret, "root:SECRET-HASH:19000::::::\n").unwrap();
    let out = base.join("out");
    let (code, _, err) = compile(PLAN, &out, &[]);
    assert_eq!(code, 0, "{err}");
    let host = std::fs::read_dir(out.join("nftables/hosts"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::remove_file(&host).unwrap();
    symlink(&secret, &host).unwrap();
    let (code, out_text, _) = compile(PLAN, &out, &["--check"]);
    assert_eq!(code, 1);
    assert!(!out_text.contains("SECRET-HASH"), "{out_text}");
    assert!(out_text.contains("symbolic link"), "{out_text}");
}

#[test]
fn a_run_of_some_targets_leaves_the_others_alone() {
    let base = scratch("partial");
    let out = base.join("out");
    let plan = "fixtures/datalyptica";
    let (code, _, err) = compile(plan, &out, &[]);
    assert_eq!(code, 0, "{err}");
    let before = tree(&out);
    let (code, stdout, err) = compile(plan, &out, &["--target", "nftables"]);
    assert_eq!(code, 0, "{err}");
    assert!(stdout.contains(" 0 changed"), "{stdout}");
    assert_eq!(
        tree(&out),
        before,
        "every file, bind/serials included, as it was"
    );
    assert!(out.join("bind/serials").exists());
    // And --check of one target does not call the others stale.
    let (code, stdout, _) = compile(plan, &out, &["--target", "nftables", "--check"]);
    assert_eq!(code, 0, "{stdout}");
}

#[test]
fn a_file_where_a_directory_belongs_changes_nothing() {
    let base = scratch("file-for-dir");
    let out = base.join("out");
    let (code, _, err) = compile(PLAN, &out, &[]);
    assert_eq!(code, 0, "{err}");
    std::fs::remove_dir_all(out.join("keepalived")).ok();
    std::fs::remove_dir_all(out.join("nftables")).unwrap();
    std::fs::write(out.join("nftables"), "in the way").unwrap();
    let before = tree(&out);
    let (code, _, err) = compile(PLAN, &out, &[]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(tree(&out), before);
}

#[test]
fn a_second_compile_into_the_same_directory_is_refused() {
    if !super::targets::have("flock") {
        return;
    }
    let base = scratch("locked");
    let out = base.join("out");
    let (code, _, err) = compile(PLAN, &out, &[]);
    assert_eq!(code, 0, "{err}");
    // Another writer holds the directory's lock while netc runs.
    let o = Command::new("flock")
        .arg("-x")
        .arg(&out)
        .arg(env!("CARGO_BIN_EXE_netc"))
        .args(["compile", "fixtures/datalyptica", "--out"])
        .arg(&out)
        .current_dir(root())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("another netc compile"), "{err}");
}

#[test]
fn kill_during_compile_leaves_the_old_tree_or_the_new_one() {
    // Two plans with different outputs; compile one, then the other, killed at random times.
    let base = scratch("kill");
    let plan_a = base.join("a.netc");
    let plan_b = base.join("b.netc");
    let gen = |flows: &str, seed: &str, path: &std::path::Path| {
        let o = Command::new(env!("CARGO_BIN_EXE_netc"))
            .args([
                "generate", "--vlans", "4", "--tiers", "12", "--hosts", "300",
            ])
            .args(["--services", "20", "--flows", flows, "--seed", seed])
            .output()
            .unwrap();
        std::fs::write(path, o.stdout).unwrap();
    };
    gen("600", "1", &plan_a);
    gen("700", "2", &plan_b);
    let ref_a = base.join("ref-a");
    let ref_b = base.join("ref-b");
    assert_eq!(compile(plan_a.to_str().unwrap(), &ref_a, &[]).0, 0);
    assert_eq!(compile(plan_b.to_str().unwrap(), &ref_b, &[]).0, 0);
    let (tree_a, tree_b) = (tree(&ref_a), tree(&ref_b));
    // How long a compile takes here, to spread the kills over it.
    let t0 = std::time::Instant::now();
    let out = base.join("out");
    assert_eq!(compile(plan_b.to_str().unwrap(), &out, &[]).0, 0);
    let span = t0.elapsed().as_micros().max(1000) as u64;
    let mut seen = (0, 0);
    for i in 0..16u64 {
        let _ = std::fs::remove_dir_all(&out);
        assert_eq!(compile(plan_a.to_str().unwrap(), &out, &[]).0, 0);
        let mut child = Command::new(env!("CARGO_BIN_EXE_netc"))
            .arg("compile")
            .arg(&plan_b)
            .arg("--out")
            .arg(&out)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Spread over the run and past its end (the commit is at the end).
        let at = span * (30 + (i * 53) % 170) / 100;
        std::thread::sleep(std::time::Duration::from_micros(at));
        let _ = child.kill();
        let _ = child.wait();
        let now = tree(&out);
        if now == tree_a {
            seen.0 += 1;
        } else if now == tree_b {
            seen.1 += 1;
        } else {
            panic!("kill {i} after {at} us left a mixed tree");
        }
    }
    eprintln!(
        "killed runs: {} left the old tree, {} the new",
        seen.0, seen.1
    );
    // Stale staging directories of killed runs are not left to pile up: the next run clears
    // them, and the tree is whole.
    assert_eq!(compile(plan_b.to_str().unwrap(), &out, &[]).0, 0);
    assert_eq!(tree(&out), tree_b);
    let stale: Vec<_> = std::fs::read_dir(&base)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("netc-stage"))
        .collect();
    assert!(stale.is_empty(), "{stale:?}");
}

#[test]
fn the_output_limit_is_a_clear_error_and_changes_nothing() {
    let base = scratch("limit");
    let out = base.join("out");
    let (code, _, err) = compile(PLAN, &out, &["--max-output-bytes", "1000"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("would exceed 1000 bytes"), "{err}");
    assert!(!out.exists(), "an aborted first run leaves no directory");
    let (code, _, err) = compile(PLAN, &out, &[]);
    assert_eq!(code, 0, "{err}");
    let before = tree(&out);
    let (code, _, _) = compile(
        "fixtures/datalyptica",
        &out,
        &["--max-output-bytes", "5000"],
    );
    assert_eq!(code, 2);
    assert_eq!(tree(&out), before);
}
