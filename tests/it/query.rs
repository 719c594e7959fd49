//! Answers on the Datalyptica plan match the seed's firewall section.

use super::*;
use netc::query::{ask, explain, Verdict};

fn verdict(q: &str) -> Verdict {
    let c = datalyptica();
    let (src, dst, svc) = netc::query::parse_question(q).unwrap();
    ask(
        &c.plan,
        c.info.as_ref().unwrap(),
        &src,
        &dst,
        svc.as_deref(),
    )
    .unwrap()
    .verdict
}

#[test]
fn external_to_dmz() {
    assert_eq!(
        verdict("can internet reach lb-vip on tcp/443"),
        Verdict::Yes
    );
    assert_eq!(
        verdict("can internet reach datalyptica.company.com on https"),
        Verdict::Yes,
        "by DNS name"
    );
    assert_eq!(verdict("can internet reach lb-vip on tcp/80"), Verdict::No);
    assert_eq!(verdict("can internet reach lb-vip on tcp/22"), Verdict::No);
    assert_eq!(verdict("can admins reach bastion on tcp/22"), Verdict::Yes);
    assert_eq!(verdict("can internet reach bastion on ssh"), Verdict::No);
    assert_eq!(verdict("can 192.0.2.7 reach bastion on ssh"), Verdict::No);
    assert_eq!(
        verdict("can 198.51.100.9 reach bastion01 on ssh"),
        Verdict::Yes,
        "an address inside the admin range"
    );
}

#[test]
fn nothing_internal_from_the_internet() {
    for tier in [
        "catalog",
        "coordination",
        "streaming",
        "processing",
        "query",
        "analytics",
        "monitoring",
        "iam",
    ] {
        assert_eq!(
            verdict(&format!("can internet reach {tier} on any")),
            Verdict::No,
            "{tier}"
        );
        assert_eq!(
            verdict(&format!("can admins reach {tier} on any")),
            Verdict::No,
            "{tier}"
        );
    }
    assert_eq!(
        verdict("can internet reach lb on tcp/8080"),
        Verdict::No,
        "backends are not public"
    );
}

#[test]
fn dmz_to_internal_on_application_ports() {
    assert_eq!(verdict("can lb reach app-query on tcp/8080"), Verdict::Yes);
    assert_eq!(verdict("can lb reach trino-vip on tcp/8080"), Verdict::Yes);
    assert_eq!(verdict("can lb reach catalog on postgres"), Verdict::No);
}

#[test]
fn application_tiers_reach_postgres() {
    for tier in ["processing", "query", "analytics", "iam", "catalog"] {
        assert_eq!(
            verdict(&format!("can {tier} reach pg-vip on tcp/5432")),
            Verdict::Yes,
            "{tier}"
        );
        assert_eq!(
            verdict(&format!("can {tier} reach catalog on postgres")),
            Verdict::Yes,
            "{tier}"
        );
    }
    assert_eq!(
        verdict("can streaming reach pg-vip on tcp/5432"),
        Verdict::No
    );
    assert_eq!(
        verdict("can monitoring reach catalog on tcp/5432"),
        Verdict::No
    );
    assert_eq!(
        verdict("can processing reach pg-vip.catalog.datalyptica.local on postgres"),
        Verdict::Yes
    );
}

#[test]
fn monitoring_reaches_node_exporter_everywhere() {
    let c = datalyptica();
    for host in &c.plan.hosts {
        // The load balancers route the application network through app-lb (their default
        // route is on the DMZ); the bastion has no application address: it is scraped on
        // the management VLAN, which the question names.
        let name = if host.name == "bastion01" {
            "bastion01@mgmt".to_string()
        } else {
            host.name.clone()
        };
        let expected = Verdict::Yes;
        assert_eq!(
            verdict(&format!("can monitoring reach {name} on tcp/9100")),
            expected,
            "{}",
            host.name
        );
        assert_eq!(
            verdict(&format!("can monitoring reach {name} on promtail")),
            expected,
            "{}",
            host.name
        );
        if host.name != "bastion01" {
            assert_eq!(
                verdict(&format!(
                    "can monitoring reach {}@mgmt on tcp/9100",
                    host.name
                )),
                Verdict::No,
                "{}: the management VLAN carries only ssh and ping",
                host.name
            );
        }
    }
    assert_eq!(
        verdict("can analytics reach catalog on tcp/9100"),
        Verdict::No
    );
}

#[test]
fn internal_service_matrix() {
    assert_eq!(
        verdict("can processing reach streaming on kafka"),
        Verdict::Yes
    );
    assert_eq!(
        verdict("can streaming reach streaming on tcp/9093"),
        Verdict::Yes
    );
    assert_eq!(
        verdict("can processing reach streaming on tcp/9093"),
        Verdict::No
    );
    assert_eq!(
        verdict("can analytics reach redis-vip on redis"),
        Verdict::Yes
    );
    assert_eq!(
        verdict("can catalog reach coordination on etcd"),
        Verdict::Yes
    );
    assert_eq!(verdict("can query reach coordination on etcd"), Verdict::No);
    assert_eq!(verdict("can bastion reach mgmt on ssh"), Verdict::Yes);
    assert_eq!(verdict("can processing reach objstore on s3"), Verdict::Yes);
    assert_eq!(
        verdict("can analytics reach objstore on s3"),
        Verdict::Yes,
        "routed through core"
    );
    assert_eq!(
        verdict("can analytics reach objstore on tcp/22"),
        Verdict::No,
        "core filters what it routes"
    );
}

#[test]
fn explanations_snapshot() {
    let c = datalyptica();
    for (name, q) in [
        ("postgres_yes", "can processing reach pg-vip on postgres"),
        ("internet_bastion_no", "can internet reach bastion on ssh"),
        ("near_miss", "can streaming reach catalog on postgres"),
        ("lb_vip", "can internet reach lb-vip on https"),
    ] {
        let (src, dst, svc) = netc::query::parse_question(q).unwrap();
        let answer = ask(
            &c.plan,
            c.info.as_ref().unwrap(),
            &src,
            &dst,
            svc.as_deref(),
        )
        .unwrap();
        let e = explain::explain(&c.plan, c.info.as_ref().unwrap(), &answer);
        insta::assert_snapshot!(name, explain::human(&e));
    }
}

#[test]
fn near_misses_name_the_rule() {
    let c = datalyptica();
    let answer = ask(
        &c.plan,
        c.info.as_ref().unwrap(),
        "streaming",
        "catalog",
        Some("postgres"),
    )
    .unwrap();
    let e = explain::explain(&c.plan, c.info.as_ref().unwrap(), &answer);
    assert_eq!(e.verdict, Verdict::No);
    assert!(
        e.near_misses.iter().any(|n| n.to_string().contains(
            "accepts tcp/5432 from catalog, processing, query, analytics, iam; not from streaming"
        ) && n.misses == "source"
            && n.asked == "streaming"),
        "{:#?}",
        e.near_misses
    );
}

#[test]
fn bad_questions_are_errors() {
    let c = datalyptica();
    let info = c.info.as_ref().unwrap();
    assert!(netc::query::parse_question("does x reach y").is_err());
    let e = ask(&c.plan, info, "catalgo", "query", None).err().unwrap();
    assert!(e.0.contains("did you mean `catalog`"), "{e}");
    assert!(ask(&c.plan, info, "catalog", "query", Some("postgress")).is_err());
}

#[test]
fn matrix_snapshot() {
    let c = datalyptica();
    let cells = netc::query::matrix::matrix(&c.plan, c.info.as_ref().unwrap()).unwrap();
    insta::assert_snapshot!("datalyptica_matrix", netc::query::matrix::text(&cells));
    let csv = netc::query::matrix::csv(&cells);
    assert!(csv.starts_with("source,destination,services,partial,unfiltered,configured_only\n"));
    assert!(
        csv.contains("\"internet\",\"lb\",\"tcp/443\",true,false"),
        "{csv}"
    );
}

#[test]
fn diff_finds_new_and_removed_access() {
    let dir = datalyptica_copy("diff-test");
    let flows = dir.join("flows.netc");
    let text = std::fs::read_to_string(&flows).unwrap();
    let text = text.replace(
        "allow processing, query, analytics -> catalog : nessie",
        "allow processing, query, analytics, streaming -> catalog : nessie",
    );
    let text = text.replace("allow analytics, iam -> iam : redis\n", "");
    std::fs::write(&flows, text).unwrap();
    let old = datalyptica();
    let new = netc::load_and_check(std::slice::from_ref(&dir)).unwrap();
    let d = netc::query::diff::diff(
        &old.plan,
        old.info.as_ref().unwrap(),
        &new.plan,
        new.info.as_ref().unwrap(),
    );
    let rows = |list: &[netc::query::diff::Change]| -> Vec<String> {
        list.iter()
            .map(|c| {
                let kind = if c.configured_only {
                    " (configured)"
                } else {
                    ""
                };
                format!("{} -> {}: {}{kind}", c.src, c.dst, c.services)
            })
            .collect()
    };
    // Reachable from the addresses the tiers' kernels send from; their management addresses
    // send nothing to the application VLANs (the kernel picks the application address), and
    // catalog's management address is not opened (the management VLAN carries only ssh and
    // ping), so nothing is configured without being reachable.
    assert_eq!(rows(&d.opened), ["streaming -> catalog: tcp/19120"]);
    assert_eq!(
        rows(&d.closed),
        ["analytics -> iam: tcp/6379", "iam -> iam: tcp/6379"]
    );
    assert!(d.opened[0].rules[0]
        .text
        .contains("streaming -> catalog : nessie"));
    let same = netc::query::diff::diff(
        &old.plan,
        old.info.as_ref().unwrap(),
        &old.plan,
        old.info.as_ref().unwrap(),
    );
    assert!(same.opened.is_empty() && same.closed.is_empty());
}

#[test]
fn diff_shortcuts_agree_with_the_exhaustive_comparison() {
    // Each change of the Datalyptica plan: (file, text replaced, replacement).
    let changes: &[(&str, &str, &str)] = &[
        (
            "flows.netc",
            "allow processing, query, analytics -> catalog : nessie",
            "allow processing, query, analytics -> catalog : nessie\ndeny query -> catalog : nessie",
        ),
        (
            "flows.netc",
            "allow internet -> lb-vip : https",
            "allow internet -> lb-vip : https, tcp/80\ndeny monitoring -> bastion : node-exporter",
        ),
        (
            "flows.netc",
            "allow processing, query, analytics -> catalog : nessie",
            "allow processing, query -> catalog : nessie",
        ),
        // Network objects are not part of the topology: the rules naming them change boxes.
        (
            "network.netc",
            "network admins 198.51.100.0/26",
            "network admins 198.51.100.0/25",
        ),
        // No rule changes below: a translation, a route and egress filtering change where
        // packets go and who enforces, and the shortcut must not skip them.
        (
            "network.netc",
            "  nat source 10.20.0.0/16 masquerade",
            "  nat source 10.20.0.0/16 masquerade\n  nat forward 192.0.2.3 tcp/443 to lb01@dmz",
        ),
        (
            "hosts.netc",
            " route 10.20.0.0/16 via app-lb firewall firewalld",
            " firewall firewalld",
        ),
        (
            "hosts.netc",
            "tier bastion on dmz dev eth1, mgmt dev eth0 firewall nftables",
            "tier bastion on dmz dev eth1, mgmt dev eth0 firewall nftables egress filtered",
        ),
    ];
    for (i, (file, from, to)) in changes.iter().enumerate() {
        let dir = datalyptica_copy(&format!("diff-shortcut-{i}"));
        let path = dir.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{from}");
        std::fs::write(&path, text.replace(from, to)).unwrap();
        let old = datalyptica();
        let new = netc::load_and_check(std::slice::from_ref(&dir)).unwrap();
        let (o, n) = (
            old.info.as_ref().unwrap(),
            new.info.as_ref().expect("the changed plan checks"),
        );
        let fast = netc::query::diff::diff(&old.plan, o, &new.plan, n);
        let slow = netc::query::diff::diff_exhaustive(&old.plan, o, &new.plan, n);
        let (fast, slow) = (
            netc::query::diff::human(&fast),
            netc::query::diff::human(&slow),
        );
        assert_eq!(fast, slow, "change {i}");
        assert!(!fast.starts_with("no change"), "change {i} changes access");
    }
}

/// Questions as people ask them are read as the accepted form, and the answer's question
/// line says how (issue: everyday use).
#[test]
fn questions_as_people_ask_them() {
    let canonical = |q: &str| {
        let (code, out, err) = super::run_netc(&["query", "fixtures/datalyptica", q]);
        assert_ne!(code, 2, "{q}: {err}");
        out.lines().next().unwrap_or_default().to_string()
    };
    for (asked, read_as) in [
        (
            "Can processing reach catalog on postgres?",
            "can processing reach catalog on tcp/5432?",
        ),
        (
            "can processing reach catalog on 5432",
            "can processing reach catalog on tcp/5432?",
        ),
        (
            "can processing reach catalog on port 5432",
            "can processing reach catalog on tcp/5432?",
        ),
        (
            "can processing reach catalog on tcp 5432",
            "can processing reach catalog on tcp/5432?",
        ),
        (
            "can processing reach catalog on 5432/tcp",
            "can processing reach catalog on tcp/5432?",
        ),
        (
            "can processing reach pg01:5432",
            "can processing reach pg01 on tcp/5432?",
        ),
        (
            "CAN processing REACH catalog ON tcp/5432 and tcp/22",
            "can processing reach catalog on tcp/22, tcp/5432?",
        ),
    ] {
        let line = canonical(asked);
        assert!(line.starts_with(read_as), "{asked}: {line}");
    }
    // A listing asked as a question points at the listing; anything else at the form.
    let (code, _, err) = super::run_netc(&["query", "fixtures/datalyptica", "who can reach pg01"]);
    assert_eq!(code, 2);
    assert!(err.contains("netc who-can-reach PLAN DST"), "{err}");
    let (code, _, err) = super::run_netc(&["query", "fixtures/datalyptica", "is pg01 open"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("can SRC reach DST on SERVICE") && err.contains("e.g."),
        "{err}"
    );
    // what-can-reach takes its source as who-can-reach takes its destination.
    let (code, positional, _) =
        super::run_netc(&["what-can-reach", "fixtures/datalyptica", "bastion"]);
    let (_, flag, _) = super::run_netc(&[
        "what-can-reach",
        "fixtures/datalyptica",
        "--from",
        "bastion",
    ]);
    assert_eq!(code, 0);
    assert_eq!(positional, flag);
}

/// A question between ends of no common address family cannot be asked: exit 2 with why,
/// not "NO, 0 of 0 pairs".
#[test]
fn a_question_across_families_says_why_it_cannot_be_asked() {
    let dir = super::plan_dir(
        "it-query-families",
        "vlan 10 v4 { subnet 10.5.0.0/24 gateway .1 }\n\
         vlan 11 v6 { subnet 2001:db8:5::/64 gateway 2001:db8:5::1 }\n\
         router r { v4 dev r4  v6 dev r6 }\n\
         tier web on v4 dev eth0 firewall nftables\n\
         tier six on v6 dev eth0 firewall nftables\n\
         host web01 in web { v4 10.5.0.10 }\n\
         host six01 in six { v6 2001:db8:5::10 }\n\
         allow six -> web : tcp/443\n",
    );
    let p = dir.to_str().unwrap();
    for q in [
        "can 2001:db8::1 reach web01 on tcp/443",
        "can six01 reach web01 on tcp/443",
        "can web01 reach six on tcp/443",
    ] {
        let (code, out, err) = super::run_netc(&["query", p, q]);
        assert_eq!(code, 2, "{q}: {out}{err}");
        assert!(
            err.contains("cannot be asked") && err.contains("only IPv"),
            "{q}: {err}"
        );
    }
    // The summary counts in the singular where there is one.
    let (_, out, err) = super::run_netc(&["check", p]);
    assert!(
        format!("{out}{err}").contains("(2 vlans, 2 tiers, 2 hosts, 0 vips, 1 flow)"),
        "{out}{err}"
    );
    // A target with nothing to write says so.
    let out_dir = dir.join("out");
    let (code, out, err) = super::run_netc(&[
        "compile",
        p,
        "--target",
        "ios",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("0 files") && err.contains("note: the plan gives ios nothing to write"),
        "{out}{err}"
    );
}

/// Example packets are ones people recognise: a host's address where the pair has hosts,
/// never a network's first address where the pair has others, never a host to itself.
#[test]
fn example_packets_use_host_addresses() {
    for q in [
        "can storage reach processing on any",
        "can processing reach catalog on postgres",
        "can internet reach lb on https",
        "can admins reach bastion on ssh",
    ] {
        let (_, out, err) = super::run_netc(&["query", "fixtures/datalyptica", q]);
        for line in out.lines().filter(|l| l.trim_start().starts_with("e.g. ")) {
            let words: Vec<&str> = line.split_whitespace().collect();
            let (src, dst) = (words[1], words[3]);
            assert_ne!(src, dst, "{q}: {line}");
            for a in [src, dst] {
                assert!(!a.ends_with(".0"), "{q}: {line}\n{err}");
            }
        }
    }
}

/// A ufw host that filters egress still sends ICMPv6 echo anywhere (its stock before6.rules
/// accept it first): the answer is YES for IPv6, NO for IPv4 where no rule allows it, and it
/// says why (the lab `egress_filtered_hosts_agree_with_netc` sends the packets).
#[test]
fn ufw_egress_answers_say_what_ufw_sends_by_itself() {
    let plan = "fixtures/valid/egress-filtered/plan.netc";
    let (code, out, _) =
        super::run_netc(&["query", plan, "can jobs1 reach 2001:db8:70:1::20 on icmp"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("YES"), "{out}");
    assert!(
        out.contains("jobs1 sends ICMPv6 echo anywhere: ufw's stock before6.rules"),
        "{out}"
    );
    let (code, out, _) = super::run_netc(&["query", plan, "can jobs1 reach 10.70.1.20 on icmp"]);
    assert_eq!(code, 1, "{out}");
    assert!(!out.contains("ICMPv6 echo anywhere"), "{out}");
    // What the plan allows from it over IPv4 passes its output rules, nothing else.
    let (code, out, _) = super::run_netc(&["query", plan, "can jobs1 reach web1 on icmp"]);
    assert_eq!(code, 0, "{out}");
    let (code, out, _) = super::run_netc(&["query", plan, "can jobs1 reach db1 on tcp/22"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("egress of host jobs1 (ufw)"), "{out}");
}

/// A question about an address the kernel never sends from, for that destination, says which
/// address it picks instead, in text and JSON (the JSON is held to its schema elsewhere).
#[test]
fn an_address_the_kernel_does_not_pick_is_explained() {
    for q in [
        "can lb01@dmz reach 10.20.10.11 on tcp/8080",
        "can 203.0.113.11 reach 10.20.10.11 on tcp/8080",
    ] {
        let (code, out, _) = super::run_netc(&["query", "fixtures/datalyptica", q]);
        assert_eq!(code, 1, "{out}");
        assert!(
            out.contains("not sent: lb01 sends to 10.20.10.11 from 10.20.1.11 (app-lb, its route), not from 203.0.113.11"),
            "{out}"
        );
        let (_, json, _) =
            super::run_netc(&["query", "fixtures/datalyptica", q, "--format", "json"]);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["not_sent"].as_array().map(Vec::len), Some(1), "{json}");
    }
    // The address the kernel does pick is answered as usual, with no such line.
    let (code, out, _) = super::run_netc(&[
        "query",
        "fixtures/datalyptica",
        "can lb01@app-lb reach 10.20.10.11 on tcp/8080",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("not sent"), "{out}");
}
