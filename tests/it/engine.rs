//! The header-space engine against a brute-force, packet-by-packet evaluator, on random plans.

use netc::reach::{self, Unit};
use netc::space::{self, Set};
use proptest::prelude::*;

/// A small random plan: 3 VLANs, 2-3 multi-homed tiers (with routes, `serve` VLANs and VLANs
/// that carry only some services), one router with or without upstream (and translations
/// there: source NAT, port forwards, static NAT), tiers that filter egress, dual-stack VLANs, random flows to
/// tiers, hosts, tiers and hosts on one VLAN (`t0@v1`), networks, VLANs and addresses.
fn plan_text(seed: &[u8]) -> String {
    let mut it = seed.iter().copied().cycle();
    let mut next = move || it.next().unwrap_or(0) as usize;
    let mut s = String::new();
    // Half of the VLANs are dual-stack (their hosts get an IPv6 address too).
    let mut v6 = [false; 3];
    for (v, dual) in v6.iter_mut().enumerate() {
        let carries = if next() % 4 == 0 {
            "carries tcp/81, icmp"
        } else {
            ""
        };
        *dual = next() % 2 == 0;
        let six = if *dual {
            format!(" subnet 2001:db8:{v}::/64 gateway 2001:db8:{v}::1")
        } else {
            String::new()
        };
        s.push_str(&format!(
            "vlan {} v{v} {carries} {{ subnet 10.0.{v}.0/28 gateway .1{six} }}\n",
            10 + v
        ));
    }
    let routed: Vec<usize> = (0..3).filter(|_| next() % 3 != 0).collect();
    if !routed.is_empty() {
        let ifaces: Vec<String> = routed.iter().map(|v| format!("v{v}")).collect();
        // Upstream, with translations half of the time: a source translation of a tier or a
        // VLAN, a port forward that moves the port, a static translation.
        let upstream = match next() % 4 {
            0 => String::new(),
            1 => "upstream".to_string(),
            _ => {
                let mut u = "upstream address 198.51.100.2/29".to_string();
                let nats = [
                    "nat source t{a} masquerade",
                    "nat source v{b} to 198.51.100.5",
                    "nat forward 198.51.100.3 tcp/80 to h{a}0@v{a} port 81",
                    "nat forward 198.51.100.3 udp/53 to h{b}0@v{b}",
                    "nat static 198.51.100.4 to h{b}0@v{b}",
                ];
                for n in nats {
                    if next() % 2 == 0 {
                        u.push_str(&format!(
                            "\n  {}",
                            n.replace("{a}", &(next() % 3).to_string())
                                .replace("{b}", &(next() % 3).to_string())
                        ));
                    }
                }
                u
            }
        };
        s.push_str(&format!(
            "router r {{ {}\n  {upstream}\n}}\n",
            ifaces.join(" ")
        ));
    }
    let fw = ["nftables", "none", "ufw"];
    // Routes: more and less specific than a subnet, to the outside, and the default.
    let routes = [
        "",
        "route 10.0.0.0/16 via v{o}",
        "route 10.0.{n}.8/29 via v{o}",
        "route default via v{o}",
        "route 192.0.2.0/30 via v{o}",
        "route 10.0.{n}.0/28 via v{o}",
    ];
    for t in 0..3 {
        let other = (t + 1) % 3;
        let route = routes[next() % routes.len()]
            .replace("{o}", &other.to_string())
            .replace("{n}", &((t + 2) % 3).to_string());
        let serve = match next() % 4 {
            0 => format!("serve v{t}"),
            1 => format!("serve v{other}"),
            _ => String::new(),
        };
        let firewall = fw[next() % 3];
        // A tier with a firewall of netc's may filter egress (ufw's own ICMPv6 aside).
        let egress = if firewall != "none" && next() % 2 == 0 {
            "egress filtered"
        } else {
            ""
        };
        s.push_str(&format!(
            "tier t{t} on v{t}, v{other} firewall {firewall} {route} {serve} {egress}\n"
        ));
        for h in 0..1 + next() % 2 {
            let six = if v6[t % 3] {
                format!(" v{t} 2001:db8:{t}::{}", 2 + h)
            } else {
                String::new()
            };
            s.push_str(&format!(
                "host h{t}{h} in t{t} {{ v{t} 10.0.{t}.{} v{} 10.0.{}.{}{six} }}\n",
                2 + h,
                (t + 1) % 3,
                (t + 1) % 3,
                8 + t * 2 + h
            ));
        }
    }
    s.push_str("network ext 192.0.2.0/30\nservice web tcp/80-81\n");
    let ends = [
        "t0",
        "t1",
        "t2",
        "ext",
        "internet",
        "10.0.1.0/29",
        "h00",
        "v2",
        "t1@v2",
        "h00@v1",
        "198.51.100.3",
    ];
    let svcs = ["web", "tcp/81", "udp/53", "icmp", "any", "tcp/80-90"];
    for _ in 0..2 + next() % 5 {
        let action = if next() % 4 == 0 { "deny" } else { "allow" };
        s.push_str(&format!(
            "{action} {} -> {} : {}\n",
            ends[next() % ends.len()],
            ends[next() % ends.len()],
            svcs[next() % svcs.len()]
        ));
    }
    s
}

/// The plan's rules, evaluated for one packet straight from the model: an endpoint matches
/// when its address set holds the address, a service when its protocol and port do.
fn rules_permit(plan: &netc::ir::Plan, s: space::Key, d: space::Key, v: space::Key) -> bool {
    use netc::ir::{Action, PortRange, Proto, ServiceRef};
    let (proto, port, _) = space::service_pieces(&Set::point(v))[0];
    let in_range = |r: &PortRange| {
        r.proto == proto && (proto == Proto::Icmp || (r.first..=r.last).contains(&port))
    };
    let matches = |f: &netc::ir::Flow| {
        f.sources
            .iter()
            .any(|e| plan.endpoint_set(&e.target).contains(s))
            && f.destinations
                .iter()
                .any(|e| plan.endpoint_set(&e.target).contains(d))
            && f.services.iter().any(|svc| match svc {
                ServiceRef::Any => true,
                ServiceRef::Ports { range } => in_range(range),
                ServiceRef::Named { service } => plan.services[*service].ports.iter().any(in_range),
            })
    };
    plan.flows
        .iter()
        .any(|f| f.action == Action::Allow && matches(f))
        && !plan
            .flows
            .iter()
            .any(|f| f.action == Action::Deny && matches(f))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    #[test]
    fn engine_agrees_with_brute_force(seed in proptest::collection::vec(any::<u8>(), 8..40)) {
        let text = plan_text(&seed);
        let c = netc::check_text("random.netc", &text);
        prop_assume!(c.info.is_some());
        let info = c.info.as_ref().unwrap();
        let plan = &c.plan;
        // Every address of the plan, gateways, a free address, and outside addresses.
        let mut points: Vec<space::Key> = (0..3).flat_map(|v| [1u128, 2, 3, 5, 8, 9, 10, 11, 12]
            .map(|h| space::key(0, format!("10.0.{v}.{h}").parse().unwrap()))).collect();
        // The router's upstream address, the public addresses it may translate, the internet.
        // IPv6: the gateways, the hosts' addresses, a free address, and one outside.
        points.extend((0..3).flat_map(|v| [1u16, 2, 3, 9]
            .map(|h| space::key(0, format!("2001:db8:{v}::{h:x}").parse().unwrap()))));
        points.push(space::key(0, "2001:db8:ff::1".parse().unwrap()));
        points.extend(["192.0.2.1", "198.51.100.7", "198.51.100.2", "198.51.100.3", "198.51.100.4", "198.51.100.5"].map(|a| space::key(0, a.parse().unwrap())));
        let services: Vec<space::Key> = [("tcp", 79u16), ("tcp", 80), ("tcp", 81), ("tcp", 90), ("udp", 53), ("udp", 54)]
            .iter().map(|(p, port)| space::service_set(if *p == "tcp" { netc::ir::Proto::Tcp } else { netc::ir::Proto::Udp }, Some((*port, *port))).first().unwrap())
            .chain(std::iter::once(space::service_set(netc::ir::Proto::Icmp, None).first().unwrap()))
            .collect();
        let all = space::all_services();
        for &s in &points {
            for &d in &points {
                if s == d {
                    continue;
                }
                let su = Unit { label: "s".into(), host: None, addrs: Set::point(s) };
                let du = Unit { label: "d".into(), host: None, addrs: Set::point(d) };
                // Empty: the source never sends to `d` from `s` (a host's kernel picks another
                // of its addresses).
                let outcome = reach::evaluate_pair(plan, &info.policy, &info.topology, &su, &du, &all);
                for &v in &services {
                    let engine = outcome.iter().any(|o| o.path.is_some() && o.permitted().any(|(b, _)| b.contains(s, d, v)));
                    let brute = reach::packet_permitted(plan, &info.policy, &info.topology, s, d, v);
                    prop_assert_eq!(engine, brute, "plan:\n{}\npacket {} -> {} {}", text, space::key_addr(s), space::key_addr(d), space::service_text(&Set::point(v)));
                    // The policy's box evaluation against its own per-packet definition.
                    let eval = info.policy.evaluate(&space::HBox { src: Set::point(s), dst: Set::point(d), svc: Set::point(v) });
                    prop_assert_eq!(!eval.permitted.is_empty(), info.policy.permits(s, d, v));
                    // And against the plan's rules read directly, sharing nothing with the
                    // policy (no atoms, no flow boxes): allowed when an allow matches and no
                    // deny does.
                    prop_assert_eq!(
                        info.policy.permits(s, d, v),
                        rules_permit(plan, s, d, v),
                        "plan:\n{}\npacket {} -> {} {}", text, space::key_addr(s), space::key_addr(d), space::service_text(&Set::point(v))
                    );
                }
            }
        }
    }

    #[test]
    fn parser_and_checker_never_panic(text in "[a-z0-9 ./:{}>,#\"\\n-]{0,200}") {
        let _ = netc::check_text("fuzz.netc", &text);
    }

}

/// The whole Datalyptica plan, its files in load order, as one text (names are declared in
/// any order, so one file means the same).
fn datalyptica_text() -> String {
    let dir = super::root().join("fixtures/datalyptica");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "netc"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_unmutated_whole_plan_is_valid() {
    // What the mutation test starts from reaches the policy, the queries and the targets.
    let c = netc::check_text("datalyptica.netc", &datalyptica_text());
    assert!(
        !c.has_errors(),
        "{:?}",
        c.diags.iter().filter(|d| d.is_error()).collect::<Vec<_>>()
    );
    assert!(c.plan.flows.len() > 20 && c.plan.hosts.len() > 60);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    /// A random edit anywhere in the whole Datalyptica plan never panics: not in the checks,
    /// the renderers, and, when the edit leaves a valid plan, not in a query or any target.
    #[test]
    fn mutated_plans_never_panic(pos in 0usize..40_000, len in 0usize..40, insert in "[ -~\n]{0,20}") {
        let mut bytes = datalyptica_text().into_bytes();
        let at = pos % bytes.len();
        let end = (at + len).min(bytes.len());
        bytes.splice(at..end, insert.bytes());
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let c = netc::check_text("mutated.netc", &text);
        let _ = netc::render::human(&c.diags, &c.plan.sources, false, 80);
        let _ = netc::render::json("p", &c.diags, &c.plan.sources);
        let _ = netc::render::sarif(&c.diags, &c.plan.sources);
        if let Some(info) = c.info.as_ref() {
            let _ = netc::query::ask(&c.plan, info, "internet", "lb", None);
            let _ = netc::query::matrix::matrix(&c.plan, info);
            let files = super::targets::files_of(&c, netc::targets::TargetKind::all());
            prop_assert!(!files.is_empty());
        }
    }
}
