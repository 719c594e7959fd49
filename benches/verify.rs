//! Verification at scale: the router ruleset and the largest host ruleset of generated plans
//! (both address layouts), compiled, loaded by the real `nft -f` into a private network
//! namespace, listed back (`nft -j list ruleset`), read and proven equal to the plan
//! (`readback::verify`), each stage timed once. Needs root, `ip` and `nft` (it says so and
//! stops otherwise). `cargo bench --bench verify`; NETC_BENCH_FLOWS=10000 for one size.
//! docs/performance.md records its output.

use netc::generate::{generate, GenOptions};
use netc::readback::{self, Point, Ruleset};
use netc::targets::{render_each, Context, TargetKind};
use std::process::Command;
use std::time::Instant;

fn secs(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}

/// Load `text` into a fresh namespace: (seconds of `nft -f`, seconds of `nft -j list
/// ruleset`, the JSON). The namespace is removed afterwards.
fn load(text: &str, n: usize) -> (f64, f64, String) {
    let ns = format!("netc-bench-verify-{}-{n}", std::process::id());
    let file = std::env::temp_dir().join(format!("{ns}.nft"));
    std::fs::write(&file, text).expect("temporary file");
    assert!(Command::new("ip")
        .args(["netns", "add", &ns])
        .status()
        .expect("ip")
        .success());
    let t = Instant::now();
    let o = Command::new("ip")
        .args(["netns", "exec", &ns, "nft", "-f"])
        .arg(&file)
        .output()
        .expect("nft");
    let t_load = secs(t);
    let ok = o.status.success();
    let t = Instant::now();
    let listed = Command::new("ip")
        .args(["netns", "exec", &ns, "nft", "-j", "list", "ruleset"])
        .output()
        .expect("nft");
    let t_list = secs(t);
    let _ = Command::new("ip").args(["netns", "del", &ns]).status();
    let _ = std::fs::remove_file(&file);
    assert!(
        ok,
        "nft -f refuses it: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    (
        t_load,
        t_list,
        String::from_utf8(listed.stdout).expect("JSON is UTF-8"),
    )
}

fn main() {
    let root_ok = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .is_ok_and(|o| o.status.success())
        && unsafe { libc::geteuid() } == 0;
    if !root_ok {
        println!("verify bench: needs root, `ip` and `nft` (network namespaces); not run");
        return;
    }
    let only: Option<Vec<usize>> = std::env::var("NETC_BENCH_FLOWS")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect());
    println!("| layout | flows | hosts | file | size | compile (all nftables files) | nft -f | nft -j list | read JSON | verify | differences |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let sizes = [(10_000, 2_000, 50), (100_000, 20_000, 500)];
    for (flows, hosts, tiers) in sizes {
        if only.as_ref().is_some_and(|o| !o.contains(&flows)) {
            continue;
        }
        let layouts: Vec<bool> = match std::env::var("NETC_BENCH_LAYOUT").as_deref() {
            Ok("scattered") => vec![true],
            Ok("contiguous") => vec![false],
            _ => vec![false, true],
        };
        for scattered in layouts {
            let opts = GenOptions {
                vlans: if scattered { tiers / 5 } else { tiers / 10 },
                tiers,
                hosts,
                services: if scattered { 300 } else { 200 },
                flows,
                seed: 7,
                host_firewall: netc::ir::FirewallKind::Nftables,
                infra: false,
                scattered,
            };
            let checked = netc::check_text("bench.netc", &generate(&opts));
            assert!(!checked.has_errors(), "generated plans check");
            let (plan, info) = (&checked.plan, checked.info.as_ref().expect("info"));
            let mut router = None;
            let mut largest: Option<(String, String)> = None;
            let t = Instant::now();
            render_each(
                plan,
                info,
                &[TargetKind::Nftables],
                &Context::default(),
                &mut |f| {
                    let name = f.path.file_stem().unwrap().to_string_lossy().into_owned();
                    if f.path.starts_with("nftables/routers") {
                        router = Some((name, f.contents.clone()));
                    } else if f.path.starts_with("nftables/hosts")
                        && largest
                            .as_ref()
                            .is_none_or(|l| l.1.len() < f.contents.len())
                    {
                        largest = Some((name, f.contents.clone()));
                    }
                    Ok(())
                },
            )
            .expect("renders");
            let t_compile = secs(t);
            let files = [router.expect("a router"), largest.expect("a host")];
            for (i, (name, text)) in files.iter().enumerate() {
                let point = if i == 0 {
                    Point::Router(plan.routers.iter().position(|r| &r.name == name).unwrap())
                } else {
                    Point::Host(plan.hosts.iter().position(|h| &h.name == name).unwrap())
                };
                let (t_load, t_list, json) = load(text, i);
                let t = Instant::now();
                let rs = Ruleset::from_json(&json).expect("reads");
                let t_read = secs(t);
                let t = Instant::now();
                let diffs = readback::verify(plan, info, point, &rs, 20);
                let t_verify = secs(t);
                println!(
                    "| {} | {flows} | {hosts} | {} {name} | {:.1} MB | {t_compile:.2} s | {t_load:.2} s | {t_list:.2} s | {t_read:.2} s | {t_verify:.2} s | {} |",
                    if scattered { "scattered" } else { "contiguous" },
                    if i == 0 { "router" } else { "host" },
                    text.len() as f64 / 1e6,
                    diffs.len()
                );
                assert!(
                    diffs.is_empty(),
                    "{name}: {:?}",
                    &diffs[..diffs.len().min(3)]
                );
            }
        }
    }
    println!("\neach stage timed once (release build); compile: every nftables file of the plan, in memory");
}
