//! Rulesets read back from the kernel are proven equal to the plan (`netc verify`), and every
//! mutation of one is caught with a correct example packet.

use super::targets::{can_netns, files_of, have, write_tree};
use super::*;
use netc::readback::{self, Point, Ruleset};
use netc::targets::TargetKind;
use proptest::prelude::*;

fn lab_ready() -> bool {
    can_netns() && have("nft") && have("ip")
}

/// Every nftables ruleset of a checked plan, read back through the real nft, with its point.
fn read_back(c: &netc::Checked) -> Vec<(String, Point, Ruleset, String)> {
    let files = files_of(c, &[TargetKind::Nftables]);
    let plan = &c.plan;
    let mut out = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let name = f.path.file_stem().unwrap().to_string_lossy().into_owned();
        let point = if f.path.starts_with("nftables/hosts") {
            Point::Host(plan.hosts.iter().position(|h| h.name == name).unwrap())
        } else {
            Point::Router(plan.routers.iter().position(|r| r.name == name).unwrap())
        };
        let mut json = readback::load_in_namespace(f.contents.as_bytes(), 9000 + i)
            .unwrap_or_else(|e| panic!("{}: {e}", f.path.display()));
        // A router's translations are read and compared apart from its filter (`verify` does
        // the same): they must be the plan's.
        if let Point::Router(r) = point {
            let (rest, diffs) = readback::nat::split(plan, r, &json)
                .unwrap_or_else(|e| panic!("{}: {e}", f.path.display()))
                .unwrap_or_else(|| panic!("{}: its NAT chains are not read", f.path.display()));
            assert!(diffs.is_empty(), "{}: {diffs:?}", f.path.display());
            json = rest;
        }
        let rs = Ruleset::from_json(&json).unwrap_or_else(|e| panic!("{}: {e}", f.path.display()));
        out.push((f.path.display().to_string(), point, rs, f.contents.clone()));
    }
    out
}

/// The symbolic walk (every service at once, what `verify` uses) agrees with the concrete
/// evaluator packet by packet: pairs of addresses at the ruleset's boundaries, every port on
/// both sides of every port boundary, ICMP echo, both hooks, both families.
fn cross_check(rs: &Ruleset, what: &str) {
    let [b4, b6, _, ports] = rs.boundaries();
    let sample = |mut v: Vec<u128>, max: u128| {
        v.retain(|&a| a <= max);
        v.sort_unstable();
        v.dedup();
        let step = (v.len() / 16).max(1);
        v.into_iter().step_by(step).collect::<Vec<_>>()
    };
    let mut port_cells: Vec<u16> = ports
        .iter()
        .filter(|&&p| p <= 65536)
        .flat_map(|&p| [p.saturating_sub(1), p])
        .filter(|&p| p <= 65535)
        .map(|p| p as u16)
        .collect();
    port_cells.extend([0, 65535]);
    port_cells.sort_unstable();
    port_cells.dedup();
    for (v4, addrs) in [
        (true, sample(b4, u32::MAX as u128)),
        (false, sample(b6, u128::MAX)),
    ] {
        for hook in [readback::Hook::Input, readback::Hook::Forward] {
            for &src in &addrs {
                for &dst in &addrs {
                    let pair = readback::Packet {
                        v4,
                        src,
                        dst,
                        proto: 0,
                        dport: 0,
                    };
                    let sym = rs.accepted_services(hook, &pair);
                    let icmp: u8 = if v4 { 1 } else { 58 };
                    let cells = port_cells
                        .iter()
                        .flat_map(|&p| [(6u8, p), (17, p)])
                        .chain([(icmp, 0)]);
                    for (proto, dport) in cells {
                        let p = readback::Packet {
                            proto,
                            dport,
                            ..pair
                        };
                        let key = (u32::from(proto) << 16) | u32::from(dport);
                        assert_eq!(
                            rs.accepts(hook, &p),
                            sym.contains(key),
                            "{what}: {p:?} on {hook:?}: concrete and symbolic walks disagree"
                        );
                    }
                }
            }
        }
    }
}

fn assert_equal(c: &netc::Checked, what: &str) {
    let info = c.info.as_ref().unwrap();
    for (file, point, rs, _) in read_back(c) {
        cross_check(&rs, &format!("{what}: {file}"));
        let d = readback::verify(&c.plan, info, point, &rs, 5);
        same_as_pairwise(c, point, &rs, &d, 5);
        assert!(d.is_empty(), "{what}: {file} differs from the plan: {d:?}");
    }
}

#[test]
fn every_compiled_nftables_ruleset_is_equal_to_the_plan() {
    if !lab_ready() {
        return;
    }
    for entry in std::fs::read_dir(root().join("fixtures/valid")).unwrap() {
        let dir = entry.unwrap().path();
        let plan = dir.join("plan.netc");
        if !plan.exists() {
            continue;
        }
        let c = checked(&rel(&plan));
        assert_equal(&c, &rel(&plan));
    }
    assert_equal(datalyptica(), "datalyptica");
}

#[test]
fn netc_verify_says_equal_and_exits_zero() {
    if !lab_ready() {
        return;
    }
    let out = root().join("target/it-verify");
    let _ = std::fs::remove_dir_all(&out);
    let (code, _, err) = run_netc(&[
        "compile",
        "fixtures/valid/vrf-overlap/plan.netc",
        "--out",
        out.to_str().unwrap(),
        "--target",
        "nftables",
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, text, err) = run_netc(&[
        "verify",
        "fixtures/valid/vrf-overlap/plan.netc",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{text}{err}");
    assert_eq!(text.matches("equal to the plan").count(), 4, "{text}");
    // A widened port range: exit 1, with the packet and what the plan says.
    let pacs = out.join("nftables/hosts/pacs01.nft");
    let t = std::fs::read_to_string(&pacs).unwrap();
    assert!(t.contains(". tcp . 104 comment"), "{t}");
    std::fs::write(
        &pacs,
        t.replace(". tcp . 104 comment", ". tcp . 104-105 comment"),
    )
    .unwrap();
    let (code, text, _) = run_netc(&[
        "verify",
        "fixtures/valid/vrf-overlap/plan.netc",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains(
            "-> 10.1.0.50 tcp/105: the ruleset accepts it; no rule of the plan allows it"
        ),
        "{text}"
    );
}

/// Load `text` (a mutated ruleset) and verify it for `point`.
fn differences(c: &netc::Checked, point: Point, text: &str) -> Vec<(readback::Difference, String)> {
    let json = readback::load_in_namespace(text.as_bytes(), 9500).expect("the mutation loads");
    let rs = Ruleset::from_json(&json).expect("it reads back");
    let info = c.info.as_ref().unwrap();
    let found = readback::verify(&c.plan, info, point, &rs, 5);
    same_as_pairwise(c, point, &rs, &found, 5);
    found
}

/// A router's verify goes by the relation walk (every pair at once, one difference per class
/// of addresses); the pair walk it replaces (one per pair of representatives) finds the same:
/// none when it finds none, and otherwise every difference of the relation walk is one of
/// its own, with the same services and verdicts overall.
fn same_as_pairwise(
    c: &netc::Checked,
    point: Point,
    rs: &Ruleset,
    found: &[(readback::Difference, String)],
    limit: usize,
) {
    if let Point::Router(_) = point {
        assert!(
            rs.relation_walks(readback::Hook::Forward),
            "netc's router rulesets are of the shape the relation walk models"
        );
        let info = c.info.as_ref().unwrap();
        let all = 1_000_000;
        let fast = readback::verify(&c.plan, info, point, rs, all);
        let slow = readback::verify_pairwise(&c.plan, info, point, rs, all);
        assert_eq!(fast.is_empty(), slow.is_empty(), "{fast:?}\n{slow:?}");
        assert_eq!(found.is_empty(), fast.is_empty());
        assert!(found.len() <= limit);
        let text = |d: &(readback::Difference, String)| format!("{d:?}");
        let slow_set: std::collections::BTreeSet<String> = slow.iter().map(text).collect();
        for d in &fast {
            assert!(slow_set.contains(&text(d)), "{d:?} is not among {slow:?}");
        }
        let what = |d: &[(readback::Difference, String)]| {
            d.iter()
                .map(|(d, why)| (d.service.clone(), d.ruleset_accepts, why.clone()))
                .collect::<std::collections::BTreeSet<_>>()
        };
        assert_eq!(what(&fast), what(&slow));
    }
}

#[test]
fn mutations_are_caught_with_an_example_packet() {
    if !lab_ready() {
        return;
    }
    let c = checked("fixtures/valid/three-tiers/plan.netc");
    let rulesets = read_back(&c);
    let (_, db1, _, db1_text) = rulesets
        .iter()
        .find(|r| r.0.ends_with("hosts/db1.nft"))
        .unwrap()
        .clone();
    let (_, gw, _, gw_text) = rulesets
        .iter()
        .find(|r| r.0.ends_with("routers/gw.nft"))
        .unwrap()
        .clone();
    // Removing an element: app can no longer reach db on postgres.
    let removed: String = db1_text
        .lines()
        .filter(|l| !l.contains("10.99.2.10 . tcp . 5432 comment"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(removed, db1_text);
    let d = differences(&c, db1, &removed);
    assert!(
        d.iter().any(|(x, plan)| x.src == "10.99.2.10"
            && x.dst == "10.99.3.10"
            && x.service == "tcp/5432"
            && !x.ruleset_accepts
            && plan.contains("allow app -> db : pg")),
        "{d:?}"
    );
    // Widening a port range.
    let widened = db1_text.replace(". tcp . 5432 comment", ". tcp . 5000-5432 comment");
    assert_ne!(widened, db1_text);
    let d = differences(&c, db1, &widened);
    assert!(
        d.iter()
            .any(|(x, _)| x.service == "tcp/5000" && x.ruleset_accepts),
        "{d:?}"
    );
    // Swapping a verdict: the router drops what the plan allows.
    let swapped = gw_text.replacen(
        "@to_10_99_2_10_ports meta mark set meta mark and 0x0000ffff accept",
        "@to_10_99_2_10_ports drop",
        1,
    );
    assert_ne!(swapped, gw_text);
    let d = differences(&c, gw, &swapped);
    assert!(
        d.iter().any(|(x, plan)| x.src == "10.99.2.10"
            && !x.ruleset_accepts
            && plan.starts_with("the plan allows it")),
        "{d:?}"
    );
    // A foreign table that drops before netc's chain accepts.
    let foreign = format!(
        "{db1_text}\ntable inet other {{\n\tchain input {{\n\t\ttype filter hook input priority -10; policy accept;\n\t\ttcp dport 5432 drop\n\t}}\n}}\n"
    );
    let d = differences(&c, db1, &foreign);
    assert!(
        d.iter()
            .any(|(x, _)| x.service == "tcp/5432" && !x.ruleset_accepts),
        "{d:?}"
    );
    // A foreign table that accepts everything first changes nothing: an accept in one base
    // chain passes the packet on to the next, and netc's chain still drops.
    let accepting = format!(
        "{db1_text}\ntable inet other {{\n\tchain input {{\n\t\ttype filter hook input priority -10; policy accept;\n\t\taccept\n\t}}\n}}\n"
    );
    assert!(differences(&c, db1, &accepting).is_empty());
    // But the same accept in netc's own chain, before its lookups, opens everything.
    let opened = db1_text.replacen(
        "\t\tiif \"lo\" accept\n",
        "\t\tiif \"lo\" accept\n\t\taccept\n",
        1,
    );
    assert_ne!(opened, db1_text);
    let d = differences(&c, db1, &opened);
    assert!(
        d.iter()
            .any(|(x, plan)| x.ruleset_accepts && plan.contains("no rule")),
        "{d:?}"
    );
}

#[test]
fn a_construct_the_reader_does_not_model_is_named() {
    let json = r#"{"nftables": [{"table": {"family": "inet", "name": "t", "handle": 1}},
        {"chain": {"family": "inet", "table": "t", "name": "c", "handle": 1, "type": "filter", "hook": "input", "prio": 0, "policy": "accept"}},
        {"rule": {"family": "inet", "table": "t", "chain": "c", "handle": 2, "expr": [{"match": {"op": "==", "left": {"meta": {"key": "skuid"}}, "right": 0}}, {"accept": null}]}}]}"#;
    let e = Ruleset::from_json(json).unwrap_err();
    assert!(
        e.0.contains("meta skuid") && e.0.contains("rule 2 of chain inet t c"),
        "{e}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, .. ProptestConfig::default() })]

    /// Random plans (several VRFs, scattered multi-homed hosts, VIPs, denies): every nftables
    /// ruleset netc compiles, loaded into the kernel and read back, is equal to the plan.
    #[test]
    fn random_plans_compile_to_rulesets_equal_to_the_plan(seed in proptest::collection::vec(any::<u8>(), 8..48)) {
        if !lab_ready() {
            return Ok(());
        }
        let text = super::listings::plan_text(&seed, None).replace("firewall ufw", "firewall nftables").replace("firewall firewalld", "firewall nftables");
        let c = netc::check_text("random.netc", &text);
        prop_assume!(c.info.is_some());
        let info = c.info.as_ref().unwrap();
        for (file, point, rs, nft) in read_back(&c) {
            let d = readback::verify(&c.plan, info, point, &rs, 3);
            prop_assert!(d.is_empty(), "{} differs:\n{:?}\nplan:\n{}", file, d, text);
            same_as_pairwise(&c, point, &rs, &d, 3);
            // The router with one set element removed: the relation walk and the pair walk
            // find the same differences.
            if let Point::Router(_) = point {
                let lines: Vec<&str> = nft.lines().collect();
                let elems: Vec<usize> = (0..lines.len()).filter(|&i| lines[i].contains(" comment \"r")).collect();
                if !elems.is_empty() {
                    let cut = elems[seed[0] as usize % elems.len()];
                    let mutated: String = lines.iter().enumerate().filter(|(i, _)| *i != cut).map(|(_, l)| format!("{l}\n")).collect();
                    if let Ok(json) = readback::load_in_namespace(mutated.as_bytes(), 9600) {
                        let rs = Ruleset::from_json(&json).unwrap();
                        let d = readback::verify(&c.plan, info, point, &rs, 3);
                        same_as_pairwise(&c, point, &rs, &d, 3);
                    }
                }
            }
        }
    }
}

#[test]
fn drift_names_what_a_foreign_table_changes() {
    if !lab_ready() {
        return;
    }
    let c = checked("fixtures/valid/three-tiers/plan.netc");
    let db1 = files_of(&c, &[TargetKind::Nftables])
        .into_iter()
        .find(|f| f.path.ends_with("hosts/db1.nft"))
        .unwrap();
    // netc's ruleset, with a Docker-like NAT and forward table and a fail2ban-like table
    // added by hand beside it.
    let live = format!(
        "{}\ntable ip dockerlike {{\n\tchain prerouting {{\n\t\ttype nat hook prerouting priority -100; policy accept;\n\t\ttcp dport 8080 dnat to 172.17.0.2:80\n\t}}\n\tchain forward {{\n\t\ttype filter hook forward priority 0; policy accept;\n\t}}\n}}\ntable inet f2b {{\n\tset banned {{\n\t\ttype ipv4_addr\n\t\telements = {{ 10.99.2.10 }}\n\t}}\n\tchain input {{\n\t\ttype filter hook input priority -1; policy accept;\n\t\tip saddr @banned tcp dport 5432 drop\n\t}}\n}}\n",
        db1.contents
    );
    // Docker's NAT rule is refused (below); the drift of the fail2ban table is read without it.
    let with_nat = live.clone();
    let live = live.replace("\t\ttcp dport 8080 dnat to 172.17.0.2:80\n", "");
    let json = readback::load_in_namespace(live.as_bytes(), 9700).expect("loads");
    let dir = root().join("target/it-drift");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let saved = dir.join("db1.json");
    std::fs::write(&saved, &json).unwrap();
    let (code, out, err) = run_netc(&[
        "drift",
        "fixtures/valid/three-tiers/plan.netc",
        "--host",
        "db1",
        saved.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("tables netc did not write (evaluated with netc's): inet f2b, ip dockerlike"),
        "{out}"
    );
    assert!(
        out.contains("10.99.2.10 -> 10.99.3.10 tcp/5432: the host drops it (by table inet f2b chain input); the plan allows it"),
        "{out}"
    );
    // The same ruleset without the fail2ban table: only Docker's, whose NAT rule before
    // routing could send the plan's packets elsewhere: refused and named, never "equal".
    let calm = with_nat[..with_nat.find("table inet f2b").unwrap()].to_string();
    let json = readback::load_in_namespace(calm.as_bytes(), 9701).expect("loads");
    let e = Ruleset::from_json(&json).unwrap_err();
    assert!(
        e.to_string().contains("dockerlike") && e.to_string().contains("nat, prerouting"),
        "{e}"
    );
    // Without its NAT rule, Docker's tables filter nothing netc decides: no drift.
    let calm = calm.replace("\t\ttcp dport 8080 dnat to 172.17.0.2:80\n", "");
    let json = readback::load_in_namespace(calm.as_bytes(), 9702).expect("loads");
    let rs = Ruleset::from_json(&json).unwrap();
    assert!(rs.unmodelled().is_empty(), "{:?}", rs.unmodelled());
    std::fs::write(&saved, &json).unwrap();
    let (code, out, _) = run_netc(&[
        "drift",
        "fixtures/valid/three-tiers/plan.netc",
        "--host",
        "db1",
        saved.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}");
    // An unreadable ruleset: exit 2.
    std::fs::write(&saved, "not json").unwrap();
    let (code, _, _) = run_netc(&[
        "drift",
        "fixtures/valid/three-tiers/plan.netc",
        "--host",
        "db1",
        saved.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
}

/// Generated plans of both address layouts, through the real nft: the router and a dozen
/// hosts of each. The scattered plan's hosts classify sources through verdict maps, the
/// contiguous plan's hosts use (source . protocol . port) sets: both encodings are proven.
#[test]
fn generated_plans_of_both_layouts_are_equal_after_a_round_trip() {
    if !lab_ready() {
        return;
    }
    for scattered in [false, true] {
        let text = netc::generate::generate(&netc::generate::GenOptions {
            vlans: 4,
            tiers: 10,
            hosts: 80,
            services: 30,
            flows: 400,
            seed: 11,
            host_firewall: netc::ir::FirewallKind::Nftables,
            infra: false,
            scattered,
        });
        let c = netc::check_text("generated.netc", &text);
        assert!(!c.has_errors(), "{:?}", c.diags);
        let info = c.info.as_ref().unwrap();
        let files = files_of(&c, &[TargetKind::Nftables]);
        let hosts: Vec<&netc::targets::OutputFile> = files
            .iter()
            .filter(|f| f.path.starts_with("nftables/hosts"))
            .collect();
        let classified = hosts
            .iter()
            .filter(|f| f.contents.contains(" : jump from_"))
            .count();
        if scattered {
            assert!(classified > 0, "scattered hosts classify their sources");
        } else {
            assert_eq!(classified, 0, "contiguous hosts use (source . port) sets");
        }
        // The generator's denies carve hosts out of allows: the router's deny chains (their
        // drops, then `goto` the class chain) are in what is proven here.
        assert!(files.iter().any(|f| f.path.starts_with("nftables/routers")
            && f.contents.contains("\tchain deny_")
            && f.contents.contains("goto from_")));
        let picked = files
            .iter()
            .filter(|f| f.path.starts_with("nftables/routers"))
            .chain(hosts.iter().copied().step_by(10));
        for (i, f) in picked.enumerate() {
            let name = f.path.file_stem().unwrap().to_string_lossy().into_owned();
            let point = if f.path.starts_with("nftables/hosts") {
                Point::Host(c.plan.hosts.iter().position(|h| h.name == name).unwrap())
            } else {
                Point::Router(c.plan.routers.iter().position(|r| r.name == name).unwrap())
            };
            let json = readback::load_in_namespace(f.contents.as_bytes(), 9600 + i)
                .unwrap_or_else(|e| panic!("{}: {e}", f.path.display()));
            let rs = Ruleset::from_json(&json).unwrap();
            let d = readback::verify(&c.plan, info, point, &rs, 5);
            same_as_pairwise(&c, point, &rs, &d, 5);
            assert!(
                d.is_empty(),
                "scattered={scattered}: {} differs from the plan: {d:?}",
                f.path.display()
            );
        }
    }
}

/// firewalld's output proven through the real firewalld: `netc verify` runs the daemon on the
/// compiled configuration in a namespace and reads back the nftables rules it loads. Rich
/// rules of different priority are ordered by firewalld, not by the file: a logged deny moved
/// behind an allow of the same packets (priority 10 against 0) opens them, and verify says so
/// with the packet.
#[test]
fn firewalld_output_is_proven_through_the_real_firewalld() {
    if !lab_ready() || !have("firewalld") || !have("dbus-daemon") {
        return;
    }
    let dir = root().join("target/it-verify-fw");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let plan = dir.join("plan.netc");
    std::fs::write(
        &plan,
        "vlan 11 web-net { subnet 10.99.1.0/24 gateway .1 }\nvlan 13 db-net { subnet 10.99.3.0/24 gateway .1 }\nrouter gw { web-net db-net }\ntier web on web-net\ntier db on db-net firewall firewalld\nhost web1 in web { web-net 10.99.1.10 }\nhost db1 in db { db-net 10.99.3.10 }\nallow web -> db : tcp/5432-5433\ndeny web -> db : tcp/5432 log\n",
    )
    .unwrap();
    let out = dir.join("out");
    let (p, o) = (plan.to_str().unwrap(), out.to_str().unwrap());
    let (code, _, err) = run_netc(&["compile", p, "--out", o]);
    assert_eq!(code, 0, "{err}");
    let (code, text, err) = run_netc(&["verify", p, "--out", o]);
    assert_eq!(code, 0, "{text}{err}");
    assert!(text.contains("firewalld/db1: equal to the plan"), "{text}");
    let zone = out.join("firewalld/db1/zones/netc.xml");
    let xml = std::fs::read_to_string(&zone).unwrap();
    // The logged deny, then an allow of the same packets at a priority that runs first.
    let deny_at = xml.find("priority=\"-100\"").expect("the logged deny");
    let rule_start = xml[..deny_at].rfind("<rule").unwrap();
    let rule_end = xml[deny_at..].find("</rule>").unwrap() + deny_at + "</rule>".len();
    let deny = &xml[rule_start..rule_end];
    let allow = deny
        .replace("priority=\"-100\"", "priority=\"0\"")
        .replace("<drop/>", "<accept/>");
    let mutated = format!(
        "{}{}\n  {allow}{}",
        &xml[..rule_start],
        deny.replace("priority=\"-100\"", "priority=\"10\""),
        &xml[rule_end..]
    );
    std::fs::write(&zone, mutated).unwrap();
    let (code, text, err) = run_netc(&["verify", p, "--out", o]);
    assert_eq!(code, 1, "{text}{err}");
    assert!(
        text.contains("-> 10.99.3.10 tcp/5432: the ruleset accepts it")
            || text.contains("-> 10.99.3.10 tcp/5432: the host accepts it"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// nft 1.0.6 lists the first element of each netlink dump message after the first with its
/// `meta mark` field byte-swapped (the kernel holds the right value). A set of 2,000 marked
/// elements, matched under `meta mark & 0xffff0000` as netc's routers do, is read back with
/// every element as it was written.
#[test]
fn marks_nft_lists_byte_swapped_are_read_as_the_kernel_holds_them() {
    if !lab_ready() {
        return;
    }
    let mut text = String::from("table inet netc {\n\tset s {\n\t\ttype mark . inet_proto . inet_service\n\t\tflags interval\n\t\telements = {\n");
    for k in 1..=2000u32 {
        text.push_str(&format!(
            "\t\t\t{:#010x} . tcp . {} comment \"element {k} of a set long enough for several netlink messages\",\n",
            k << 16,
            1000 + k
        ));
    }
    text.push_str("\t\t}\n\t}\n\tchain input {\n\t\ttype filter hook input priority 0; policy drop;\n\t\tmeta mark and 0xffff0000 . meta l4proto . th dport @s accept\n\t}\n}\n");
    let json = readback::load_in_namespace(text.as_bytes(), 9800).expect("loads");
    let rs = Ruleset::from_json(&json).unwrap();
    let mut got: Vec<(u128, u128)> = rs
        .set_elements("inet", "netc", "s")
        .unwrap()
        .iter()
        .map(|e| (e[0].0, e[2].0))
        .collect();
    got.sort_unstable();
    let want: Vec<(u128, u128)> = (1..=2000u128).map(|k| (k << 16, 1000 + k)).collect();
    assert_eq!(got, want);
}

/// `netc drift` on a firewalld host's configuration directory (a copy of its
/// `/etc/firewalld`): the real firewalld reads it in a namespace. The compiled directory is
/// equal to the plan; a service added to netc's zone by hand, or a hand-made zone that binds
/// a source to `trusted`, is drift, shown with a packet.
#[test]
fn drift_reads_a_firewalld_directory_through_the_real_firewalld() {
    if !lab_ready() || !have("firewalld") || !have("dbus-daemon") {
        return;
    }
    let dir = root().join("target/it-drift-fw");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let plan = dir.join("plan.netc");
    std::fs::write(
        &plan,
        "vlan 11 web-net { subnet 10.98.1.0/24 gateway .1 }\nvlan 13 db-net { subnet 10.98.3.0/24 gateway .1 }\nrouter gw { web-net db-net }\ntier web on web-net\ntier db on db-net firewall firewalld\nhost web1 in web { web-net 10.98.1.10 }\nhost db1 in db { db-net 10.98.3.10 }\nallow web -> db : tcp/5432\n",
    )
    .unwrap();
    let out = dir.join("out");
    let (p, o) = (plan.to_str().unwrap(), out.to_str().unwrap());
    let (code, _, err) = run_netc(&["compile", p, "--out", o]);
    assert_eq!(code, 0, "{err}");
    let live = out.join("firewalld/db1");
    let l = live.to_str().unwrap();
    let (code, text, err) = run_netc(&["drift", p, "--host", "db1", l]);
    assert_eq!(code, 0, "{text}{err}");
    assert!(
        text.contains("what it runs is what the plan says"),
        "{text}"
    );
    // ssh opened by hand in netc's zone.
    let zone = live.join("zones/netc.xml");
    let xml = std::fs::read_to_string(&zone).unwrap();
    let opened = xml.replacen(
        "</description>",
        "</description>\n  <service name=\"ssh\"/>",
        1,
    );
    std::fs::write(&zone, &opened).unwrap();
    let (code, text, err) = run_netc(&["drift", p, "--host", "db1", l]);
    assert_eq!(code, 1, "{text}{err}");
    assert!(
        text.contains("-> 10.98.3.10 tcp/22: the host accepts it"),
        "{text}"
    );
    // Back to netc's zone, and a hand-made zone that trusts the web host: firewalld sends its
    // packets to that zone, which accepts everything.
    std::fs::write(&zone, &xml).unwrap();
    std::fs::write(
        live.join("zones/handmade.xml"),
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<zone target=\"ACCEPT\">\n  <source address=\"10.98.1.10\"/>\n</zone>\n",
    )
    .unwrap();
    let (code, text, err) = run_netc(&["drift", p, "--host", "db1", l, "--format", "json"]);
    assert_eq!(code, 1, "{text}{err}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let diffs = v["differences"].as_array().unwrap();
    assert!(
        diffs.iter().any(|d| {
            let s = d.to_string();
            s.contains("10.98.1.10") && !s.contains("5432")
        }),
        "{text}"
    );
    // A directory firewalld refuses is not read (exit 2), never taken for an empty one.
    std::fs::write(live.join("zones/handmade.xml"), "<zone><nonsense/></zone>").unwrap();
    let (code, _, err) = run_netc(&["drift", p, "--host", "db1", l]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("firewall-offline-cmd"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every host on `kind` of every valid fixture and up to three of Datalyptica's, compiled
/// with `target`, read back by `read` (the real daemon in a namespace) and verified: equal to
/// the plan. Returns how many hosts were verified.
fn verify_daemon_hosts(
    kind: netc::ir::FirewallKind,
    target: TargetKind,
    read: impl Fn(&std::path::Path, &str, usize, bool) -> Result<Ruleset, readback::ReadError>,
) -> usize {
    let mut plans: Vec<(String, netc::Checked, usize)> = Vec::new();
    for entry in std::fs::read_dir(root().join("fixtures/valid")).unwrap() {
        let plan = entry.unwrap().path().join("plan.netc");
        if plan.exists() {
            plans.push((rel(&plan), checked(&rel(&plan)), usize::MAX));
        }
    }
    plans.push(("datalyptica".into(), checked("fixtures/datalyptica"), 3));
    let mut verified = 0;
    for (i, (name, c, most)) in plans.iter().enumerate() {
        let hosts: Vec<usize> = (0..c.plan.hosts.len())
            .filter(|&h| c.plan.hosts[h].firewall == kind)
            .take(*most)
            .collect();
        if hosts.is_empty() {
            continue;
        }
        let out = root().join(format!("target/it-{kind:?}-all-{i}"));
        let _ = std::fs::remove_dir_all(&out);
        write_tree(&out, &files_of(c, &[target]));
        for h in hosts {
            let host = &c.plan.hosts[h].name;
            // A host that filters egress is read on the output hook too.
            let egress = c.plan.tiers[c.plan.hosts[h].tier].egress;
            let rs =
                read(&out, host, 9800 + h, egress).unwrap_or_else(|e| panic!("{name} {host}: {e}"));
            let d = readback::verify(&c.plan, c.info.as_ref().unwrap(), Point::Host(h), &rs, 5);
            assert!(d.is_empty(), "{name}: {kind:?} host {host} differs: {d:?}");
            verified += 1;
        }
        let _ = std::fs::remove_dir_all(&out);
    }
    verified
}

/// Every firewalld host of every valid fixture, and three of Datalyptica's 59 (all 59 take
/// 80 s: `netc verify fixtures/datalyptica --out DIR` does them all), through the real
/// firewalld: equal to the plan.
#[test]
fn every_compiled_firewalld_host_is_equal_to_the_plan() {
    if !lab_ready() || !have("firewalld") || !have("dbus-daemon") {
        return;
    }
    let verified = verify_daemon_hosts(
        netc::ir::FirewallKind::Firewalld,
        TargetKind::Firewalld,
        |out, host, n, egress| {
            readback::load_firewalld_in_namespace(out, host, n)
                .and_then(|json| Ruleset::from_json_output(&json, egress))
        },
    );
    assert!(verified >= 4, "{verified}");
}

/// ufw's output proven through the real ufw: every ufw host of every valid fixture and three
/// of Datalyptica's, read back from the kernel with iptables-save (ufw's stock before and
/// after chains included) and equal to the plan; and a port changed in `user.rules` is caught
/// by `netc verify` with the packet.
#[test]
fn ufw_output_is_proven_through_the_real_ufw() {
    if !lab_ready() || !have("ufw") || !have("iptables-save") {
        return;
    }
    let verified = verify_daemon_hosts(
        netc::ir::FirewallKind::Ufw,
        TargetKind::Ufw,
        |out, host, n, egress| {
            readback::load_ufw_in_namespace(out, host, n)
                .and_then(|(v4, v6)| readback::from_iptables_save_output(&v4, &v6, egress))
        },
    );
    assert!(verified >= 4, "{verified}");
    // A mutation: the API's port moved by one in app1's rules.
    let dir = root().join("target/it-verify-ufw");
    let _ = std::fs::remove_dir_all(&dir);
    let p = "fixtures/valid/three-tiers-mixed/plan.netc";
    let o = dir.to_str().unwrap();
    let (code, _, err) = run_netc(&["compile", p, "--out", o, "--target", "ufw"]);
    assert_eq!(code, 0, "{err}");
    let rules = dir.join("ufw/app1/user.rules");
    let text = std::fs::read_to_string(&rules).unwrap();
    assert!(text.contains("--dport 8080 "), "{text}");
    std::fs::write(&rules, text.replace("--dport 8080 ", "--dport 8081 ")).unwrap();
    let (code, text, err) = run_netc(&["verify", p, "--out", o]);
    assert_eq!(code, 1, "{text}{err}");
    assert!(
        text.contains("10.99.1.10 -> 10.99.2.10 tcp/8081: the ruleset accepts it")
            && text.contains("10.99.1.10 -> 10.99.2.10 tcp/8080: the ruleset drops it"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--nft-blocks shared`: the blocks hosts share are written once, under `nftables/blocks/`,
/// and included: one block classifies sources for every host (into bits 16-31 of the mark),
/// and one per destination class decides. Each host's file, loaded with `nft -I` and read back
/// from the kernel, is equal to the plan (scattered hosts, VRFs, whose block names carry
/// their domains, and the hostile fixture's names in comments), and the shared output is a fraction of the self-contained one; `netc verify`
/// reads the blocks itself (nothing outside --out, no link followed) and proves the hosts equal
/// to the plan; an include netc does not write is refused, and a host whose block is missing
/// loads nothing.
#[test]
fn shared_blocks_are_equal_to_the_plan_after_a_round_trip() {
    if !lab_ready() {
        return;
    }
    struct Gone(Vec<String>);
    impl Drop for Gone {
        fn drop(&mut self) {
            for ns in &self.0 {
                let _ = std::process::Command::new("ip")
                    .args(["netns", "del", ns])
                    .status();
            }
        }
    }
    let ns: Vec<String> = ["in", "sh"]
        .iter()
        .map(|k| format!("netc-blk{}-{k}", std::process::id() % 100000))
        .collect();
    let _gone = Gone(ns.clone());
    for n in &ns {
        assert!(std::process::Command::new("ip")
            .args(["netns", "add", n])
            .status()
            .unwrap()
            .success());
    }
    let nft_in = |cwd: &Path, n: &str, args: &[&str], stdin: Option<&str>| -> (bool, String) {
        use std::io::Write;
        let mut child = std::process::Command::new("ip")
            .args(["netns", "exec", n, "nft"])
            .args(args)
            .current_dir(cwd)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.unwrap_or("").as_bytes())
            .unwrap();
        let o = child.wait_with_output().unwrap();
        (
            o.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
        )
    };
    let nft = |n: &str, args: &[&str], stdin: Option<&str>| nft_in(Path::new("/"), n, args, stdin);
    // A host file loaded from inside its nftables/ directory (`cd DIR && nft -f FILE`: the
    // includes are `./blocks/...`) into the second namespace, read back from the kernel and
    // compared with the plan.
    let load_and_verify = |c: &netc::Checked, dir: &Path, file: &Path, h: usize| {
        let _ = nft(&ns[1], &["flush", "ruleset"], None);
        let (ok, e) = nft_in(dir, &ns[1], &["-f", file.to_str().unwrap()], None);
        assert!(ok, "{}: {e}", file.display());
        let (ok, json) = nft(&ns[1], &["-j", "list", "ruleset"], None);
        assert!(ok, "{json}");
        let rs = Ruleset::from_json(&json).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let d = readback::verify(&c.plan, c.info.as_ref().unwrap(), Point::Host(h), &rs, 5);
        assert!(d.is_empty(), "{}: {d:?}", file.display());
    };
    let generated = netc::generate::generate(&netc::generate::GenOptions {
        vlans: 4,
        tiers: 10,
        hosts: 80,
        services: 30,
        flows: 400,
        seed: 5,
        host_firewall: netc::ir::FirewallKind::Nftables,
        infra: false,
        scattered: true,
    });
    let vrf = std::fs::read_to_string(root().join("fixtures/valid/vrf-overlap/plan.netc")).unwrap();
    // Names a hostile plan chose end up in the blocks' comments.
    let hostile = std::fs::read_to_string(root().join("fixtures/valid/hostile/plan.netc")).unwrap();
    for (case, text) in [("generated", generated), ("vrf", vrf), ("hostile", hostile)] {
        let c = netc::check_text(&format!("{case}.netc"), &text);
        assert!(!c.has_errors(), "{case}: {:?}", c.diags);
        let inline = files_of(&c, &[TargetKind::Nftables]);
        let ctx = netc::targets::Context {
            nft_blocks: netc::targets::NftBlocks::Shared,
            ..Default::default()
        };
        let shared = netc::targets::render(
            &c.plan,
            c.info.as_ref().unwrap(),
            &[TargetKind::Nftables],
            &ctx,
        )
        .unwrap();
        let blocks: Vec<&netc::targets::OutputFile> = shared
            .iter()
            .filter(|f| f.path.starts_with("nftables/blocks"))
            .collect();
        assert!(!blocks.is_empty(), "{case}");
        let dir = root().join(format!("target/it-shared-blocks-{case}"));
        write_tree(&dir, &shared);
        let nftables = dir.join("nftables");
        let mut compared = 0;
        for f in shared
            .iter()
            .filter(|f| f.path.starts_with("nftables/hosts"))
        {
            let sh = dir.join(&f.path);
            let includes: Vec<&str> = f
                .contents
                .lines()
                .filter_map(|l| l.trim().strip_prefix("include \""))
                .map(|l| l.trim_end_matches('"'))
                .collect();
            // Every include is `./`-relative: nft never looks it up on its search path.
            assert!(includes.iter().all(|i| i.starts_with("./")), "{includes:?}");
            let includes: Vec<&str> = includes.iter().map(|i| &i[2..]).collect();
            // Every block a host file includes is a file of blocks/, the sources first.
            if let Some(first) = includes.first() {
                let domains = if case == "vrf" { "_d" } else { ".nft" };
                assert!(
                    first.starts_with(&format!("blocks/sources{domains}")),
                    "{case} {}: {first}",
                    f.path.display()
                );
                assert!(includes[1..].iter().all(|i| i.starts_with("blocks/to_")));
            }
            for name in &includes {
                assert!(nftables.join(name).is_file(), "{case}: {name}");
            }
            let name = f.path.file_stem().unwrap().to_string_lossy().into_owned();
            let h = c.plan.hosts.iter().position(|h| h.name == name).unwrap();
            load_and_verify(&c, &nftables, &sh, h);
            compared += 1;
        }
        // Where sources need more classes than may be numbered (here: fewer than the plan
        // has), each block classifies its own sources instead: equal to the plan as well.
        if case == "generated" {
            use netc::targets::nftables::{host_ruleset, HostBlocks, Prepared};
            let info = c.info.as_ref().unwrap();
            let prep = Prepared::new(&c.plan, info);
            let hosts = netc::targets::hosts_running(&c.plan, netc::ir::FirewallKind::Nftables);
            let per_block = root().join("target/it-shared-blocks-per-block");
            let _ = std::fs::remove_dir_all(&per_block);
            std::fs::create_dir_all(per_block.join("blocks")).unwrap();
            let mut written = Vec::new();
            let mut emit = |name: &str, text: String| {
                assert!(!name.starts_with("sources"), "{name}");
                std::fs::write(per_block.join(format!("blocks/{name}.nft")), text + "\n").unwrap();
                written.push(name.to_string());
                Ok(())
            };
            let blocks = HostBlocks::new(&c.plan, info, &prep, &hosts, Some(&mut emit), 1).unwrap();
            assert!(!written.is_empty());
            for &h in &hosts {
                let text = host_ruleset(&c.plan, info, &prep, &blocks, h, true).unwrap();
                assert!(!text.contains("blocks/sources"), "{text}");
                let file = per_block.join(format!("{}.nft", c.plan.hosts[h].name));
                std::fs::write(&file, &text).unwrap();
                load_and_verify(&c, &per_block, &file, h);
            }
            let _ = std::fs::remove_dir_all(&per_block);
        }
        let inline_hosts = inline
            .iter()
            .filter(|f| f.path.starts_with("nftables/hosts"))
            .count();
        assert!(
            compared > 0 && compared == inline_hosts,
            "{case}: {compared} vs {inline_hosts}"
        );
        // Blocks are written once: the shared output is smaller, since hosts of a class share.
        let size = |files: &[netc::targets::OutputFile]| {
            files.iter().map(|f| f.contents.len()).sum::<usize>()
        };
        if case == "generated" {
            assert!(
                size(&shared) * 2 < size(&inline),
                "{case}: {} vs {}",
                size(&shared),
                size(&inline)
            );
        }
        if case == "vrf" {
            assert!(
                blocks
                    .iter()
                    .all(|b| b.path.to_string_lossy().contains("_d")),
                "{case}: block names carry domains"
            );
            let out = dir.to_str().unwrap();
            let plan = root().join("fixtures/valid/vrf-overlap/plan.netc");
            let (code, text, err) = run_netc(&["verify", plan.to_str().unwrap(), "--out", out]);
            assert_eq!(code, 0, "{text}{err}");
            assert_eq!(text.matches("equal to the plan").count(), 4, "{text}");
            // An include netc does not write is refused, never opened.
            let host = dir.join("nftables/hosts/pacs01.nft");
            let t = std::fs::read_to_string(&host).unwrap();
            std::fs::write(
                &host,
                t.replacen(
                    "\tinclude \"./blocks/",
                    "\tinclude \"/etc/passwd\"\n\tinclude \"./blocks/",
                    1,
                ),
            )
            .unwrap();
            let (code, text, err) = run_netc(&["verify", plan.to_str().unwrap(), "--out", out]);
            assert_ne!(code, 0, "{text}{err}");
            assert!(
                format!("{text}{err}").contains("an include netc does not write"),
                "{text}{err}"
            );
            // A missing block: verify names it, and nft loads nothing of the host file.
            std::fs::write(&host, &t).unwrap();
            let name = t
                .lines()
                .find_map(|l| l.trim().strip_prefix("include \""))
                .unwrap()
                .trim_end_matches('"')
                .to_string();
            std::fs::remove_file(nftables.join(&name)).unwrap();
            let (code, text, err) = run_netc(&["verify", plan.to_str().unwrap(), "--out", out]);
            assert_ne!(code, 0, "{text}{err}");
            assert!(format!("{text}{err}").contains("is missing"), "{text}{err}");
            let (_, before) = nft(&ns[1], &["list", "ruleset"], None);
            let (ok, _) = nft_in(&nftables, &ns[1], &["-f", host.to_str().unwrap()], None);
            assert!(!ok);
            let (_, after) = nft(&ns[1], &["list", "ruleset"], None);
            assert_eq!(before, after, "a failed load changes nothing");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, .. ProptestConfig::default() })]

    /// The address index of long chains (a fail2ban-style table of one rule per address) is a
    /// shortcut: read back through the real kernel, the ruleset compares with the plan exactly
    /// as when every rule is walked. Rules mix single addresses, ranges, sets, destination
    /// matches, IPv6, negations and rules that do not start with an address.
    #[test]
    fn the_address_index_of_long_chains_changes_no_answer(
        rules in proptest::collection::vec((0u8..8, 0u32..4096, 0u32..64, 0u16..3), 80..300)
    ) {
        if !lab_ready() {
            return Ok(());
        }
        let c = checked("fixtures/valid/three-tiers/plan.netc");
        let db1 = files_of(&c, &[TargetKind::Nftables])
            .into_iter()
            .find(|f| f.path.ends_with("hosts/db1.nft"))
            .unwrap();
        let addr = |x: u32| format!("10.99.{}.{}", (x >> 8) & 15, x & 255);
        let port = |p: u16| [5432, 22, 8080][p as usize];
        // First, a drop of what the plan allows (app1's DNS): every ruleset differs.
        let mut table = String::from("table inet f2b {\n\tchain input {\n\t\ttype filter hook input priority -1; policy accept;\n\t\tip saddr 10.99.2.10 udp dport 53 drop\n");
        for (kind, a, w, p) in &rules {
            let line = match kind {
                0 | 1 => format!("ip saddr {} drop", addr(*a)),
                2 => format!("ip saddr {}-{} tcp dport {} drop", addr(a % 4000), addr(a % 4000 + w + 1), port(*p)),
                3 => format!("ip saddr {{ {}, {} }} accept", addr(a % 4000), addr(a % 4000 + w + 1)),
                4 => format!("ip daddr 10.99.3.10 ip saddr {} tcp dport {} drop", addr(*a), port(*p)),
                5 => format!("ip6 saddr 2001:db8::{:x} drop", a),
                6 => format!("ip saddr != {} tcp dport {} drop", addr(*a), port(*p)),
                _ => format!("tcp dport {} ip saddr {} drop", port(*p), addr(*a)),
            };
            table.push_str(&format!("\t\t{line}\n"));
        }
        table.push_str("\t}\n}\n");
        let live = format!("{}\n{table}", db1.contents);
        let json = readback::load_in_namespace(live.as_bytes(), 9800).expect("loads");
        let rs = Ruleset::from_json(&json).unwrap();
        let info = c.info.as_ref().unwrap();
        let h = c.plan.hosts.iter().position(|h| h.name == "db1").unwrap();
        let fast = readback::verify(&c.plan, info, Point::Host(h), &rs, 100_000);
        let slow = readback::verify(&c.plan, info, Point::Host(h), &rs.clone().without_rule_index(), 100_000);
        prop_assert_eq!(format!("{fast:?}"), format!("{slow:?}"));
        prop_assert!(!fast.is_empty());
    }
}

/// A ruleset whose chains each jump twice to the next: `depth` chains below `input`, the last
/// dropping tcp/23 (as JSON, as `nft -j list ruleset` prints it).
fn double_jumps(depth: usize, loop_back: bool) -> String {
    let mut items = vec![
        serde_json::json!({"table": {"family": "inet", "name": "t", "handle": 1}}),
        serde_json::json!({"chain": {"family": "inet", "table": "t", "name": "input", "handle": 1,
            "type": "filter", "hook": "input", "prio": 0, "policy": "accept"}}),
    ];
    for i in 0..depth {
        items.push(serde_json::json!({"chain": {"family": "inet", "table": "t", "name": format!("c{i}"), "handle": i + 2}}));
    }
    let rule = |chain: String, expr: serde_json::Value| serde_json::json!({"rule": {"family": "inet", "table": "t", "chain": chain, "expr": expr}});
    items.push(rule(
        "input".into(),
        serde_json::json!([{"jump": {"target": "c0"}}]),
    ));
    for i in 0..depth - 1 {
        for _ in 0..2 {
            items.push(rule(
                format!("c{i}"),
                serde_json::json!([{"jump": {"target": format!("c{}", i + 1)}}]),
            ));
        }
    }
    items.push(rule(
        format!("c{}", depth - 1),
        if loop_back {
            serde_json::json!([{"jump": {"target": "c0"}}])
        } else {
            serde_json::json!([{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 23}}, {"drop": null}])
        },
    ));
    serde_json::json!({ "nftables": items }).to_string()
}

/// Chains that jump twice to the next cost one walk per chain, not 2^depth (memoised), and
/// nesting deeper than the kernel's jump stack is refused, as the kernel refuses it.
#[test]
fn jumps_cost_one_walk_per_chain_and_nest_no_deeper_than_the_kernel_allows() {
    let c = checked("fixtures/valid/three-tiers/plan.netc");
    let info = c.info.as_ref().unwrap();
    let h = c.plan.hosts.iter().position(|h| h.name == "db1").unwrap();
    let rs =
        Ruleset::from_json(&double_jumps(16, false)).expect("16 levels: what the kernel holds");
    let d = readback::verify(&c.plan, info, Point::Host(h), &rs, 100_000);
    // The foreign table accepts everything but tcp/23, which it drops: the plan's tcp/5432
    // and the rest differ as the plan says, and tcp/23 is dropped everywhere.
    assert!(!d.is_empty());
    assert!(d.iter().all(|(p, _)| p.service != "tcp/23"), "{d:?}");
    let e = Ruleset::from_json(&double_jumps(30, false)).unwrap_err();
    assert!(e.to_string().contains("NFT_JUMP_STACK_SIZE"), "{e}");
    let looped = double_jumps(3, true);
    let e = Ruleset::from_json(&looped).unwrap_err();
    assert!(e.to_string().contains("loop"), "{e}");
}

/// Equal means the whole receive path: chains on netdev ingress and prerouting are evaluated
/// before input (a drop there is a drop), a NAT chain before routing that has rules is refused
/// and named, a dormant table and chains of other families (arp) are ignored and listed, a set
/// no evaluated chain uses does not refuse the ruleset, and `meta protocol` is the ethertype.
/// Every ruleset goes through the real kernel first.
#[test]
fn the_whole_receive_path_is_evaluated() {
    if !lab_ready() {
        return;
    }
    let c = checked("fixtures/valid/three-tiers/plan.netc");
    let info = c.info.as_ref().unwrap();
    let h = c.plan.hosts.iter().position(|h| h.name == "db1").unwrap();
    let db1 = files_of(&c, &[TargetKind::Nftables])
        .into_iter()
        .find(|f| f.path.ends_with("hosts/db1.nft"))
        .unwrap();
    let read = |extra: &str, n: usize| {
        let live = format!("{}\n{extra}", db1.contents);
        let json = readback::load_in_namespace(live.as_bytes(), n)
            .unwrap_or_else(|e| panic!("the kernel refuses {extra}: {e}"));
        Ruleset::from_json(&json)
    };
    let pg_from_app = |d: &[(readback::Difference, String)]| {
        d.iter()
            .any(|(p, _)| p.src == "10.99.2.10" && p.dst == "10.99.3.10" && p.service == "tcp/5432")
    };
    // Dropped before input: at prerouting (raw priority), at netdev ingress.
    for (n, extra) in [
        "table inet pre {\n\tchain p {\n\t\ttype filter hook prerouting priority -300; policy accept;\n\t\tip saddr 10.99.2.10 tcp dport 5432 drop\n\t}\n}\n",
        "table netdev edge {\n\tchain i {\n\t\ttype filter hook ingress device \"lo\" priority 0; policy accept;\n\t\tip saddr 10.99.2.10 tcp dport 5432 drop\n\t}\n}\n",
    ]
    .iter()
    .enumerate()
    {
        let rs = read(extra, 9900 + n).unwrap();
        let d = readback::verify(&c.plan, info, Point::Host(h), &rs, 1000);
        assert!(pg_from_app(&d), "{extra}: {d:?}");
    }
    // A NAT chain before routing with rules: refused, named.
    let e = read(
        "table ip nat {\n\tchain pre {\n\t\ttype nat hook prerouting priority -100; policy accept;\n\t\ttcp dport 4444 dnat to 10.99.3.10:22\n\t}\n}\n",
        9910,
    )
    .unwrap_err();
    assert!(e.to_string().contains("nat, prerouting"), "{e}");
    // Ignored, and listed: a dormant table that would drop everything, an ARP input chain
    // with a drop policy, a postrouting NAT chain, an output chain; equal. (nft 1.0.6 prints
    // a table's flags as its name: the reader is given them as newer nft prints them.)
    let read = |extra: &str, n: usize| {
        let live = format!("{}\n{extra}", db1.contents);
        let json = readback::load_in_namespace(live.as_bytes(), n).unwrap();
        let json = json.replace("\"flags\": \"sleepy\"", "\"flags\": [\"dormant\"]");
        Ruleset::from_json(&json)
    };
    let rs = read(
        "table inet sleepy {\n\tflags dormant\n\tchain i {\n\t\ttype filter hook input priority -10; policy drop;\n\t}\n}\n\
         table arp a {\n\tchain i {\n\t\ttype filter hook input priority 0; policy drop;\n\t}\n}\n\
         table ip srcnat {\n\tchain post {\n\t\ttype nat hook postrouting priority 100; policy accept;\n\t\tmasquerade\n\t}\n}\n\
         table inet out {\n\tchain o {\n\t\ttype filter hook output priority 0; policy drop;\n\t}\n}\n",
        9911,
    )
    .unwrap();
    let d = readback::verify(&c.plan, info, Point::Host(h), &rs, 1000);
    assert!(d.is_empty(), "{d:?}");
    let listed = rs.unmodelled().join("\n");
    for what in [
        "sleepy is dormant",
        "arp a i on hook input",
        "nat, postrouting",
        "on hook output",
    ] {
        assert!(listed.contains(what), "{what}: {listed}");
    }
    // `meta protocol` is the ethertype: dropping IPv6 at prerouting leaves IPv4 alone.
    let rs = read(
        "table inet eth {\n\tchain p {\n\t\ttype filter hook prerouting priority 0; policy accept;\n\t\tmeta protocol ip6 drop\n\t}\n}\n",
        9912,
    )
    .unwrap();
    let d = readback::verify(&c.plan, info, Point::Host(h), &rs, 1000);
    assert!(d.is_empty(), "{d:?}");
}

/// An iptables reading says what it was given: without ip6tables-save output IPv6 is "not
/// given" (not "accepts everything"), and a dump of one family given as the other is refused.
/// The dumps come from the real ufw in a namespace.
#[test]
fn iptables_dumps_are_read_as_the_family_they_are() {
    if !lab_ready() || !have("ufw") || !have("iptables-save") {
        return;
    }
    let c = checked("fixtures/valid/three-tiers-mixed/plan.netc");
    let info = c.info.as_ref().unwrap();
    let h = c.plan.hosts.iter().position(|h| h.name == "app1").unwrap();
    let dir = root().join("target/it-ufw-families");
    write_tree(&dir, &files_of(&c, &[TargetKind::Ufw]));
    let (v4, v6) = readback::load_ufw_in_namespace(&dir, "app1", 9950).unwrap();
    let both = readback::from_iptables_save(&v4, &v6).unwrap();
    assert!(readback::verify(&c.plan, info, Point::Host(h), &both, 100).is_empty());
    let only4 = readback::from_iptables_save(&v4, "").unwrap();
    assert!(
        only4
            .unmodelled()
            .iter()
            .any(|u| u.contains("IPv6: not given")),
        "{:?}",
        only4.unmodelled()
    );
    assert!(readback::verify(&c.plan, info, Point::Host(h), &only4, 100).is_empty());
    let swapped = readback::from_iptables_save(&v6, &v4).unwrap_err();
    assert!(
        swapped.to_string().contains("holds IPv6 rules"),
        "{swapped}"
    );
    // drift says it too.
    std::fs::write(dir.join("v4.save"), &v4).unwrap();
    let (code, out, err) = run_netc(&[
        "drift",
        "fixtures/valid/three-tiers-mixed/plan.netc",
        "--host",
        "app1",
        dir.join("v4.save").to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("not evaluated: IPv6: not given"), "{out}");
}
