//! Scale benchmarks: every stage of netc on generated plans from 1,000 to 100,000 flows.
//! `cargo bench --bench scale` prints a Markdown table (median of several runs per cell);
//! docs/performance.md records its output. Set NETC_BENCH_QUICK=1 for one run per cell,
//! NETC_BENCH_FLOWS=1000,10000 for some sizes only.

use netc::generate::{generate, GenOptions};
use netc::targets::{render_each, Context, TargetKind};
use std::time::{Duration, Instant};

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        let out = f();
        times.push(start.elapsed());
        last = Some(out);
    }
    (median(times), last.expect("at least one run"))
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// The generated plan of one size (hosts on nftables, 200 services, seed 7).
fn sized(flows: usize, hosts: usize, tiers: usize, vlans: usize, infra: bool) -> GenOptions {
    GenOptions {
        vlans,
        tiers,
        hosts,
        services: 200,
        flows,
        seed: 7,
        host_firewall: netc::ir::FirewallKind::Nftables,
        infra,
        scattered: false,
    }
}

/// The scattered layout of the same size (`netc generate --layout scattered`): 300 services
/// with port ranges, hosts at random addresses of shared VLANs, overlapping networks.
fn scattered(flows: usize, hosts: usize, tiers: usize, vlans: usize) -> GenOptions {
    GenOptions {
        services: 300,
        scattered: true,
        ..sized(flows, hosts, tiers, vlans, false)
    }
}

/// The scattered layout's table: check, query, and compile of every target with hosts on
/// nftables, then on firewalld and ufw, and with hosts unmanaged (the router only).
fn scattered_table(quick: bool, only: &Option<Vec<usize>>) {
    let sizes: &[(usize, usize, usize, usize)] = &[
        (1_000, 200, 10, 2),
        (10_000, 2_000, 50, 10),
        (50_000, 10_000, 250, 50),
        (100_000, 20_000, 500, 100),
    ];
    println!("| flows | hosts | check | query | compile, hosts on nftables | output | largest host file | the same, --nft-blocks shared | output | compile, router only | router file | router elements | compile, hosts on firewalld | output | hosts on ufw |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for &(flows, hosts, tiers, vlans) in sizes
        .iter()
        .filter(|s| only.as_ref().is_none_or(|o| o.contains(&s.0)))
    {
        let runs = if quick || flows >= 50_000 { 1 } else { 5 };
        let opts = scattered(flows, hosts, tiers, vlans);
        let checked_of = |fw| {
            let c = netc::check_text(
                "bench.netc",
                &generate(&GenOptions {
                    host_firewall: fw,
                    ..opts
                }),
            );
            assert!(!c.has_errors(), "generated plans check");
            c
        };
        let text = generate(&opts);
        let (t_check, checked) = time(runs.max(3), || netc::check_text("bench.netc", &text));
        let (plan, info) = (&checked.plan, checked.info.as_ref().expect("info"));
        let (t_query, verdict) = time(30, || {
            netc::query::ask(plan, info, "h1", "t7", Some("s7"))
                .map(|a| netc::query::explain::explain(plan, info, &a).verdict)
        });
        let _ = verdict.expect("query answers");
        let mut largest = 0;
        let (t_nft, bytes) = time(runs, || {
            let mut bytes = 0;
            largest = 0;
            render_each(
                plan,
                info,
                TargetKind::all(),
                &Context::default(),
                &mut |f| {
                    bytes += f.contents.len();
                    if f.path.starts_with("nftables/hosts") {
                        largest = largest.max(f.contents.len());
                    }
                    Ok(())
                },
            )
            .expect("renders");
            bytes
        });
        let shared = Context {
            nft_blocks: netc::targets::NftBlocks::Shared,
            ..Default::default()
        };
        let (t_shared, shared_bytes) = time(runs, || {
            let mut bytes = 0;
            render_each(plan, info, TargetKind::all(), &shared, &mut |f| {
                bytes += f.contents.len();
                Ok(())
            })
            .expect("renders");
            bytes
        });
        let router = checked_of(netc::ir::FirewallKind::None);
        // Hosts unmanaged: the one file is the router's.
        let (t_router, (router_bytes, elements)) =
            time(runs, || compile(&router, &[TargetKind::Nftables]));
        let fwd = checked_of(netc::ir::FirewallKind::Firewalld);
        let (t_fwd, (fwd_bytes, _)) = time(1, || compile(&fwd, &[TargetKind::Firewalld]));
        let ufw = checked_of(netc::ir::FirewallKind::Ufw);
        let ufw_result = render_each(
            &ufw.plan,
            ufw.info.as_ref().expect("info"),
            &[TargetKind::Ufw],
            &Context::default(),
            &mut |_| Ok(()),
        );
        println!(
            "| {flows} | {hosts} | {} | {:.3} | {} | {} | {:.0} KB | {} | {} | {} | {:.1} MB | {elements} | {} | {} | {} |",
            ms(t_check),
            t_query.as_secs_f64() * 1000.0,
            ms(t_nft),
            mb(bytes),
            largest as f64 / 1e3,
            ms(t_shared),
            mb(shared_bytes),
            ms(t_router),
            router_bytes as f64 / 1e6,
            ms(t_fwd),
            mb(fwd_bytes),
            match ufw_result {
                Ok(()) => "written".to_string(),
                Err(_) => "refused (over 10,000 rules a host)".to_string(),
            }
        );
    }
    println!("\ntimes in milliseconds (compile: in memory, into a sink that counts bytes); median of 5 runs, 1 from 50,000 flows (check: 3)\n");
}

fn mb(bytes: usize) -> String {
    format!("{:.0} MB", bytes as f64 / 1e6)
}

/// Render `kinds` into a sink that counts bytes; also the elements of the router ruleset.
fn compile(checked: &netc::Checked, kinds: &[TargetKind]) -> (usize, usize) {
    let info = checked.info.as_ref().expect("info");
    let (mut bytes, mut elements) = (0, 0);
    render_each(&checked.plan, info, kinds, &Context::default(), &mut |f| {
        bytes += f.contents.len();
        if f.path.to_str() == Some("nftables/routers/core.nft") {
            // Set elements and verdict-map elements.
            elements = f
                .contents
                .lines()
                .filter(|l| l.contains(" . ") || l.contains(" : jump "))
                .count();
        }
        Ok(())
    })
    .expect("counting cannot fail");
    (bytes, elements)
}

fn main() {
    let quick = std::env::var_os("NETC_BENCH_QUICK").is_some();
    // Queries on the Datalyptica plan, after loading it once.
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let plan =
        netc::load_and_check(&[root.join("fixtures/datalyptica")]).expect("Datalyptica loads");
    let info = plan.info.as_ref().expect("Datalyptica checks");
    println!("| Datalyptica query | median (ms) |\n|---|---|");
    for q in [
        "can processing reach catalog on postgres",
        "can internet reach lb-vip on https",
        "can monitoring reach bastion on node-exporter",
        "can internet reach catalog on any",
    ] {
        let (src, dst, svc) = netc::query::parse_question(q).expect("question parses");
        let (t, answer) = time(50, || {
            netc::query::ask(&plan.plan, info, &src, &dst, svc.as_deref())
                .map(|a| netc::query::explain::explain(&plan.plan, info, &a).verdict)
        });
        let _ = answer.expect("answers");
        println!("| `{q}` | {:.3} |", t.as_secs_f64() * 1000.0);
    }
    println!();
    let sizes: &[(usize, usize, usize, usize)] = &[
        // (flows, hosts, tiers, vlans)
        (1_000, 200, 10, 5),
        (10_000, 2_000, 50, 10),
        (50_000, 10_000, 250, 25),
        (100_000, 20_000, 500, 50),
    ];
    // NETC_BENCH_LAYOUT=scattered runs only the scattered layout's table.
    let only_early: Option<Vec<usize>> = std::env::var("NETC_BENCH_FLOWS")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect());
    if std::env::var("NETC_BENCH_LAYOUT").as_deref() != Ok("contiguous") {
        scattered_table(quick, &only_early);
        if std::env::var("NETC_BENCH_LAYOUT").as_deref() == Ok("scattered") {
            return;
        }
    }
    println!("| flows | hosts | tiers | parse+resolve | check (all analyses) | query | who-can-reach t7 | what-can-reach h1 | compile all targets | output | firewalld hosts | output | ufw hosts | output | diff | nft router elements |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    // NETC_BENCH_FLOWS=1000,10000 runs only those sizes.
    let only: Option<Vec<usize>> = std::env::var("NETC_BENCH_FLOWS")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect());
    for &(flows, hosts, tiers, vlans) in sizes
        .iter()
        .filter(|s| only.as_ref().is_none_or(|o| o.contains(&s.0)))
    {
        let runs = if quick || flows >= 50_000 { 3 } else { 7 };
        let opts = sized(flows, hosts, tiers, vlans, false);
        let text = generate(&opts);
        // Parse and resolve only.
        let (t_front, _) = time(runs, || {
            let mut loaded = netc::syntax::Loaded::default();
            let file = loaded
                .sources
                .add("bench.netc".into(), "bench.netc".into(), text.clone());
            let (ast, diags) = netc::syntax::parser::parse(file, &text);
            loaded.files.push((file, ast));
            loaded.diags = diags;
            netc::resolve::resolve("bench".into(), loaded)
        });
        // The whole front and middle: parse, resolve, every check, PlanInfo.
        let (t_check, checked) = time(runs, || netc::check_text("bench.netc", &text));
        assert!(!checked.has_errors(), "generated plans check");
        let plan = &checked.plan;
        let info = checked.info.as_ref().expect("info");
        // The answer and its explanation (path, enforcement points, rules, nearest rules), as
        // `netc query` prints it.
        let (t_query, verdict) = time(runs * 3, || {
            netc::query::ask(plan, info, "h1", "t7", Some("s7"))
                .map(|a| netc::query::explain::explain(plan, info, &a).verdict)
        });
        let _ = verdict.expect("query answers");
        // Listings: every source region that reaches a tier, everything a host reaches.
        let (t_who, who) = time(runs, || {
            let t = netc::query::resolve_target(plan, info, "t7").expect("t7");
            netc::query::matrix::who_can_reach(
                plan,
                info,
                &t.target,
                &t.text,
                &netc::space::all_services(),
            )
        });
        assert!(!who.is_empty());
        let (t_what, what) = time(runs, || {
            let t = netc::query::resolve_target(plan, info, "h1").expect("h1");
            netc::query::matrix::what_can_reach(
                plan,
                info,
                &t.target,
                &t.text,
                &netc::space::all_services(),
            )
        });
        assert!(!what.is_empty());
        // Every target, streamed into a sink that only counts (as `netc compile` streams
        // into its staging directory), so that no run holds all of its output.
        let (t_all, (bytes, elements)) = time(runs, || compile(&checked, TargetKind::all()));
        // The same plan with every host on firewalld, then on ufw: their own back ends.
        let mut per_fw = Vec::new();
        for (fw, kind) in [
            (netc::ir::FirewallKind::Firewalld, TargetKind::Firewalld),
            (netc::ir::FirewallKind::Ufw, TargetKind::Ufw),
        ] {
            let text = generate(&GenOptions {
                host_firewall: fw,
                ..opts
            });
            let checked = netc::check_text("bench.netc", &text);
            assert!(!checked.has_errors(), "generated plans check");
            // One run where a run takes seconds.
            let (t, (bytes, _)) = time(if flows >= 50_000 { 1 } else { runs }, || {
                compile(&checked, &[kind])
            });
            per_fw.push((t, bytes));
        }
        // diff against the same plan with one more flow.
        let changed =
            netc::check_text("bench2.netc", &format!("{text}allow t1 -> t2 : tcp/4444\n"));
        let (t_diff, d) = time(1, || {
            netc::query::diff::diff(
                plan,
                info,
                &changed.plan,
                changed.info.as_ref().expect("info"),
            )
        });
        assert_eq!(d.opened.len(), 1);
        println!(
            "| {flows} | {hosts} | {tiers} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {elements} |",
            ms(t_front),
            ms(t_check),
            ms(t_query),
            ms(t_who),
            ms(t_what),
            ms(t_all),
            mb(bytes),
            ms(per_fw[0].0),
            mb(per_fw[0].1),
            ms(per_fw[1].0),
            mb(per_fw[1].1),
            ms(t_diff)
        );
    }
    println!("\ntimes in milliseconds, median of 3-7 runs (3 at 50k flows and more)\n");
    // The same sizes with `--infra`: a zone every host publishes in, a VIP per tier (and
    // rules to VIPs alone), a switch per VLAN, so that every target has work.
    println!("| flows | hosts | VIPs | check (all analyses) | nftables | bind | keepalived | switches | all targets | output | nft router elements |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for &(flows, hosts, tiers, vlans) in sizes
        .iter()
        .filter(|s| only.as_ref().is_none_or(|o| o.contains(&s.0)))
    {
        let runs = if quick || flows >= 50_000 { 3 } else { 7 };
        let text = generate(&sized(flows, hosts, tiers, vlans, true));
        let (t_check, checked) = time(runs, || netc::check_text("bench.netc", &text));
        assert!(!checked.has_errors(), "generated plans check");
        let each = |kinds: &[TargetKind]| time(runs, || compile(&checked, kinds));
        let (t_all, (bytes, elements)) = each(TargetKind::all());
        let t_sw = each(&[
            TargetKind::Ios,
            TargetKind::Eos,
            TargetKind::Junos,
            TargetKind::Ifupdown2,
        ])
        .0;
        println!(
            "| {flows} | {hosts} | {} | {} | {} | {} | {} | {} | {} | {} | {elements} |",
            checked.plan.vips.len(),
            ms(t_check),
            ms(each(&[TargetKind::Nftables]).0),
            ms(each(&[TargetKind::Bind]).0),
            ms(each(&[TargetKind::Keepalived]).0),
            ms(t_sw),
            ms(t_all),
            mb(bytes)
        );
    }
    println!("\ntimes in milliseconds, median of 3-7 runs (3 at 50k flows and more)");
}
