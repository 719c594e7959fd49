//! Listings and diff cover the whole permitted space: on random plans (several VRFs, VLAN and
//! CIDR endpoints, overlapping networks, scattered multi-homed hosts, VIPs, denies), the rows
//! of the matrix, of who-can-reach and what-can-reach, and of diff add up to exactly the
//! packets the per-packet reference permits; and the cases of issue 12 by name.

use netc::query::diff::{diff, diff_exhaustive, human, Change};
use netc::query::matrix::{self, Cell};
use netc::reach;
use netc::space::{self, Key, Set};
use proptest::prelude::*;

/// A random plan of a shape the fixtures do not have.
pub fn plan_text(seed: &[u8], extra_flow: Option<usize>) -> String {
    let mut it = seed.iter().copied().cycle();
    let mut next = move || it.next().unwrap_or(0) as usize;
    let mode = next() % 3;
    let mut s = String::new();
    // mode 0: one VRF; 1: VRFs a and b with the same addresses; 2: VRFs a and b, distinct.
    for v in 0..4 {
        let (vrf, net) = match mode {
            0 => (String::new(), v),
            1 => (format!(" vrf {}", if v < 2 { "a" } else { "b" }), v % 2),
            _ => (format!(" vrf {}", if v < 2 { "a" } else { "b" }), v),
        };
        s.push_str(&format!(
            "vlan {} v{v}{vrf} {{ subnet 10.0.{net}.0/28 gateway .1 }}\n",
            10 + v
        ));
    }
    // Routers: one in each half; in mode 2 the second may join both VRFs.
    let up = if next() % 2 == 0 { " upstream" } else { "" };
    s.push_str(&format!("router r1 {{ v0 v1{up} }}\n"));
    if next() % 3 != 0 {
        let join = if mode == 2 && next() % 2 == 0 {
            " v1"
        } else {
            ""
        };
        s.push_str(&format!("router r2 {{ v2 v3{join} }}\n"));
    }
    let fw = ["nftables", "none", "ufw", "firewalld"];
    // Hosts scattered over the VLANs: each takes random free addresses.
    let mut used: Vec<Vec<usize>> = vec![vec![0, 1, 15]; 4];
    let mut take = |v: usize, r: usize| -> usize {
        let mut a = 2 + r % 12;
        while used[v].contains(&a) {
            a = 2 + (a - 1) % 13;
        }
        used[v].push(a);
        a
    };
    let net_of = |v: usize| if mode == 1 { v % 2 } else { v };
    let mut hosts_on_v0 = Vec::new();
    for t in 0..3 {
        let home = next() % 4;
        let second = (home + 1 + next() % 3) % 4;
        // Routes (the kernel's choice of interface and source address) and `serve` VLANs.
        let route = match next() % 5 {
            0 => format!("route default via v{second}"),
            1 => format!("route 10.0.{}.8/29 via v{second}", net_of((home + 2) % 4)),
            2 => format!("route 192.0.2.0/30 via v{second}"),
            _ => String::new(),
        };
        let serve = if next() % 4 == 0 {
            format!("serve v{second}")
        } else {
            String::new()
        };
        s.push_str(&format!(
            "tier t{t} on v{home}, v{second} firewall {} {route} {serve}\n",
            fw[next() % 4]
        ));
        for h in 0..1 + next() % 2 {
            let a = take(home, next());
            let mut ifaces = format!("v{home} 10.0.{}.{a}", net_of(home));
            if next() % 2 == 0 {
                let b = take(second, next());
                ifaces.push_str(&format!(" v{second} 10.0.{}.{b}", net_of(second)));
            }
            if home == 0 {
                hosts_on_v0.push(format!("h{t}{h}"));
            }
            s.push_str(&format!("host h{t}{h} in t{t} {{ {ifaces} }}\n"));
        }
    }
    if hosts_on_v0.len() >= 2 && next() % 2 == 0 {
        let a = take(0, next());
        s.push_str(&format!(
            "vip vv 10.0.0.{a} for {}, {} check tcp/80\n",
            hosts_on_v0[0], hosts_on_v0[1]
        ));
    }
    s.push_str(
        "network ext 192.0.2.0/30\nnetwork wide 192.0.2.0/29\nnetwork inside 10.0.1.0/29\nservice web tcp/80-81\n",
    );
    let ends = [
        "t0",
        "t1",
        "t2",
        "ext",
        "wide",
        "inside",
        "internet",
        "10.0.1.0/29",
        "v2",
        "v0",
        "h00",
        "t1@v1",
        "h00@v0",
    ];
    let svcs = ["web", "tcp/81", "udp/53", "icmp", "any", "tcp/80-90"];
    let flow = |s: &mut String, next: &mut dyn FnMut() -> usize| {
        let action = if next().is_multiple_of(5) {
            "deny"
        } else {
            "allow"
        };
        s.push_str(&format!(
            "{action} {} -> {} : {}\n",
            ends[next() % ends.len()],
            ends[next() % ends.len()],
            svcs[next() % svcs.len()]
        ));
    };
    for _ in 0..2 + next() % 5 {
        flow(&mut s, &mut next);
    }
    if let Some(x) = extra_flow {
        let mut k = x;
        let mut pick = move || {
            k = k.wrapping_mul(7).wrapping_add(3);
            k
        };
        flow(&mut s, &mut pick);
    }
    s
}

/// Packets to try: every address of every subnet of the plan in its domain, and outside ones.
fn points(plan: &netc::ir::Plan) -> Vec<Key> {
    let mut out = Vec::new();
    for (s, sub) in plan.subnets.iter().enumerate() {
        let set = plan.subnet_set(s);
        let first = set.first().unwrap();
        let n = if sub.net.addr().is_ipv4() { 16 } else { 4 };
        for i in 0..n {
            out.push(Key::new(first.hi, first.lo + i));
        }
    }
    for a in ["192.0.2.1", "192.0.2.6", "198.51.100.7"] {
        out.push(space::key(0, a.parse().unwrap()));
    }
    out.sort();
    out.dedup();
    out
}

fn services() -> Vec<Key> {
    use netc::ir::Proto;
    [
        (Proto::Tcp, Some((80, 80))),
        (Proto::Tcp, Some((81, 81))),
        (Proto::Tcp, Some((85, 85))),
        (Proto::Udp, Some((53, 53))),
        (Proto::Icmp, None),
    ]
    .iter()
    .map(|&(p, ports)| space::service_set(p, ports).first().unwrap())
    .collect()
}

/// The same host on both ends: not network access, and in no listing.
fn same_host(plan: &netc::ir::Plan, a: Key, b: Key) -> bool {
    (0..plan.hosts.len()).any(|h| {
        let set = plan.host_set(h);
        set.contains(a) && set.contains(b)
    })
}

fn covered(cells: &[Cell], s: Key, d: Key, v: Key) -> bool {
    cells
        .iter()
        .flat_map(|c| &c.permitted)
        .any(|(b, _)| b.contains(s, d, v))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, .. ProptestConfig::default() })]

    #[test]
    fn listings_add_up_to_the_permitted_space(seed in proptest::collection::vec(any::<u8>(), 8..48)) {
        let text = plan_text(&seed, None);
        let c = netc::check_text("random.netc", &text);
        prop_assume!(c.info.is_some());
        let (plan, info) = (&c.plan, c.info.as_ref().unwrap());
        let regions = matrix::regions(plan);
        // The regions are a partition of everything a packet can be.
        let mut all = Set::empty();
        for r in &regions {
            prop_assert!(!all.intersects(&r.set), "regions overlap at {}", r.name);
            all = all.union(&r.set);
        }
        prop_assert_eq!(&all, &plan.internal_set().union(&plan.internet_set()));
        let cells = matrix::matrix(plan, info).unwrap();
        let region = |name: &str| regions.iter().find(|r| r.name == name).map(|r| r.set.clone()).unwrap();
        for cell in &cells {
            let (rs, rd) = (region(&cell.src), region(&cell.dst));
            for (b, _) in &cell.permitted {
                prop_assert!(b.src.is_subset(&rs) && b.dst.is_subset(&rd), "{} -> {} holds packets of other rows", cell.src, cell.dst);
            }
        }
        // A fixed endpoint for who-can-reach and what-can-reach.
        let fixed = ["t0", "t1", "v2", "inside", "10.0.1.0/29", "internet"][seed[0] as usize % 6];
        let target = netc::query::resolve_target(plan, info, fixed);
        let (who, what, fixed_set) = match &target {
            Ok(t) => (
                matrix::who_can_reach(plan, info, &t.target, &t.text, &space::all_services()),
                matrix::what_can_reach(plan, info, &t.target, &t.text, &space::all_services()),
                plan.endpoint_set(&t.target),
            ),
            Err(_) => (Vec::new(), Vec::new(), Set::empty()),
        };
        let fixed_units = |dst: bool| -> Set {
            match &target {
                Ok(t) => {
                    let units = if dst { reach::dst_units(plan, &t.target, &t.text) } else { reach::src_units(plan, &t.target, &t.text) };
                    units.iter().fold(Set::empty(), |acc, u| acc.union(&u.addrs))
                }
                Err(_) => Set::empty(),
            }
        };
        let (as_dst, as_src) = (fixed_units(true), fixed_units(false));
        prop_assert!(as_dst.is_subset(&fixed_set.union(&plan.universe())));
        let pts = points(plan);
        let svcs = services();
        for &s in &pts {
            for &d in &pts {
                if s == d || same_host(plan, s, d) {
                    continue;
                }
                for &v in &svcs {
                    let truth = reach::packet_permitted(plan, &info.policy, &info.topology, s, d, v);
                    let m = covered(&cells, s, d, v);
                    prop_assert_eq!(m, truth, "matrix, plan:\n{}\npacket {:?} -> {:?} {}", text, s, d, space::service_text(&Set::point(v)));
                    if as_dst.contains(d) {
                        prop_assert_eq!(covered(&who, s, d, v), truth, "who-can-reach {}, plan:\n{}\npacket {:?} -> {:?} {}", fixed, text, s, d, space::service_text(&Set::point(v)));
                    }
                    if as_src.contains(s) {
                        prop_assert_eq!(covered(&what, s, d, v), truth, "what-can-reach {}, plan:\n{}\npacket {:?} -> {:?} {}", fixed, text, s, d, space::service_text(&Set::point(v)));
                    }
                }
            }
        }
    }

    #[test]
    fn diff_is_exactly_the_packets_that_changed(seed in proptest::collection::vec(any::<u8>(), 8..48), extra in any::<usize>(), other in proptest::collection::vec(any::<u8>(), 8..48)) {
        // B is A plus one flow, or another random plan of the same size.
        let a_text = plan_text(&seed, None);
        let b_text = if extra % 3 == 0 { plan_text(&other, None) } else { plan_text(&seed, Some(extra)) };
        let (a, b) = (netc::check_text("a.netc", &a_text), netc::check_text("b.netc", &b_text));
        prop_assume!(a.info.is_some() && b.info.is_some());
        // Same VRF layout: keys of the two plans compare directly.
        prop_assume!(a.plan.domains.vrfs == b.plan.domains.vrfs);
        let (ia, ib) = (a.info.as_ref().unwrap(), b.info.as_ref().unwrap());
        let fast = diff(&a.plan, ia, &b.plan, ib);
        let slow = diff_exhaustive(&a.plan, ia, &b.plan, ib);
        prop_assert_eq!(human(&fast), human(&slow));
        let same = diff(&a.plan, ia, &a.plan, ia);
        prop_assert!(same.opened.is_empty() && same.closed.is_empty(), "{}", human(&same));
        let mut pts = points(&a.plan);
        pts.extend(points(&b.plan));
        pts.sort();
        pts.dedup();
        let opened: Vec<&Change> = fast.opened.iter().filter(|c| !c.configured_only).collect();
        let closed: Vec<&Change> = fast.closed.iter().filter(|c| !c.configured_only).collect();
        let (ra, rb) = (matrix::regions(&a.plan), matrix::regions(&b.plan));
        let in_rows = |rows: &[&Change], s: Key, d: Key, v: Key| {
            rows.iter().flat_map(|c| &c.pieces).any(|p| p.contains(s, d, v))
        };
        for &s in &pts {
            for &d in &pts {
                if s == d || same_host(&a.plan, s, d) || same_host(&b.plan, s, d) {
                    continue;
                }
                for &v in &services() {
                    let pa = reach::packet_permitted(&a.plan, &ia.policy, &ia.topology, s, d, v);
                    let pb = reach::packet_permitted(&b.plan, &ib.policy, &ib.topology, s, d, v);
                    let packet = format!("{:?} -> {:?} {}", s, d, space::service_text(&Set::point(v)));
                    prop_assert_eq!(in_rows(&opened, s, d, v), pb && !pa, "opened {}:\nA:\n{}\nB:\n{}\n{}", packet, a_text, b_text, human(&fast));
                    prop_assert_eq!(in_rows(&closed, s, d, v), pa && !pb, "closed {}:\nA:\n{}\nB:\n{}\n{}", packet, a_text, b_text, human(&fast));
                }
            }
        }
        // Each row lies in the regions that label it.
        let region = |rs: &[matrix::Region], n: &str| rs.iter().find(|r| r.name == n).map(|r| r.set.clone()).unwrap();
        for (rows, rs) in [(&opened, &rb), (&closed, &ra)] {
            for c in rows.iter() {
                for p in &c.pieces {
                    prop_assert!(p.src.is_subset(&region(rs, &c.src)) && p.dst.is_subset(&region(rs, &c.dst)));
                }
            }
        }
        // And no row without a changed packet: a packet of each row (between two machines)
        // is one.
        for (rows, opened_rows) in [(&opened, true), (&closed, false)] {
            for c in rows.iter() {
                let candidates = c.pieces.iter().flat_map(|p| {
                    let firsts = |set: &Set| -> Vec<Key> {
                        set.ranges().iter().flat_map(|&(lo, hi)| (0..4u128).map(move |i| Key::new(lo.hi, lo.lo + i)).filter(move |k| *k <= hi)).take(8).collect()
                    };
                    let (ss, ds, v) = (firsts(&p.src), firsts(&p.dst), p.svc.first().unwrap());
                    ss.into_iter().flat_map(move |s| ds.clone().into_iter().map(move |d| (s, d, v)))
                });
                let real = candidates
                    .filter(|&(s, d, _)| s != d && !same_host(&a.plan, s, d) && !same_host(&b.plan, s, d))
                    .take(1)
                    .collect::<Vec<_>>();
                if let Some(&(s, d, v)) = real.first() {
                    let pa = reach::packet_permitted(&a.plan, &ia.policy, &ia.topology, s, d, v);
                    let pb = reach::packet_permitted(&b.plan, &ib.policy, &ib.topology, s, d, v);
                    prop_assert!(if opened_rows { pb && !pa } else { pa && !pb }, "packet {:?} {:?} {} of {} -> {} is no change:\nA:\n{}\nB:\n{}", s, d, space::service_text(&Set::point(v)), c.src, c.dst, a_text, b_text);
                }
            }
        }
    }
}

use super::run_netc as netc;

fn append(dir: &std::path::Path, file: &str, text: &str) {
    let path = dir.join(file);
    let mut old = std::fs::read_to_string(&path).unwrap();
    old.push_str(text);
    std::fs::write(path, old).unwrap();
}

const STAFF: &str = "vlan 10 staff { subnet 192.168.10.0/24 gateway .1 }
vlan 20 servers { subnet 10.0.20.0/24 gateway .1 }
router core { staff servers }
tier fileserver on servers firewall ufw
host nas01 in fileserver { servers 10.0.20.10 }
service smb tcp/445
";

#[test]
fn a_vlan_as_source_is_in_every_listing_and_in_the_gate() {
    let old = super::plan_dir("listing-staff-old", STAFF);
    let new = super::plan_dir(
        "listing-staff-new",
        &format!("{STAFF}allow staff -> fileserver : smb\n"),
    );
    let new_s = super::rel(&new);
    let (code, out, err) = netc(&["who-can-reach", &new_s, "nas01"]);
    assert_eq!(code, 0, "{err}");
    // The VLAN's gateway is the router's (a region of its own): the rest of the VLAN is named.
    assert!(
        out.contains("rest of VLAN staff -> nas01    tcp/445\n"),
        "{out}"
    );
    assert!(out.contains("core -> nas01"), "{out}");
    let (_, out, _) = netc(&["what-can-reach", &new_s, "--from", "192.168.10.77"]);
    assert!(
        out.contains("192.168.10.77 -> fileserver          tcp/445\n"),
        "{out}"
    );
    let (_, out, _) = netc(&["matrix", &new_s]);
    assert!(out.contains("rest of VLAN staff -> fileserver  "), "{out}");
    let (code, out, _) = netc(&["diff", &super::rel(&old), &new_s, "--fail-on-new-access"]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(
        out.lines()
            .filter(|l| l.starts_with('+'))
            .collect::<Vec<_>>(),
        [
            "+ core -> fileserver: tcp/445",
            "+ rest of VLAN staff -> fileserver: tcp/445"
        ],
        "{out}"
    );
    // A VLAN nothing covers is named whole.
    let bare = super::plan_dir(
        "listing-staff-bare",
        &format!(
            "{}allow staff -> fileserver : smb\n",
            STAFF.replace("router core { staff servers }\n", "")
        ),
    );
    let (_, out, _) = netc(&["matrix", &super::rel(&bare)]);
    assert!(out.contains("VLAN staff -> VLAN staff"), "{out}");
}

#[test]
fn the_rest_of_a_vlan_is_named() {
    let dir = super::datalyptica_copy("listing-rest-of-vlan");
    append(
        &dir,
        "flows.netc",
        "allow app-processing -> catalog : tcp/7777\n",
    );
    let d = super::rel(&dir);
    let (code, out, err) = netc(&["who-can-reach", &d, "pg01", "--on", "tcp/7777"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("processing -> pg01"), "{out}");
    assert!(
        out.contains("rest of VLAN app-processing -> pg01  tcp/7777"),
        "{out}"
    );
    let (code, out, _) = netc(&["query", &d, "can 10.20.30.200 reach pg01 on tcp/7777"]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn configured_access_without_a_path_fails_the_gate() {
    let dir = super::datalyptica_copy("listing-configured");
    append(&dir, "flows.netc", "allow admins -> catalog : postgres\n");
    let d = super::rel(&dir);
    let (code, out, _) = netc(&["diff", "fixtures/datalyptica", &d, "--fail-on-new-access"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("+ admins -> catalog: tcp/5432  (configured only"),
        "{out}"
    );
    assert!(out.contains("allowed by"), "{out}");
    let (code, out, _) = netc(&[
        "diff",
        "fixtures/datalyptica",
        &d,
        "--fail-on-new-access",
        "--reachable-only",
    ]);
    assert_eq!(code, 0, "nothing new is reachable: {out}");
    // The matrix says so too.
    let (_, out, _) = netc(&["matrix", &d]);
    assert!(
        out.lines().any(|l| l.starts_with("admins -> catalog")
            && l.contains("(configured, not reachable: tcp/5432)")),
        "{out}"
    );
}

#[test]
fn a_new_name_over_the_same_addresses_is_no_change() {
    let dir = super::datalyptica_copy("listing-relabel");
    append(&dir, "network.netc", "network partner 192.0.2.0/24\n");
    let (code, out, err) = netc(&[
        "diff",
        "fixtures/datalyptica",
        &super::rel(&dir),
        "--fail-on-new-access",
    ]);
    assert_eq!((code, out.as_str()), (0, "no change in access\n"), "{err}");
}
