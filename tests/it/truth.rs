//! One truth of access: the cases of "One truth of access" (VRFs, router addresses, replies,
//! IPv6 never holding IPv4, VRRP prefixes), each with the answer the issue gives, and the
//! compiled rulesets saying the same.

use super::targets::files_of;
use netc::query::{self, Verdict};
use netc::targets::TargetKind;

fn ask(c: &netc::Checked, q: &str) -> Result<Verdict, String> {
    let (s, d, svc) = query::parse_question(q).map_err(|e| e.0)?;
    query::ask(
        &c.plan,
        c.info.as_ref().expect("checks"),
        &s,
        &d,
        svc.as_deref(),
    )
    .map(|a| a.verdict)
    .map_err(|e| e.0)
}

fn plan(text: &str) -> netc::Checked {
    let c = netc::check_text("plan.netc", text);
    assert!(
        c.info.is_some(),
        "{}",
        netc::render::human(&c.diags, &c.plan.sources, false, 100)
    );
    c
}

const TWO_VRFS: &str = "
vlan 10 corp-lan vrf corp { subnet 10.0.0.0/24 gateway .1 }
vlan 20 ot-lan vrf ot { subnet 10.0.0.0/24 gateway .1 }
router corp-gw { corp-lan }
router ot-gw { ot-lan }
tier jump on corp-lan
tier devices on corp-lan firewall none
tier modality on ot-lan firewall none
tier pacs on ot-lan
host jump01 in jump { corp-lan 10.0.0.5 }
host dev01 in devices { corp-lan 10.0.0.10 }
host ct01 in modality { ot-lan 10.0.0.60 }
host pacs01 in pacs { ot-lan 10.0.0.20 }
allow modality -> pacs : tcp/104
allow jump -> pacs : tcp/22
";

#[test]
fn vrfs_keep_their_packets_apart() {
    let c = plan(TWO_VRFS);
    // The same gateway .1 in both VRFs is two addresses (no E033).
    assert!(c.diags.iter().all(|d| d.code != "E033"));
    // No router joins the VRFs: no path.
    assert_eq!(ask(&c, "can jump reach pacs on tcp/22"), Ok(Verdict::No));
    assert_eq!(
        ask(&c, "can modality reach pacs on tcp/104"),
        Ok(Verdict::Yes)
    );
    assert_eq!(
        ask(&c, "can devices reach pacs on tcp/104"),
        Ok(Verdict::No)
    );
    // An address of both VRFs must say which.
    let err = ask(&c, "can 10.0.0.10 reach pacs on tcp/104").unwrap_err();
    assert!(
        err.contains("corp:10.0.0.10") && err.contains("ot:10.0.0.10"),
        "{err}"
    );
    assert_eq!(
        ask(&c, "can ot:10.0.0.10 reach pacs on tcp/104"),
        Ok(Verdict::No)
    );
    assert_eq!(
        ask(&c, "can corp:10.0.0.10 reach pacs on tcp/104"),
        Ok(Verdict::No)
    );
    assert_eq!(
        ask(&c, "can ot:10.0.0.60 reach pacs on tcp/104"),
        Ok(Verdict::Yes)
    );
    // The rule from the other VRF is configured but unreachable: W084 names it.
    assert!(c.diags.iter().any(|d| d.code == "W084"), "{:?}", c.diags);
    // pacs01's and the routers' rulesets speak only of their own VRF: corp's jump host
    // (10.0.0.5) appears nowhere in the OT side's rulesets, and corp's router has no PACS rule.
    let files = files_of(&c, &[TargetKind::Nftables]);
    let text = |p: &str| {
        files
            .iter()
            .find(|f| f.path.to_string_lossy() == p)
            .map(|f| f.contents.clone())
            .unwrap_or_else(|| panic!("{p} generated"))
    };
    let pacs = text("nftables/hosts/pacs01.nft");
    assert!(pacs.contains("10.0.0.60 . tcp . 104"), "{pacs}");
    assert!(!pacs.contains("10.0.0.5 "), "{pacs}");
    let ot = text("nftables/routers/ot-gw.nft");
    assert!(
        ot.contains("10.0.0.20 : jump dst_")
            && ot.contains(" . tcp . 104 comment")
            && !ot.contains("tcp . 22"),
        "{ot}"
    );
    let corp = text("nftables/routers/corp-gw.nft");
    assert!(!corp.contains("10.0.0.20"), "{corp}");
}

#[test]
fn overlapping_vrfs_that_a_router_joins_are_refused() {
    let text = TWO_VRFS.replace(
        "router ot-gw { ot-lan }",
        "router ot-gw { ot-lan corp-lan }",
    );
    let c = netc::check_text("plan.netc", &text);
    let e030: Vec<_> = c.diags.iter().filter(|d| d.code == "E030").collect();
    assert_eq!(e030.len(), 1, "{:?}", c.diags);
    assert!(e030[0].help.as_deref().unwrap_or("").contains("ot-gw"));
    assert!(c.info.is_none());
}

#[test]
fn a_router_enforces_its_own_addresses() {
    let c = plan(
        "
vlan 10 mgmt { subnet 10.10.0.0/24 gateway .1 }
vlan 20 app { subnet 10.20.10.0/24 gateway .1 }
router core { mgmt app }
tier db on app
tier ops on mgmt
host pg01 in db { app 10.20.10.11 }
host ops01 in ops { mgmt 10.10.0.5 }
allow ops -> core : tcp/22
",
    );
    // core's input chain drops what the plan does not allow.
    assert_eq!(
        ask(&c, "can pg01 reach 10.20.10.1 on icmp"),
        Ok(Verdict::No)
    );
    assert_eq!(
        ask(&c, "can pg01 reach 10.10.0.1 on tcp/22"),
        Ok(Verdict::No)
    );
    assert_eq!(ask(&c, "can ops reach core on tcp/22"), Ok(Verdict::Yes));
    assert_eq!(
        ask(&c, "can ops01 reach 10.20.10.1 on tcp/22"),
        Ok(Verdict::Yes)
    );
}

#[test]
fn replies_must_come_back() {
    let text = "
vlan 20 app { subnet 10.20.1.0/24 gateway .1 }
vlan 99 dmz { subnet 203.0.113.0/24 gateway .1 }
router core { app }
router perimeter { dmz upstream }
tier lb on app, dmz firewall nftables
host lb01 in lb { app 10.20.1.11 dmz 203.0.113.11 }
vip lb-vip 203.0.113.100 for lb01
allow internet -> lb-vip, lb : tcp/443
";
    let c = plan(text);
    // The request passes perimeter and lb01's firewall, the reply leaves through the app VLAN.
    assert_eq!(
        ask(&c, "can internet reach lb-vip on tcp/443"),
        Ok(Verdict::No)
    );
    let w085: Vec<_> = c.diags.iter().filter(|d| d.code == "W085").collect();
    assert_eq!(w085.len(), 1, "{:?}", c.diags);
    assert!(
        w085[0].message.contains("default route"),
        "{}",
        w085[0].message
    );
    // The default route on the DMZ fixes it.
    let fixed = plan(&text.replace("tier lb on app, dmz", "tier lb on dmz, app"));
    assert_eq!(
        ask(&fixed, "can internet reach lb-vip on tcp/443"),
        Ok(Verdict::Yes)
    );
    assert!(
        fixed.diags.iter().all(|d| d.code != "W085"),
        "{:?}",
        fixed.diags
    );
}

#[test]
fn ipv6_rules_never_match_ipv4() {
    let c = plan(
        "
vlan 20 web { subnet 10.20.1.0/24 gateway .1 subnet 2001:db8:20::/64 gateway 2001:db8:20::1 }
router edge { web upstream }
tier www on web
host web01 in www { web 10.20.1.11 web 2001:db8:20::11 }
allow ::/0 -> www : tcp/22
",
    );
    assert_eq!(
        ask(&c, "can 198.51.100.7 reach web01 on tcp/22"),
        Ok(Verdict::No)
    );
    assert_eq!(
        ask(&c, "can 2001:db8::7 reach web01 on tcp/22"),
        Ok(Verdict::Yes)
    );
    let files = files_of(&c, TargetKind::all());
    for f in &files {
        let p = f.path.to_string_lossy();
        if p.contains("nftables") {
            // No IPv4 source is classified or matched at all: every IPv4 verdict map of
            // sources and every IPv4 set of sources is empty (the plan's only rule is from
            // IPv6 sources), while IPv6 ones are not.
            let (mut block, mut v6_elements) = (None, 0);
            for line in f.contents.lines().map(str::trim) {
                if line.starts_with("map src") || line.starts_with("set from_") {
                    block = Some(line.ends_with("_v4 {"));
                } else if line == "}" {
                    block = None;
                } else if line.ends_with(',') && !line.starts_with('#') {
                    match block {
                        Some(true) => panic!("{p}: an IPv4 source: {line}\n{}", f.contents),
                        Some(false) => v6_elements += 1,
                        None => {}
                    }
                }
            }
            assert!(v6_elements > 0, "{p}\n{}", f.contents);
        }
        if p.ends_with("user.rules") {
            assert!(!f.contents.contains("--dport 22 -s 0.0.0.0/0"), "{p}");
        }
    }
}

#[test]
fn firewalld_vrrp_rules_keep_the_peers_prefix() {
    let c = plan(
        "
vlan 21 app { subnet 10.20.10.0/24 gateway .1 }
tier kv on app firewall firewalld
host redis01 in kv { app 10.20.10.13 }
host redis02 in kv { app 10.20.10.14 }
host redis03 in kv { app 10.20.10.15 }
vip kv-vip 10.20.10.100 for redis01, redis02, redis03
",
    );
    let files = files_of(&c, &[TargetKind::Firewalld]);
    let zone = files
        .iter()
        .find(|f| f.path.to_string_lossy() == "firewalld/redis01/zones/netc.xml")
        .expect("zone");
    assert!(
        zone.contents.contains("address=\"10.20.10.14/31\""),
        "{}",
        zone.contents
    );
}

/// "Nothing escapes": names that differ only in punctuation get distinct ipsets; the plan's
/// own file name cannot leave firewalld's header comment or reach an nft variable.
#[test]
fn generated_names_and_headers_stay_what_they_are() {
    let text = "
vlan 21 app { subnet 10.20.10.0/24 gateway .1 }
router core { app upstream }
network pub-web 192.0.2.0/28
network pub_web 198.51.100.0/28
network everything 0.0.0.0/0
tier db on app firewall firewalld
host pg01 in db { app 10.20.10.11 }
allow pub-web -> db : tcp/22
allow pub_web, everything -> db : tcp/80 log
";
    let name = "x--><!DOCTYPE zone [<!ATTLIST source invert CDATA \"true\">]><!--$(id).netc";
    let c = netc::check_text(name, text);
    assert!(c.info.is_some());
    let files = files_of(&c, &[TargetKind::Firewalld, TargetKind::Nftables]);
    let ipsets: Vec<&str> = files
        .iter()
        .filter(|f| f.path.to_string_lossy().contains("/ipsets/"))
        .map(|f| f.contents.as_str())
        .collect();
    let with = |addr: &str| ipsets.iter().filter(|t| t.contains(addr)).count();
    // pub-web's sources may do more than the others (tcp/22): a class and an ipset of their
    // own; pub_web and the rest of everything are treated alike and share one.
    assert_eq!(with("192.0.2.0/28"), 1, "pub-web has an ipset of its own");
    assert_eq!(ipsets.len(), 2, "{ipsets:?}");
    // A class of the whole IPv4 space is written as two halves firewalld accepts.
    let all = netc::check_text(
        "all.netc",
        "vlan 21 app { subnet 10.20.10.0/24 gateway .1 }\nnetwork everything 0.0.0.0/0\ntier db on app firewall firewalld\nhost pg01 in db { app 10.20.10.11 }\nallow everything -> db : tcp/80\n",
    );
    let halves = files_of(&all, &[TargetKind::Firewalld]);
    assert!(
        halves
            .iter()
            .any(|f| f.path.to_string_lossy().contains("/ipsets/")
                && f.contents.contains("0.0.0.0/1")
                && f.contents.contains("128.0.0.0/1")
                && !f.contents.contains("0.0.0.0/0")),
        "0.0.0.0/0 as two halves firewalld accepts"
    );
    assert!(ipsets.iter().all(|t| !t.contains("0.0.0.0/0")));
    for f in &files {
        let p = f.path.to_string_lossy();
        if p.ends_with(".xml") {
            // Every comment ends where it should: no `--` inside one, and what is left once
            // the comments are cut out holds none of the plan's name.
            let mut rest = f.contents.as_str();
            let mut outside = String::new();
            while let Some(start) = rest.find("<!--") {
                outside.push_str(&rest[..start]);
                let body = &rest[start + 4..];
                let end = body
                    .find("-->")
                    .unwrap_or_else(|| panic!("{p}: open comment"));
                assert!(!body[..end].contains("--"), "{p}: {}", &body[..end]);
                rest = &body[end + 3..];
            }
            outside.push_str(rest);
            assert!(
                !outside.contains("<!DOCTYPE") && !outside.contains("<!ATTLIST"),
                "{p}"
            );
        }
        if p.ends_with(".nft") {
            for l in f.contents.lines().filter(|l| l.contains("log prefix")) {
                assert!(!l.contains('$'), "{p}: {l}");
            }
        }
    }
}
