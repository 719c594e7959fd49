//! Valid plans check clean; each invalid fixture yields the code its directory is named after,
//! and its rendered diagnostics are snapshotted.

use super::*;

#[test]
fn datalyptica_checks_clean() {
    let c = datalyptica();
    let errors: Vec<_> = c.diags.iter().filter(|d| d.is_error()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert!(c.info.is_some());
    assert_eq!(c.plan.hosts.len(), 67, "66 VMs of the seed and the bastion");
    let count = |t: &str| {
        c.plan
            .tiers
            .iter()
            .find(|x| x.name == t)
            .map(|x| x.hosts.len())
    };
    for (tier, n) in [
        ("lb", 3),
        ("catalog", 6),
        ("coordination", 3),
        ("streaming", 11),
        ("processing", 12),
        ("query", 9),
        ("analytics", 7),
        ("monitoring", 9),
        ("iam", 6),
    ] {
        assert_eq!(count(tier), Some(n), "tier {tier}");
    }
    let storage = c.plan.vlans.iter().find(|v| v.id == 30).unwrap();
    assert_eq!(storage.mtu, Some(9000));
}

#[test]
fn datalyptica_model_snapshot() {
    let c = datalyptica();
    let value = serde_json::json!({ "plan": c.plan, "dns_records": c.info.as_ref().unwrap().dns });
    insta::assert_json_snapshot!("datalyptica_model", value);
}

#[test]
fn valid_fixtures_check_clean() {
    insta::glob!("../../fixtures/valid", "*/plan.netc", |path| {
        let c = checked(&rel(path));
        let text = netc::render::human(&c.diags, &c.plan.sources, false, 100);
        assert!(!c.has_errors(), "{text}");
        insta::assert_json_snapshot!(serde_json::json!({ "plan": c.plan }));
    });
}

#[test]
fn invalid_fixtures_report_their_code() {
    insta::glob!("../../fixtures/invalid", "*/plan.netc", |path| {
        let case = path
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap();
        let code = case.split('-').next().unwrap();
        let c = checked(&rel(path));
        assert!(
            c.diags.iter().any(|d| d.code == code),
            "{case}: no {code} in {:#?}",
            c.diags
        );
        if code.starts_with('E') {
            assert!(
                c.has_errors() && c.info.is_none(),
                "{case}: errors must block compilation"
            );
        }
        for d in &c.diags {
            assert!(
                d.primary.is_some(),
                "{case}: every diagnostic points at the plan: {d:?}"
            );
            assert!(
                d.help.is_some(),
                "{case}: every diagnostic has a help line: {d:?}"
            );
            assert!(
                netc::codes::find(d.code).is_some(),
                "{case}: unregistered code {}",
                d.code
            );
        }
        let rendered = netc::render::human(&c.diags, &c.plan.sources, false, 100);
        insta::assert_snapshot!(rendered);
    });
}

#[test]
fn every_code_has_an_invalid_fixture() {
    let dir = root().join("fixtures/invalid");
    let cases: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for code in netc::codes::ALL {
        assert!(
            cases
                .iter()
                .any(|c| c == &format!("{}-{}", code.code, code.name)),
            "no fixtures/invalid/{}-{}",
            code.code,
            code.name
        );
    }
}

/// Fixtures test one rule at a time: each invalid fixture reports its own code and no other
/// (an acknowledged warning, which a W088 fixture needs, is not reported).
#[test]
fn each_invalid_fixture_reports_only_its_code() {
    let dir = root().join("fixtures/invalid");
    let mut cases: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    cases.sort();
    let mut wrong = Vec::new();
    for case in cases {
        let code = case.split('-').next().unwrap().to_string();
        let c = checked(&format!("fixtures/invalid/{case}/plan.netc"));
        let mut codes: Vec<&str> = c
            .diags
            .iter()
            .filter(|d| d.acknowledged.is_none())
            .map(|d| d.code)
            .collect();
        codes.sort();
        codes.dedup();
        if codes != [code.as_str()] {
            wrong.push(format!("{case}: {codes:?}"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn one_run_reports_every_error() {
    let c = netc::check_text(
        "many.netc",
        "vlan 0 a { subnet 10.0.0.0/24 }\nvlan 10 b { subnet 10.0.0.0/25 }\nhost g in nowhere\ntier t on b\nhost h in t\nservice s tcp/0\nallow x -> y : z\n",
    );
    let mut codes: Vec<&str> = c
        .diags
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.code)
        .collect();
    codes.sort();
    codes.dedup();
    assert_eq!(codes, ["E001", "E011", "E020", "E030", "E091"]);
}

#[test]
fn json_diagnostics_carry_positions() {
    let c = checked("fixtures/invalid/E030-overlapping-subnets/plan.netc");
    let json: serde_json::Value =
        serde_json::from_str(&netc::render::json("p", &c.diags, &c.plan.sources)).unwrap();
    assert_eq!(json["schema"], "netc-check/1");
    assert_eq!(
        json["errors"],
        c.diags.iter().filter(|d| d.is_error()).count()
    );
    let first = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "E030")
        .unwrap();
    assert_eq!(first["location"]["line"], 2);
    assert_eq!(first["labels"][1]["text"], "subnet 10.20.0.0/16");
}

/// W083's shortcuts (one host per kind of source, only tiers whose rules to the VIP and to
/// its members differ) find exactly what comparing every host of every tier finds, on
/// generated plans with VIPs, rules to VIPs alone, and every host firewall.
#[test]
fn vip_contradiction_shortcuts_agree_with_the_exhaustive_check() {
    use netc::generate::{generate, GenOptions};
    use netc::ir::FirewallKind;
    let mut found = 0;
    let mut plans = Vec::new();
    // ufw leaves ICMP open: a tier on the members' VLAN with rules to the members only still
    // reaches the VIP (on ICMP), and is told that it reaches the members on more.
    plans.push(
        "vlan 20 b { subnet 10.2.0.0/24 gateway .1 }
tier db on b firewall ufw
tier app on b
host db1 in db { b 10.2.0.11 }
host db2 in db { b 10.2.0.12 }
host app1 in app { b 10.2.0.21 }
vip dbv 10.2.0.100 for db1, db2
allow app -> db1, db2 : tcp/5432
"
        .to_string(),
    );
    for seed in 1..=6 {
        for fw in [
            FirewallKind::Nftables,
            FirewallKind::Firewalld,
            FirewallKind::Ufw,
            FirewallKind::None,
        ] {
            plans.push(generate(&GenOptions {
                vlans: 4,
                tiers: 12,
                hosts: 120,
                services: 30,
                flows: 600,
                seed,
                host_firewall: fw,
                infra: true,
                scattered: false,
            }));
            // The scattered layout checks clean too.
            plans.push(generate(&GenOptions {
                vlans: 6,
                tiers: 30,
                hosts: 240,
                services: 30,
                flows: 600,
                seed,
                host_firewall: fw,
                infra: false,
                scattered: true,
            }));
        }
    }
    for (i, text) in plans.iter().enumerate() {
        let c = netc::check_text("gen.netc", text);
        let info = c.info.as_ref().expect("the plans check");
        let run = |shortcuts: bool| {
            let mut diags = Vec::new();
            netc::check::vip_contradiction::check_with(
                &c.plan,
                &info.policy,
                &info.topology,
                &mut diags,
                shortcuts,
            );
            diags.iter().map(|d| d.message.clone()).collect::<Vec<_>>()
        };
        let fast = run(true);
        assert_eq!(fast, run(false), "plan {i}:\n{text}");
        if i == 0 {
            assert_eq!(fast.len(), 1, "{fast:?}");
        }
        found += fast.len();
    }
    assert!(
        found > 20,
        "the plans have contradictions to find ({found})"
    );
}

/// One error per mistake: a statement with a syntax error declares nothing, and the uses of
/// the name it was declaring stay quiet (no "`core` is not defined" after the broken
/// `router core`).
#[test]
fn a_broken_declaration_is_one_error_not_one_per_use() {
    let c = netc::check_text(
        "broken.netc",
        "vlan 100 mgmt { subnet 10.10.0.0/24 gateway .1 }\nrouter core { mgmt, }\nswitch core1 ios routes core { trunk Ethernet1/1 vlans mgmt }\ntier t on mgmt\nhost h1 in t { mgmt 10.10.0.5 }\nallow t -> core : tcp/22\n",
    );
    let codes: Vec<&str> = c.diags.iter().map(|d| d.code).collect();
    assert_eq!(codes, ["E001"], "{:#?}", c.diags);
    // A name nobody declared is still reported.
    let c = netc::check_text(
        "typo.netc",
        "vlan 100 mgmt { subnet 10.10.0.0/24 gateway .1 }\nrouter core { mgmt, }\ntier t on mgmt\nhost h1 in t { mgmt 10.10.0.5 }\nallow t -> cor : tcp/22\n",
    );
    let codes: Vec<&str> = c.diags.iter().map(|d| d.code).collect();
    assert_eq!(codes, ["E001", "E011"], "{:#?}", c.diags);
}

/// A gateway outside its subnet is one error: the router that would take it and the route
/// through it say nothing more (they said "the VLAN declares no gateway", which it does).
#[test]
fn a_refused_gateway_is_one_error() {
    let c = netc::check_text(
        "gw.netc",
        "vlan 10 app { subnet 10.1.0.0/24 gateway 10.9.0.1 }\nvlan 20 edge { subnet 192.0.2.0/24 gateway .1 }\nrouter core { app }\nrouter border { edge }\ntier t on edge, app route 10.0.0.0/8 via app\nhost h1 in t { edge 192.0.2.5 app 10.1.0.5 }\n",
    );
    let codes: Vec<&str> = c.diags.iter().map(|d| d.code).collect();
    assert_eq!(codes, ["E031"], "{:#?}", c.diags);
}

/// Switch names become file names like host names: reserved device names and names that
/// differ only by case are refused before anything is written.
#[test]
fn switch_names_are_safe_file_names() {
    let c = netc::check_text(
        "sw.netc",
        "vlan 100 mgmt { subnet 10.10.0.0/24 gateway .1 }\ntier t on mgmt\nhost h1 in t { mgmt 10.10.0.5 }\nswitch nul ios { access Ethernet1 host h1 dev eth0 }\nswitch COM5 ios { trunk Ethernet2 vlans mgmt }\nswitch Tor1 eos { trunk Ethernet1 vlans mgmt }\nswitch tor1 eos { trunk Ethernet1 vlans mgmt }\n",
    );
    let messages: Vec<String> = c
        .diags
        .iter()
        .map(|d| format!("{} {}", d.code, d.message))
        .collect();
    assert!(
        messages.contains(&"E013 `nul` is a reserved device name".to_string()),
        "{messages:?}"
    );
    assert!(
        messages.contains(&"E013 `COM5` is a reserved device name".to_string()),
        "{messages:?}"
    );
    assert!(
        messages.contains(&"E010 switches `Tor1` and `tor1` differ only by case".to_string()),
        "{messages:?}"
    );
    assert!(c.info.is_none());
}

/// `# netc-ack CODE: reason` acknowledges a warning on its line or the next statement's line:
/// the warning is listed with its reason (human, JSON, SARIF suppression), counted apart, and
/// does not fail `-D warnings`; every kind of stale acknowledgement is W088, and a `#` in a
/// string is not a comment.
#[test]
fn acknowledged_warnings_are_listed_not_hidden() {
    let plan = "vlan 10 a { subnet 10.0.0.0/24 }\n\
        tier t on a firewall nftables\n\
        tier u on a firewall nftables\n\
        host h in t { a 10.0.0.5 }\n\
        host g in u { a 10.0.0.6 }\n\
        # netc-ack W082: vendor range \"#1\" (INC-1234)\n\
        \n\
        allow t -> u : tcp/1-4000 \"a # in a string\"\n\
        allow u -> t : tcp/22 \"x # netc-ack W081: inside a string\"\n\
        allow u -> t : tcp/22   # netc-ack W081: kept until CHG-12\n\
        allow t -> u : tcp/9000   # netc-ack W082: stale\n\
        # netc-ack E030: errors cannot be acknowledged\n\
        allow u -> t : tcp/5000\n\
        # netc-ack W999: unknown\n\
        allow u -> t : tcp/5001\n\
        allow u -> t : tcp/5002   # netc-ack W070\n";
    let c = netc::check_text("ack.netc", plan);
    assert!(!c.has_errors(), "{:?}", c.diags);
    let acked: Vec<(&str, usize, &str)> = c
        .diags
        .iter()
        .filter_map(|d| {
            let line = c.plan.sources.location(d.primary.as_ref()?.span).line;
            Some((d.code, line, d.acknowledged.as_deref()?))
        })
        .collect();
    assert_eq!(
        acked,
        [
            ("W082", 8, "vendor range \"#1\" (INC-1234)"),
            ("W081", 10, "kept until CHG-12"),
        ]
    );
    let stale: Vec<usize> = c
        .diags
        .iter()
        .filter(|d| d.code == "W088")
        .map(|d| {
            c.plan
                .sources
                .location(d.primary.as_ref().unwrap().span)
                .line
        })
        .collect();
    assert_eq!(stale, [11, 12, 14, 16], "{:#?}", c.diags);
    // Of the twin rules (lines 9 and 10) the later is the redundant one; the `netc-ack` in
    // line 9's string is text, not an acknowledgement (it would be stale otherwise).
    let text = netc::render::human(&c.diags, &c.plan.sources, false, 100);
    assert!(
        text.contains("acknowledged warnings:\n  ack.netc:8 W082 overbroad-rule"),
        "{text}"
    );
    assert!(text.contains("reason: kept until CHG-12"), "{text}");
    assert!(netc::render::summary(&c.diags).ends_with("(2 acknowledged)"));
    let json: serde_json::Value =
        serde_json::from_str(&netc::render::json("p", &c.diags, &c.plan.sources)).unwrap();
    assert_eq!(json["acknowledged"], 2);
    assert_eq!(
        json["warnings"].as_u64().unwrap() as usize,
        c.diags.len() - 2
    );
    let sarif: serde_json::Value =
        serde_json::from_str(&netc::render::sarif(&c.diags, &c.plan.sources)).unwrap();
    let suppressed: Vec<&serde_json::Value> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| !r["suppressions"].as_array().unwrap().is_empty())
        .collect();
    assert_eq!(suppressed.len(), 2);
    assert_eq!(suppressed[0]["suppressions"][0]["kind"], "inSource");
}

/// `-D warnings` fails on warnings, not on acknowledged ones.
#[test]
fn deny_warnings_ignores_acknowledged_ones() {
    let dir = root().join("target/it-ack");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let base = "vlan 10 a { subnet 10.0.0.0/24 }\ntier t on a\ntier u on a\n\
        host h in t { a 10.0.0.5 }\nhost g in u { a 10.0.0.6 }\n";
    let acked = dir.join("acked.netc");
    std::fs::write(
        &acked,
        format!("{base}allow t -> u : tcp/1-4000  # netc-ack W082: vendor\n"),
    )
    .unwrap();
    let open = dir.join("open.netc");
    std::fs::write(&open, format!("{base}allow t -> u : tcp/1-4000\n")).unwrap();
    let (code, out, _) = super::run_netc(&["check", "-D", "warnings", acked.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("0 warnings (1 acknowledged)"), "{out}");
    let (code, _, _) = super::run_netc(&["check", "-D", "warnings", open.to_str().unwrap()]);
    assert_eq!(code, 1);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Mistakes people make, each reported once and where it is: a forgotten `}` at the brace
/// (and reading goes on with the next statement), an escape strings do not take, a VLAN and a
/// tier of one name (one E010, no E012 cascade at its uses).
#[test]
fn everyday_mistakes_are_reported_once_where_they_are() {
    let codes_at = |text: &str| -> Vec<(String, usize, usize, String)> {
        let c = netc::check_text("m.netc", text);
        c.diags
            .iter()
            .filter(|d| d.is_error())
            .map(|d| {
                let at = c.plan.sources.location(d.primary.as_ref().unwrap().span);
                (d.code.to_string(), at.line, at.column, d.message.clone())
            })
            .collect()
    };
    // A forgotten `}`: one error at the brace; the next statements are read (their own
    // mistake, `nftable`, is found too).
    let e = codes_at("vlan 10 a { subnet 10.0.0.0/24\ntier t on a firewall nftable\n");
    assert_eq!(e.len(), 2, "{e:?}");
    assert_eq!((e[0].1, e[0].2), (1, 11), "{e:?}");
    assert!(e[0].3.contains("never closed"), "{e:?}");
    assert!(e[1].3.contains("unknown firewall `nftable`"), "{e:?}");
    let e = codes_at("vlan 10 a { subnet 10.0.0.0/24\ntier t on a\nhost h in t { a 10.0.0.5 }\n");
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].3.contains("never closed"));
    let e = codes_at("vlan 10 a { subnet 10.0.0.0/24\n");
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!((e[0].1, e[0].2), (1, 11));
    // An escape strings do not take.
    let e = codes_at("vlan 10 a { subnet 10.0.0.0/24 }\ntier t on a \"two\\nlines\"\n");
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].3.contains("unsupported escape `\\n`"), "{e:?}");
    assert_eq!((e[0].1, e[0].2), (2, 17));
    // `\"` and `\\` are fine.
    assert!(codes_at("vlan 10 a \"say \\\"hi\\\" \\\\o/\" { subnet 10.0.0.0/24 }\n").is_empty());
    // A VLAN and a tier of one name: one error, at the second declaration.
    let e = codes_at("vlan 20 app { subnet 10.0.0.0/24 }\ntier app on app\nhost h in app { app 10.0.0.5 }\nallow app -> app : tcp/22\n");
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].0, "E010");
}

/// `any` as an endpoint is every address: the internet and every subnet of the plan.
#[test]
fn any_is_every_address() {
    // `web` is public (the internet reaches it), `pg` private (the internet does not route it).
    let plan = "vlan 20 app { subnet 192.0.2.0/24 gateway .1 }\nvlan 30 db { subnet 10.0.1.0/24 gateway .1 }\n\
        router r { app db upstream }\ntier web on app firewall nftables\ntier pg on db firewall nftables\n\
        host h in web { app 192.0.2.5 }\nhost p in pg { db 10.0.1.5 }\nallow any -> web : tcp/22\n";
    let c = netc::check_text("any.netc", plan);
    assert!(!c.has_errors(), "{:?}", c.diags);
    let info = c.info.as_ref().unwrap();
    let (all, _) = netc::query::resolve_services(&c.plan, "tcp/22").unwrap();
    for (src, yes) in [
        ("internet", true),
        ("pg", true),
        ("r", true),
        ("10.0.1.77", true),
        ("any", true),
    ] {
        let a = netc::query::ask(&c.plan, info, src, "web", Some("tcp/22")).unwrap();
        assert_eq!(a.verdict == netc::query::Verdict::Yes, yes, "{src}");
    }
    let a = netc::query::ask(&c.plan, info, "internet", "pg", Some("tcp/22")).unwrap();
    assert_eq!(a.verdict, netc::query::Verdict::No);
    assert_eq!(
        c.plan.endpoint_set(&netc::ir::EndpointRef::Any),
        c.plan.internet_set().union(&c.plan.internal_set())
    );
    let _ = all;
}

/// `name NAME` on a rule is its identity in the outputs: kept when the rule's text changes
/// (a derived identity changes); a name given twice, or of the derived form, is E010.
#[test]
fn named_rules_keep_their_identity() {
    let base = "vlan 10 a { subnet 10.0.0.0/24 gateway .1 }\nvlan 20 b { subnet 10.0.1.0/24 gateway .1 }\n\
        router r { a b }\ntier t on a firewall nftables\ntier u on b firewall nftables\n\
        host h in t { a 10.0.0.5 }\nhost g in u { b 10.0.1.5 }\nservice pg tcp/5432\nservice pool tcp/6432\n";
    let id_of = |rule: &str| {
        let c = netc::check_text("n.netc", &format!("{base}{rule}\n"));
        assert!(!c.has_errors(), "{:?}", c.diags);
        c.plan.flows[0].id()
    };
    assert_eq!(id_of("allow t -> u : pg log name t-to-pg"), "t-to-pg");
    assert_eq!(id_of("allow t -> u : pg, pool log name t-to-pg"), "t-to-pg");
    assert_ne!(
        id_of("allow t -> u : pg log"),
        id_of("allow t -> u : pg, pool log")
    );
    let errors = |rules: &str| -> Vec<String> {
        let c = netc::check_text("n.netc", &format!("{base}{rules}\n"));
        c.diags
            .iter()
            .filter(|d| d.is_error())
            .map(|d| format!("{} {}", d.code, d.message))
            .collect()
    };
    let e = errors("allow t -> u : pg name x\nallow u -> t : pg name x");
    assert_eq!(e, ["E010 the rule name `x` is given twice"]);
    let e = errors("allow t -> u : pg name r0123abcd");
    assert_eq!(e.len(), 1);
    assert!(e[0].contains("derived rule identity"), "{e:?}");
}

/// Split horizon checks: the internet's name server must be a host it reaches on dns (W089);
/// a zone published to the internet never carries internal addresses or names of its own
/// choosing (E065); a `view both` zone's internal records are no error (they stay inside).
#[test]
fn zones_published_to_the_internet_are_checked() {
    let base = "vlan 30 dmz { subnet 203.0.113.0/24 gateway .1 }\nvlan 20 app { subnet 10.20.10.0/24 gateway .1 }\n\
        router edge { dmz app upstream }\ntier dns on dmz firewall nftables\ntier db on app firewall nftables\n\
        host ns01 in dns { dmz 203.0.113.2 }\nhost pg01 in db { app 10.20.10.11 }\n";
    let codes = |rest: &str| -> Vec<&'static str> {
        let c = netc::check_text("v.netc", &format!("{base}{rest}\n"));
        c.diags.iter().map(|d| d.code).collect()
    };
    let zone = "zone example.com { view both  ns ns1 203.0.113.2 }";
    assert_eq!(
        codes(&format!("{zone}\nallow internet -> dns : udp/53, tcp/53")),
        Vec::<&str>::new()
    );
    assert_eq!(
        codes(&format!("{zone}\nallow internet -> dns : tcp/53")),
        ["W089"]
    );
    assert_eq!(
        codes(&format!("{zone}\nallow db -> dns : udp/53")),
        ["W089"]
    );
    // Internal glue for the public copy, an internal record in an external-only zone.
    assert_eq!(
        codes("zone example.com { view both  ns ns1 10.20.10.53 }"),
        ["E065"]
    );
    assert_eq!(
        codes("zone example.com { view external  ns ns1.provider.example.net.  record db a 10.20.10.11 }"),
        ["E065"]
    );
    assert_eq!(
        codes("zone corp.local { local-ok ns ns1.provider.example.net. }\nzone example.com { view external  ns ns1.corp.local. }"),
        ["E065"]
    );
}

/// `names none` on a VLAN: its host addresses get no `HOST.VLAN.DOMAIN` name and no PTR;
/// other VLANs keep theirs (the default, `names interface`).
#[test]
fn a_vlan_can_say_its_addresses_have_no_names() {
    let plan = |names: &str| {
        format!(
            "vlan 10 mgmt {names} {{ subnet 10.10.0.0/24 }}\nvlan 20 app {{ subnet 10.20.0.0/24 }}\n\
             vlan 30 storage {{ subnet 10.30.0.0/24 }}\n\
             tier db on app, mgmt, storage domain db.example.com\n\
             host pg01 in db {{ app 10.20.0.11  mgmt 10.10.0.11  storage 10.30.0.11 }}\n\
             zone example.com {{ ns ns1.example.net. }}\n"
        )
    };
    let names = |text: &str| -> Vec<String> {
        let c = netc::check_text("n.netc", text);
        assert!(!c.has_errors(), "{:?}", c.diags);
        c.info
            .as_ref()
            .unwrap()
            .dns
            .iter()
            .map(|r| r.fqdn.clone())
            .collect()
    };
    let all = names(&plan(""));
    assert!(
        all.contains(&"pg01.mgmt.db.example.com".to_string()),
        "{all:?}"
    );
    assert!(all.contains(&"pg01.storage.db.example.com".to_string()));
    let some = names(&plan("names none"));
    assert!(!some.iter().any(|n| n.contains(".mgmt.")), "{some:?}");
    assert!(some.contains(&"pg01.storage.db.example.com".to_string()));
    assert!(some.contains(&"pg01.db.example.com".to_string()));
    assert_eq!(names(&plan("names interface")), all);
}

/// Every physical port once: a member listed twice in one bond, a port that is also a bond
/// member, two bonds sharing a member (names compared without case, as switches do), one
/// error each.
#[test]
fn physical_ports_are_used_once() {
    for (ports, message) in [
        ("bond Port-Channel1 members Ethernet1, Ethernet1 vlan mgmt", "`Port-Channel1` lists port `Ethernet1` twice"),
        ("bond Port-Channel1 members Ethernet1, Ethernet2 vlan mgmt  access Ethernet2 vlan mgmt", "port `Ethernet2` is used twice on switch `s`"),
        ("access ethernet3 vlan mgmt  bond Port-Channel1 members Ethernet3, Ethernet4 vlan mgmt", "port `ethernet3` is used twice on switch `s`"),
        ("bond Port-Channel1 members Ethernet1, Ethernet2 vlan mgmt  bond Port-Channel2 members Ethernet2, Ethernet3 vlan mgmt", "port `Ethernet2` is used twice on switch `s`"),
    ] {
        let c = netc::check_text(
            "ports.netc",
            &format!("vlan 10 mgmt {{ subnet 10.10.0.0/24 }}\nswitch s eos {{ {ports} }}\n"),
        );
        let errors: Vec<String> = c.diags.iter().filter(|d| d.is_error()).map(|d| d.message.clone()).collect();
        assert_eq!(errors, [message], "{ports}");
    }
}

/// Every spelling of "everywhere" is over-broad (W082), not only `internet` and `any`.
#[test]
fn every_spelling_of_everywhere_is_overbroad() {
    let plan = "vlan 10 app { subnet 10.0.0.0/24 gateway .1 }\n\
        vlan 11 v6 { subnet 2001:db8:7::/64 gateway 2001:db8:7::1 }\n\
        router r { app dev r0  v6 dev r1 }\n\
        tier lb on app dev eth0 firewall nftables\n\
        tier six on v6 dev eth0 firewall nftables\n\
        host lb1 in lb { app 10.0.0.10 }\n\
        host s1 in six { v6 2001:db8:7::10 }\n\
        network all4 0.0.0.0/0\n\
        allow 0.0.0.0/0 -> lb : any\n\
        allow 0.0.0.0/1, 128.0.0.0/1 -> lb : any\n\
        allow all4 -> lb : any\n\
        allow ::/0 -> six : any\n\
        allow 192.0.2.0/24 -> lb : any\n";
    let c = netc::check_text("everywhere.netc", plan);
    let lines: Vec<usize> = c
        .diags
        .iter()
        .filter(|d| d.code == "W082")
        .map(|d| {
            c.plan
                .sources
                .location(d.primary.as_ref().unwrap().span)
                .line
        })
        .collect();
    assert_eq!(lines, vec![9, 10, 11, 12], "{:?}", c.diags);
}

/// Each mistake in a port spec or a comment says what is wrong and what to write instead.
#[test]
fn port_and_comment_mistakes_say_what_to_write() {
    let plan = "vlan 10 a { subnet 10.0.0.0/24 gateway .1 }\n\
        service a tcp/70000\n\
        service b tcp/9000-8000\n\
        service c TCP/8080\n\
        service d icmp/8\n\
        service e tcp/0\n\
        vlan 11 b { subnet 10.0.1.0/24 } // note\n";
    let c = netc::check_text("mistakes.netc", plan);
    let said: Vec<String> = c
        .diags
        .iter()
        .map(|d| format!("{} | {}", d.message, d.help.clone().unwrap_or_default()))
        .collect();
    for expected in [
        "70000 is not a port (ports are 1-65535)",
        "the range runs backwards | write `tcp/8000-9000`",
        "protocols are written in lower case | write `tcp/8080`",
        "ICMP has types, not ports",
        "port 0 is not a port a service listens on",
        "comments start with `#`",
    ] {
        assert!(
            said.iter().any(|s| s.contains(expected)),
            "{expected}: {said:#?}"
        );
    }
    assert_eq!(said.len(), 6, "one error per mistake: {said:#?}");
}

/// One mistake, one error: each of these edits of a clean plan gives exactly one error, of
/// the code the mistake is, with the help that says what to write (no E050 for the rules
/// naming a tier that lost its host's address, no E011 for the name a misspelled keyword
/// declared, no E031 for addresses of a subnet written with host bits).
#[test]
fn one_mistake_gives_one_error() {
    let base = "vlan 10 app { subnet 10.0.40.0/24 gateway .1  subnet 2001:db8:40::/64 }\n\
                tier apptier on app firewall nftables\n\
                host a1 in apptier { app 10.0.40.10  app 2001:db8:40::10 }\n\
                host a2 in apptier { app 10.0.40.11 }\n\
                service web tcp/80\n\
                allow apptier -> apptier : web\n\
                allow apptier -> a1 : tcp/22\n\
                allow a2 -> apptier : tcp/443\n";
    assert!(
        netc::check_text("base.netc", base)
            .diags
            .iter()
            .all(|d| !d.is_error()),
        "the base plan is clean"
    );
    let cases: &[(&str, &str, &str, Option<&str>)] = &[
        ("app 10.0.40.11", "app 10.0.41.11", "E031", None),
        ("app 10.0.40.10 ", "app 10.0.99.10 ", "E031", None),
        (
            "subnet 10.0.40.0/24",
            "subnet 10.0.40.5/24",
            "E013",
            Some("did you mean 10.0.40.0/24?"),
        ),
        (
            "tier apptier on",
            "teir apptier on",
            "E001",
            Some("did you mean `tier`?"),
        ),
        (
            "host a2 in apptier",
            "host a2 in aptier",
            "E011",
            Some("did you mean `apptier`?"),
        ),
        (
            "allow apptier -> apptier",
            "alow apptier -> apptier",
            "E001",
            Some("did you mean `allow`?"),
        ),
        (
            "service web tcp/80\n",
            "service web tcp/80\nvlan 11 app { subnet 10.0.50.0/24 }\n",
            "E010",
            None,
        ),
    ];
    for (from, to, code, help) in cases {
        assert!(base.contains(from), "{from}");
        let text = base.replacen(from, to, 1);
        let c = netc::check_text("mistake.netc", &text);
        let errors: Vec<_> = c.diags.iter().filter(|d| d.is_error()).collect();
        assert_eq!(
            errors.iter().map(|d| d.code).collect::<Vec<_>>(),
            [*code],
            "{to}: {:?}",
            errors.iter().map(|d| &d.message).collect::<Vec<_>>()
        );
        if let Some(h) = help {
            assert_eq!(errors[0].help.as_deref(), Some(*h), "{to}");
        }
    }
}

/// The lock-out check covers routers on the management VLAN (their input chain enforces the
/// plan): a deny of the management service to one is E090, naming the router.
#[test]
fn management_lockout_covers_routers() {
    let plan = "vlan 10 app { subnet 10.0.40.0/24 gateway .1 }\n\
                vlan 20 mgmt { subnet 10.0.99.0/24 gateway .1 }\n\
                router border { app dev r0  mgmt dev r1 }\n\
                tier admins on mgmt firewall nftables\n\
                host adm1 in admins { mgmt 10.0.99.10 }\n\
                service ssh tcp/22\n\
                management admins -> mgmt : ssh\n\
                allow admins -> mgmt : ssh\n";
    let clean = netc::check_text("ok.netc", plan);
    assert!(
        clean.diags.iter().all(|d| !d.is_error()),
        "{:?}",
        clean.diags
    );
    let c = netc::check_text("cut.netc", &format!("{plan}deny admins -> border : ssh\n"));
    let errors: Vec<_> = c.diags.iter().filter(|d| d.is_error()).collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].code, "E090");
    assert!(
        errors[0].message.contains("router `border` (10.0.99.1)"),
        "{}",
        errors[0].message
    );
}

/// VRRP ids are per address family (RFC 5798): an IPv4 and an IPv6 VIP of one VLAN may share
/// one (and the real keepalived accepts the file netc writes for it), two VIPs of one family
/// may not.
#[test]
fn vrrp_ids_are_unique_per_family() {
    let plan = "vlan 10 app { subnet 10.0.40.0/24 gateway .1  subnet 2001:db8:40::/64 gateway 2001:db8:40::1 }\n\
                tier web on app firewall nftables\n\
                host w1 in web { app 10.0.40.11  app 2001:db8:40::11 }\n\
                host w2 in web { app 10.0.40.12  app 2001:db8:40::12 }\n\
                vip v4 10.0.40.100 for w1, w2 vrid 53\n\
                vip v6 2001:db8:40::100 for w1, w2 vrid 53\n";
    let c = netc::check_text("vrrp.netc", plan);
    assert!(c.diags.iter().all(|d| d.code != "E041"), "{:?}", c.diags);
    if super::targets::have("keepalived") && super::targets::can_netns() {
        let files = super::targets::files_of(&c, &[netc::targets::TargetKind::Keepalived]);
        let dir = super::root().join(format!("target/it-vrrp-family-{}", std::process::id()));
        super::targets::write_tree(&dir, &files);
        let ns = format!("netc-vrrp-{}", std::process::id());
        let conf = dir.join("keepalived/w1/keepalived.conf");
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "ip netns add {ns} && ip -n {ns} link add eth0 type veth peer name eth0p && ip netns exec {ns} keepalived --config-test -f {}; rc=$?; ip netns del {ns}; exit $rc",
                conf.display()
            ))
            .output()
            .unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let c = netc::check_text(
        "vrrp2.netc",
        &format!("{plan}vip v6b 2001:db8:40::101 for w1, w2 vrid 53\n"),
    );
    let e: Vec<_> = c.diags.iter().filter(|d| d.code == "E041").collect();
    assert_eq!(e.len(), 1, "{:?}", c.diags);
    assert!(
        e[0].message.starts_with("IPv6 VIPs `v6` and `v6b`"),
        "{}",
        e[0].message
    );
}

/// Services made of services hold their parts' ports, to any depth; the parts count as used;
/// a cycle is one E014 at the name that closes it.
#[test]
fn services_of_services() {
    let plan = "vlan 10 app { subnet 10.0.40.0/24 gateway .1 }\n\
                tier web on app firewall nftables\n\
                tier cli on app firewall nftables\n\
                host w1 in web { app 10.0.40.11 }\n\
                host c1 in cli { app 10.0.40.12 }\n\
                service http tcp/80\n\
                service https tcp/443\n\
                service web-ports http, https, tcp/8080\n\
                service all-web web-ports, udp/443\n\
                allow cli -> web : all-web\n";
    let c = netc::check_text("svc.netc", plan);
    assert!(c.diags.is_empty(), "{:?}", c.diags);
    let info = c.info.as_ref().unwrap();
    let a = netc::query::ask(
        &c.plan,
        info,
        "c1",
        "w1",
        Some("tcp/80, tcp/443, tcp/8080, udp/443"),
    )
    .unwrap();
    assert_eq!(a.verdict, netc::query::Verdict::Yes);
    let a = netc::query::ask(&c.plan, info, "c1", "w1", Some("tcp/81")).unwrap();
    assert_eq!(a.verdict, netc::query::Verdict::No);
    let c = netc::check_text(
        "cycle.netc",
        &format!("{plan}service a b, tcp/1\nservice b a\n"),
    );
    let e: Vec<_> = c.diags.iter().filter(|d| d.is_error()).collect();
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].code, "E014");
    assert_eq!(e[0].message, "service `a` includes itself: a -> b -> a");
}
