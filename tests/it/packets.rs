//! Real packets: the three-tiers plan built as network namespaces (a router and one host per
//! tier, veth pairs), the generated rulesets loaded into them, listeners started, and every
//! tier pair probed on every service of the plan plus ports no rule names. Each probe's
//! outcome must equal netc's own answer. Needs root and iproute2, nftables, socat, ping.
//! Only addresses inside the namespaces this test creates are used; everything is removed
//! afterwards, also when the test fails.

use super::targets::{files_of, have, write_tree};
use super::*;
use netc::ir::FirewallKind;
use netc::reach::{self, Unit};
use netc::space::{self, Set};
use netc::targets::TargetKind;
use std::process::Command;

/// Namespaces of one test run; dropped = processes killed and namespaces deleted.
struct Lab {
    id: String,
    names: Vec<String>,
    veths: usize,
}

/// One lab at a time: probes are timed, and two labs would compete for the two cores.
static LABS: std::sync::Mutex<usize> = std::sync::Mutex::new(0);

impl Lab {
    fn new(n: usize) -> Lab {
        Lab {
            id: format!("{}{n}", std::process::id() % 10000),
            names: Vec::new(),
            veths: 0,
        }
    }

    /// A fresh name for a veth end in the root namespace (at most 15 bytes).
    fn veth(&mut self) -> String {
        self.veths += 1;
        format!("nv{}-{}", self.id, self.veths)
    }

    fn ns(&mut self, name: &str) -> String {
        let full = format!("netc{}-{name}", self.id);
        sh(&format!("ip netns add {full}"));
        sh(&format!("ip -n {full} link set lo up"));
        self.names.push(full.clone());
        full
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for ns in &self.names {
            let _ = Command::new("sh")
                .arg("-c")
                .arg(format!(
                    "ip netns pids {ns} | xargs -r kill -9; ip netns del {ns}"
                ))
                .status();
        }
    }
}

use super::daemons::sh;

fn can_run() -> bool {
    if !super::targets::can_netns() {
        return false;
    }
    ["ip", "nft", "socat", "ping", "timeout"]
        .iter()
        .all(|t| have(t))
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Probe {
    Tcp(u16),
    Udp(u16),
    Ping,
}

impl Probe {
    fn svc(self) -> space::Key {
        let (proto, port) = match self {
            Probe::Tcp(p) => (netc::ir::Proto::Tcp, Some((p, p))),
            Probe::Udp(p) => (netc::ir::Proto::Udp, Some((p, p))),
            Probe::Ping => (netc::ir::Proto::Icmp, None),
        };
        space::service_set(proto, port).first().unwrap()
    }

    fn command(self, ns: &str, dst: &str) -> String {
        // socat wants IPv6 addresses in brackets.
        let at = if dst.contains(':') {
            format!("[{dst}]")
        } else {
            dst.to_string()
        };
        match self {
            Probe::Tcp(p) => format!("ip netns exec {ns} timeout 2 socat -T1 - TCP:{at}:{p},connect-timeout=0.5 </dev/null"),
            Probe::Udp(p) => format!("echo probe | ip netns exec {ns} timeout 3 socat -t1.5 -T1.5 - UDP:{at}:{p}"),
            Probe::Ping => format!("ip netns exec {ns} ping -c1 -W0.7 -q {dst} >/dev/null && echo ok"),
        }
    }
}

/// Build the plan's network: one namespace per router and host, every VLAN a bridge in a
/// namespace of its own, a veth from each interface (a device: a dual-stack interface is one
/// device with an address of each family) to its VLAN's bridge. Hosts and routers load the
/// routes netc wrote for them (`routes/NAME.ip`; every other host runs its NetworkManager
/// dispatcher script, `routes/NAME.nm-dispatcher.sh`, for each of its interfaces instead).
fn build(
    lab: &mut Lab,
    plan: &netc::ir::Plan,
    routes: &std::path::Path,
    keep: &[bool],
) -> Vec<String> {
    let sw = lab.ns("sw");
    for (v, _) in plan.vlans.iter().enumerate() {
        sh(&format!(
            "ip -n {sw} link add br{v} type bridge && ip -n {sw} link set br{v} up"
        ));
    }
    // A veth from `dev` in `ns` to the bridge of `vlan`, once per (namespace, device).
    let mut made: Vec<(String, String)> = Vec::new();
    let mut plug_to = |lab: &mut Lab, ns: &str, dev: &str, bridge: &str| {
        if made.contains(&(ns.to_string(), dev.to_string())) {
            return;
        }
        made.push((ns.to_string(), dev.to_string()));
        let (a, b) = (lab.veth(), lab.veth());
        sh(&format!("ip link add {a} type veth peer name {b}"));
        sh(&format!("ip link set {a} netns {ns} name {dev}"));
        sh(&format!("ip link set {b} netns {sw}"));
        sh(&format!("ip -n {sw} link set {b} master {bridge} up"));
        sh(&format!("ip -n {ns} link set {dev} up"));
    };
    let mut plug = |lab: &mut Lab, ns: &str, dev: &str, vlan: usize| {
        plug_to(lab, ns, dev, &format!("br{vlan}"))
    };
    // No duplicate address detection: the addresses are usable at once.
    let add = |ns: &str, addr: std::net::IpAddr, len: u8, dev: &str| {
        let nodad = if addr.is_ipv6() { " nodad" } else { "" };
        sh(&format!(
            "ip -n {ns} addr add {addr}/{len} dev {dev}{nodad}"
        ));
    };
    let prefix = |vlan: usize, addr: std::net::IpAddr| {
        plan.vlans[vlan]
            .subnets
            .iter()
            .map(|&s| plan.subnets[s].net)
            .find(|n| n.contains(&addr))
            .map_or(32, |n| n.prefix_len())
    };
    for (r, router) in plan.routers.iter().enumerate() {
        let ns = lab.ns(&format!("r{r}"));
        sh(&format!(
            "ip netns exec {ns} sysctl -qw net.ipv4.ip_forward=1 net.ipv4.icmp_ratelimit=0 net.ipv6.conf.all.forwarding=1 net.ipv6.icmp.ratelimit=0"
        ));
        for i in &router.interfaces {
            plug(lab, &ns, &i.dev, i.vlan);
            add(&ns, i.addr, prefix(i.vlan, i.addr), &i.dev);
        }
    }
    // Routers in series: each loads the routes netc wrote for it, once every router's
    // interfaces are up.
    for (r, router) in plan.routers.iter().enumerate() {
        let file = routes.join(format!("{}.ip", router.name));
        if file.exists() {
            sh(&format!(
                "ip -n {} -batch {}",
                lab.names[1 + r],
                file.display()
            ));
        }
    }
    // The internet: one namespace on the upstream link of the first router that declares its
    // upstream addresses, holding an address there (the prefix's last but one), which is also
    // the internet server the hosts call (a server answers from the address it was called
    // at: a UDP reply from another address of its own would be dropped by the client).
    // The router holds its upstream addresses and every public address it translates, and
    // routes everything else to the internet.
    if let Some((r, router, net)) = plan.routers.iter().enumerate().find_map(|(r, x)| {
        x.upstream_addrs
            .iter()
            .find(|n| n.addr().is_ipv4())
            .map(|n| (r, x, *n))
    }) {
        let out = lab.ns("out");
        sh(&format!(
            "ip -n {sw} link add brup type bridge && ip -n {sw} link set brup up"
        ));
        let rns = lab.names[1 + r].clone();
        let dev = router.upstream.clone().unwrap();
        plug_to(lab, &rns, &dev, "brup");
        plug_to(lab, &out, "eth0", "brup");
        add(&rns, net.addr(), net.prefix_len(), &dev);
        let mut publics: Vec<std::net::IpAddr> =
            router.nats.iter().filter_map(|n| n.kind.public()).collect();
        publics.sort();
        publics.dedup();
        for public in publics {
            if public != net.addr() {
                add(&rns, public, 32, &dev);
            }
        }
        let far = outside_address(net);
        add(&out, far, net.prefix_len(), "eth0");
        // The provider routes the plan's public IPv4 subnets to the router.
        for subnet in &plan.subnets {
            let k = space::key(0, subnet.net.network());
            if subnet.net.addr().is_ipv4() && !netc::nat::is_private(k) {
                sh(&format!(
                    "ip -n {out} route add {} via {} dev eth0",
                    subnet.net.trunc(),
                    net.addr()
                ));
            }
        }
        sh(&format!(
            "ip -n {rns} route add default via {far} dev {dev}"
        ));
        // Every host may now be more than the first.
        let mut host_ns = Vec::new();
        for (h, host) in plan.hosts.iter().enumerate() {
            if !keep[h] {
                host_ns.push(String::new());
                continue;
            }
            host_ns.push(host_namespace(lab, plan, h, host, routes, &mut plug_to));
        }
        return host_ns;
    }
    let mut host_ns = Vec::new();
    for (h, host) in plan.hosts.iter().enumerate() {
        if !keep[h] {
            host_ns.push(String::new());
            continue;
        }
        host_ns.push(host_namespace(lab, plan, h, host, routes, &mut plug_to));
    }
    host_ns
}

/// The internet's address on an upstream link: the prefix's last address but one.
fn outside_address(net: ipnet::IpNet) -> std::net::IpAddr {
    match net.broadcast() {
        std::net::IpAddr::V4(b) => std::net::IpAddr::V4((u32::from(b) - 1).into()),
        std::net::IpAddr::V6(b) => std::net::IpAddr::V6((u128::from(b) - 1).into()),
    }
}

/// A host's namespace: its interfaces on their VLANs' bridges, and the routes netc wrote.
fn host_namespace(
    lab: &mut Lab,
    plan: &netc::ir::Plan,
    h: usize,
    host: &netc::ir::Host,
    routes: &std::path::Path,
    plug_to: &mut dyn FnMut(&mut Lab, &str, &str, &str),
) -> String {
    let ns = lab.ns(&format!("h{h}"));
    sh(&format!(
        "ip netns exec {ns} sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0"
    ));
    for iface in &host.interfaces {
        plug_to(lab, &ns, &iface.dev, &format!("br{}", iface.vlan));
        let nodad = if iface.addr.is_ipv6() { " nodad" } else { "" };
        sh(&format!(
            "ip -n {ns} addr add {}/{} dev {}{nodad}",
            iface.addr,
            plan.subnets[iface.subnet].net.prefix_len(),
            iface.dev
        ));
    }
    // Every other host loads its routes the way NetworkManager would, through the dispatcher
    // script run once per interface coming up; the rest through `ip -batch`: the packets
    // prove both forms.
    if h % 2 == 1 {
        let mut devs: Vec<&str> = host.interfaces.iter().map(|i| i.dev.as_str()).collect();
        devs.sort_unstable();
        devs.dedup();
        for dev in devs {
            sh(&format!(
                "ip netns exec {ns} sh {} {dev} up",
                routes
                    .join(format!("{}.nm-dispatcher.sh", host.name))
                    .display()
            ));
        }
    } else {
        sh(&format!(
            "ip -n {ns} -batch {}",
            routes.join(format!("{}.ip", host.name)).display()
        ));
    }
    ns
}

/// Listeners for every probe, on IPv4 and, when the host has IPv6, on IPv6 too. Returns how
/// many sockets that is.
fn listen(ns: &str, probes: &[Probe], v6: bool) -> usize {
    let mut count = 0;
    for p in probes {
        for family in if v6 { &["4", "6"][..] } else { &["4"][..] } {
            let only = if *family == "6" { ",ipv6only=1" } else { "" };
            let cmd = match p {
                Probe::Tcp(port) => {
                    format!("socat TCP{family}-LISTEN:{port},fork,reuseaddr{only} SYSTEM:'echo ok'")
                }
                Probe::Udp(port) => {
                    format!("socat UDP{family}-LISTEN:{port},fork,reuseaddr{only} SYSTEM:'echo ok'")
                }
                Probe::Ping => continue,
            };
            // The shell puts the listener in the background; Lab::drop kills it with the
            // namespace.
            sh(&format!("ip netns exec {ns} {cmd} >/dev/null 2>&1 &"));
            count += 1;
        }
    }
    count
}

/// Probe every (source host, destination host address, probe) and compare with netc.
fn probe_all(
    c: &netc::Checked,
    host_ns: &[String],
    probes: &[Probe],
    from: &[bool],
) -> Vec<String> {
    let plan = &c.plan;
    let info = c.info.as_ref().unwrap();
    let mut cases = Vec::new();
    for (s, _) in plan.hosts.iter().enumerate() {
        if host_ns[s].is_empty() || !from[s] {
            continue;
        }
        for (d, dst) in plan.hosts.iter().enumerate() {
            if s == d || host_ns[d].is_empty() {
                continue;
            }
            for iface in &dst.interfaces {
                // In another VRF a host may have the very address of the source (the lab's
                // namespaces would answer such a probe themselves): nothing to learn there.
                if plan.hosts[s]
                    .interfaces
                    .iter()
                    .any(|i| i.addr == iface.addr)
                {
                    continue;
                }
                for &p in probes {
                    let k = plan.iface_key(iface);
                    // The address the kernel sends from.
                    let Some(from) = reach::source_address(plan, s, k) else {
                        continue;
                    };
                    let su = Unit {
                        label: String::new(),
                        host: Some(s),
                        addrs: Set::point(from),
                    };
                    let du = Unit {
                        label: String::new(),
                        host: Some(d),
                        addrs: Set::point(k),
                    };
                    let o = reach::evaluate_pair(
                        plan,
                        &info.policy,
                        &info.topology,
                        &su,
                        &du,
                        &Set::point(p.svc()),
                    );
                    let expected = o
                        .iter()
                        .any(|o| o.path.is_some() && o.permitted().next().is_some());
                    let addr = iface.addr.to_string();
                    let label =
                        format!("{} -> {} ({addr})", plan.hosts[s].name, plan.hosts[d].name);
                    cases.push((host_ns[s].clone(), addr, label, p, expected));
                }
            }
        }
    }
    let results = run_probes(&cases);
    assert!(results.len() >= 3 * 2 * probes.len());
    // Over IPv6 too, when the plan has it: some probes must be expected to pass (and do,
    // unless they are reported below), so that the family is really exercised.
    let v6 = cases.iter().filter(|c| c.1.contains(':')).count();
    let v6_yes = cases.iter().filter(|c| c.1.contains(':') && c.4).count();
    let has_v6 = plan
        .hosts
        .iter()
        .any(|h| h.interfaces.iter().any(|i| i.addr.is_ipv6()));
    assert!(
        !has_v6 || (v6 > 0 && v6_yes > 0),
        "{v6} IPv6 probes, {v6_yes} expected to pass"
    );
    eprintln!(
        "{} probes, {v6} over IPv6 ({v6_yes} expected to pass)",
        cases.len()
    );
    results
        .into_iter()
        .filter(|(ok, _)| !ok)
        .map(|(_, m)| m)
        .collect()
}

/// A probe: from a namespace to an address, what it is, and whether netc says it passes.
type Case = (String, String, String, Probe, bool);

/// Run probes in parallel (a dropped probe costs its timeout): whether each agrees with netc,
/// and what it is. An expected connection that fails is asked again before it counts: UDP has
/// no handshake (one lost datagram or reply is not a verdict), and a loaded machine can miss a
/// probe's short timeout; a drop that should not happen fails every time, and an "ok" cannot
/// be spurious.
fn run_probes(cases: &[Case]) -> Vec<(bool, String)> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = cases
            .chunks(cases.len().div_ceil(16).max(1))
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|(ns, addr, label, p, expected)| {
                            let run = || {
                                let out = Command::new("sh")
                                    .arg("-c")
                                    .arg(p.command(ns, addr))
                                    .output()
                                    .unwrap();
                                String::from_utf8_lossy(&out.stdout).contains("ok")
                            };
                            let mut got = run();
                            for _ in 0..3 {
                                if got || !*expected {
                                    break;
                                }
                                std::thread::sleep(std::time::Duration::from_millis(300));
                                got = run();
                                eprintln!("retried {label} {p:?}: {got}");
                            }
                            (
                                got == *expected,
                                format!("{label} {p:?}: netc says {expected}, packets say {got}"),
                            )
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    })
}

/// Probes across the border: from the internet's namespace to every public address a router
/// translates and to every IPv4 host address, and from every host to the internet (the
/// internet namespace's address),
/// each compared with netc's answer for that packet.
fn probe_border(c: &netc::Checked, out: &str, host_ns: &[String], probes: &[Probe]) -> Vec<String> {
    let plan = &c.plan;
    let info = c.info.as_ref().unwrap();
    let net = plan
        .routers
        .iter()
        .find_map(|r| {
            r.upstream_addrs
                .iter()
                .find(|n| n.addr().is_ipv4())
                .copied()
        })
        .unwrap();
    let far = space::key(0, outside_address(net));
    let internet = far;
    let unit = |host: Option<usize>, k: space::Key| Unit {
        label: String::new(),
        host,
        addrs: Set::point(k),
    };
    let netc_says = |su: &Unit, du: &Unit, p: Probe| {
        reach::evaluate_pair(
            plan,
            &info.policy,
            &info.topology,
            su,
            du,
            &Set::point(p.svc()),
        )
        .iter()
        .any(|o| o.path.is_some() && o.permitted().next().is_some())
    };
    let mut cases: Vec<Case> = Vec::new();
    let mut targets: Vec<(space::Key, String)> = plan
        .routers
        .iter()
        .flat_map(|r| &r.nats)
        .filter_map(|n| n.kind.public())
        .map(|a| (space::key(0, a), format!("public {a}")))
        .collect();
    for (h, host) in plan.hosts.iter().enumerate() {
        if host_ns[h].is_empty() {
            continue;
        }
        for i in host.interfaces.iter().filter(|i| i.addr.is_ipv4()) {
            targets.push((plan.iface_key(i), format!("{} {}", host.name, i.addr)));
        }
    }
    targets.sort();
    targets.dedup();
    let mut yes = 0;
    for (k, what) in &targets {
        for &p in probes {
            let e = netc_says(&unit(None, far), &unit(None, *k), p);
            yes += usize::from(e);
            cases.push((
                out.to_string(),
                space::key_addr(*k).to_string(),
                format!("internet -> {what}"),
                p,
                e,
            ));
        }
    }
    for (h, host) in plan.hosts.iter().enumerate() {
        if host_ns[h].is_empty() {
            continue;
        }
        // The internet, and the public addresses (hairpin).
        let publics = targets.iter().filter(|(_, w)| w.starts_with("public"));
        for (k, what) in std::iter::once((internet, "internet".to_string())).chain(publics.cloned())
        {
            let Some(from) = reach::source_address(plan, h, k) else {
                continue;
            };
            for &p in probes {
                let e = netc_says(&unit(Some(h), from), &unit(None, k), p);
                yes += usize::from(e);
                cases.push((
                    host_ns[h].clone(),
                    space::key_addr(k).to_string(),
                    format!("{} -> {what}", host.name),
                    p,
                    e,
                ));
            }
        }
    }
    assert!(yes > 0, "no probe across the border is expected to pass");
    let results = run_probes(&cases);
    eprintln!(
        "{} probes across the border, {yes} expected to pass",
        results.len()
    );
    results
        .into_iter()
        .filter(|(ok, _)| !ok)
        .map(|(_, m)| m)
        .collect()
}

/// The services of the plan plus ports no rule names.
fn probes_for(plan: &netc::ir::Plan) -> Vec<Probe> {
    let mut out = vec![
        Probe::Ping,
        Probe::Tcp(9999),
        Probe::Udp(5353),
        Probe::Tcp(22),
    ];
    for s in &plan.services {
        for p in &s.ports {
            let probe = match p.proto {
                netc::ir::Proto::Tcp => Probe::Tcp(p.last),
                netc::ir::Proto::Udp => Probe::Udp(p.last),
                netc::ir::Proto::Icmp => Probe::Ping,
            };
            if !out.contains(&probe) {
                out.push(probe);
            }
            if p.first != p.last {
                out.push(Probe::Tcp(p.first));
            }
        }
    }
    out
}

/// Another user of the packet mark: it sets bit 14 before routing (as kube-proxy marks
/// packets to masquerade) and, after netc's chain on `hook` (`postrouting` on routers, past
/// their forward chain; `input` on hosts), drops what lost that bit or still carries netc's
/// class bits. Probes that pass prove netc keeps the others' bits and clears its own.
fn mark_user_table(hook: &str) -> String {
    format!(
        "table inet marks {{
	chain pre {{
		type filter hook prerouting priority -300; policy accept;
		meta mark set meta mark or 0x00004000
	}}
	chain late {{
		type filter hook {hook} priority 300; policy accept;
		meta mark and 0x00004000 != 0x00004000 drop
		meta mark and 0xffff0000 != 0 drop
	}}
}}
"
    )
}

fn run_lab(plan_path: &str) {
    run_lab_with(plan_path, false, netc::targets::NftBlocks::Inline)
}

fn run_lab_with(plan_path: &str, mark_user: bool, blocks: netc::targets::NftBlocks) {
    run_lab_on(plan_path, mark_user, blocks, None, None, None)
}

/// A lab of some hosts of a plan (`hosts`: all when `None`), probing from `sources` (every
/// host of the lab when `None`) with `probes` (the plan's services and others when `None`).
fn run_lab_on(
    plan_path: &str,
    mark_user: bool,
    blocks: netc::targets::NftBlocks,
    hosts: Option<&[&str]>,
    sources: Option<&[&str]>,
    probes: Option<Vec<Probe>>,
) {
    if !can_run() {
        return;
    }
    let mut count = LABS.lock().unwrap_or_else(|e| e.into_inner());
    *count += 1;
    let c = checked(plan_path);
    let plan = &c.plan;
    let ctx = netc::targets::Context {
        nft_blocks: blocks,
        ..Default::default()
    };
    let files = netc::targets::render(plan, c.info.as_ref().unwrap(), TargetKind::all(), &ctx)
        .expect("the plan renders");
    let mut lab = Lab::new(*count);
    let dir = root().join(format!("target/it-packets-{}", lab.id));
    write_tree(&dir, &files);
    let keep: Vec<bool> = plan
        .hosts
        .iter()
        .map(|h| hosts.is_none_or(|l| l.contains(&h.name.as_str())))
        .collect();
    let from: Vec<bool> = plan
        .hosts
        .iter()
        .map(|h| sources.is_none_or(|l| l.contains(&h.name.as_str())))
        .collect();
    let host_ns = build(&mut lab, plan, &dir.join("routes"), &keep);
    for (i, r) in plan.routers.iter().enumerate() {
        // The switch namespace comes first.
        let ns = &lab.names[i + 1];
        sh(&format!(
            "ip netns exec {ns} nft -f {}",
            dir.join(format!("nftables/routers/{}.nft", r.name))
                .display()
        ));
        if mark_user {
            let path = dir.join("marks.nft");
            std::fs::write(&path, mark_user_table("postrouting")).unwrap();
            sh(&format!("ip netns exec {ns} nft -f {}", path.display()));
        }
    }
    for (h, host) in plan.hosts.iter().enumerate() {
        let ns = &host_ns[h];
        if ns.is_empty() {
            continue;
        }
        match host.firewall {
            FirewallKind::Nftables => {
                sh(&format!(
                    "cd {} && ip netns exec {ns} nft -f hosts/{}.nft",
                    dir.join("nftables").display(),
                    host.name
                ));
                if mark_user {
                    let path = dir.join("host-marks.nft");
                    std::fs::write(&path, mark_user_table("input")).unwrap();
                    sh(&format!("ip netns exec {ns} nft -f {}", path.display()));
                }
            }
            FirewallKind::Ufw => {
                super::daemons::start_ufw(ns, &dir.join(format!("ufw/{}", host.name)))
            }
            FirewallKind::Firewalld => {
                super::daemons::start_firewalld(ns, &dir.join(format!("firewalld/{}", host.name)))
            }
            FirewallKind::None => {}
        }
    }
    let probes = probes.unwrap_or_else(|| probes_for(plan));
    // Wait until every listener is bound (a probe before that would fail for the wrong reason).
    for (h, ns) in host_ns.iter().enumerate() {
        if ns.is_empty() {
            continue;
        }
        let v6 = plan.hosts[h].interfaces.iter().any(|i| i.addr.is_ipv6());
        let expected = listen(ns, &probes, v6);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while sh(&format!("ip netns exec {ns} ss -Hltun")).lines().count() < expected {
            assert!(
                std::time::Instant::now() < deadline,
                "listeners in {ns} did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
    let mut wrong = probe_all(&c, &host_ns, &probes, &from);
    if let Some(out) = lab.names.iter().find(|n| n.ends_with("-out")) {
        let expected = listen(out, &probes, false);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while sh(&format!("ip netns exec {out} ss -Hltun"))
            .lines()
            .count()
            < expected
        {
            assert!(
                std::time::Instant::now() < deadline,
                "listeners in {out} did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        wrong.extend(probe_border(&c, out, &host_ns, &probes));
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        wrong.is_empty(),
        "{} probes disagree with netc:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn nftables_hosts_and_router_agree_with_netc() {
    run_lab_with(
        "fixtures/valid/three-tiers/plan.netc",
        true,
        netc::targets::NftBlocks::Inline,
    );
}

/// Hosts loaded from `--nft-blocks shared` output (`nft -I`): sources classified by the shared
/// block into the mark, beside another user of the mark on every host and router; and VRFs,
/// whose blocks carry their domains.
#[test]
fn shared_nftables_hosts_agree_with_netc() {
    for plan in [
        "fixtures/valid/three-tiers/plan.netc",
        "fixtures/valid/vrf-overlap/plan.netc",
    ] {
        run_lab_with(plan, true, netc::targets::NftBlocks::Shared);
    }
}

/// The same over IPv4 and IPv6 at once, through nftables, firewalld and ufw: every probe to
/// each address of each family.
#[test]
fn dual_stack_hosts_and_router_agree_with_netc() {
    if !have("ufw") || !have("firewalld") || !have("dbus-daemon") {
        return;
    }
    run_lab("fixtures/valid/dual-stack/plan.netc");
}

#[test]
fn overlapping_vrfs_agree_with_netc() {
    // Two VRFs with the same 10.0.0.0/24: the corporate desk and the OT modality share an
    // address, and only the modality reaches the PACS.
    if !can_run() {
        return;
    }
    run_lab("fixtures/valid/vrf-overlap/plan.netc");
}

#[test]
fn ufw_and_firewalld_hosts_agree_with_netc() {
    if !have("ufw") || !have("firewalld") || !have("dbus-daemon") {
        return;
    }
    run_lab("fixtures/valid/three-tiers-mixed/plan.netc");
}

/// Wait up to `limit` for `cond`; the time it took.
fn wait_for(
    limit: std::time::Duration,
    mut cond: impl FnMut() -> bool,
) -> Option<std::time::Duration> {
    let start = std::time::Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return Some(start.elapsed());
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    None
}

#[test]
fn keepalived_fails_over_through_nftables() {
    fails_over(FirewallKind::Nftables);
}

#[test]
fn keepalived_fails_over_through_ufw() {
    fails_over(FirewallKind::Ufw);
}

#[test]
fn keepalived_fails_over_through_firewalld() {
    fails_over(FirewallKind::Firewalld);
}

/// The VIP pair of `fixtures/valid/vip-pair` with its members on one host firewall: exactly one
/// master (the members hear each other's VRRP through their firewalls), and a failover when
/// the master's keepalived stops.
fn fails_over(kind: FirewallKind) {
    if !can_run() || !have("keepalived") {
        return;
    }
    let (fw, target) = match kind {
        FirewallKind::Ufw => ("ufw", TargetKind::Ufw),
        FirewallKind::Firewalld => ("firewalld", TargetKind::Firewalld),
        _ => ("nftables", TargetKind::Nftables),
    };
    let tool = if kind == FirewallKind::Nftables {
        "nft"
    } else {
        fw
    };
    if !have(tool) || (kind == FirewallKind::Firewalld && !have("dbus-daemon")) {
        return;
    }
    let mut count = LABS.lock().unwrap_or_else(|e| e.into_inner());
    *count += 1;
    let text = std::fs::read_to_string(root().join("fixtures/valid/vip-pair/plan.netc")).unwrap();
    let text = text.replace(
        "tier db on svc dev eth0 firewall nftables",
        &format!("tier db on svc dev eth0 firewall {fw}"),
    );
    let c = netc::check_text("vip-pair.netc", &text);
    assert!(!c.has_errors());
    let plan = &c.plan;
    let files = files_of(&c, &[target, TargetKind::Keepalived]);
    let mut lab = Lab::new(*count);
    let dir = root().join(format!("target/it-failover-{fw}-{}", lab.id));
    write_tree(&dir, &files);
    // One switch (a bridge in its own namespace) and a namespace per host.
    let sw = lab.ns("sw");
    sh(&format!(
        "ip -n {sw} link add br0 type bridge && ip -n {sw} link set br0 up"
    ));
    let mut ns_of = Vec::new();
    for (h, host) in plan.hosts.iter().enumerate() {
        let ns = lab.ns(&format!("h{h}"));
        let iface = &host.interfaces[0];
        let (a, b) = (lab.veth(), lab.veth());
        sh(&format!("ip link add {a} type veth peer name {b}"));
        sh(&format!("ip link set {a} netns {ns} name {}", iface.dev));
        sh(&format!(
            "ip link set {b} netns {sw} && ip -n {sw} link set {b} master br0 up"
        ));
        sh(&format!(
            "ip -n {ns} addr add {}/24 dev {} && ip -n {ns} link set {} up",
            iface.addr, iface.dev, iface.dev
        ));
        match host.firewall {
            FirewallKind::Nftables => sh(&format!(
                "ip netns exec {ns} nft -f {}",
                dir.join(format!("nftables/hosts/{}.nft", host.name))
                    .display()
            )),
            FirewallKind::Ufw => {
                super::daemons::start_ufw(&ns, &dir.join(format!("ufw/{}", host.name)));
                String::new()
            }
            FirewallKind::Firewalld => {
                super::daemons::start_firewalld(&ns, &dir.join(format!("firewalld/{}", host.name)));
                String::new()
            }
            FirewallKind::None => String::new(),
        };
        // Unicast VRRP between two members looks like one flow to conntrack: the backup's
        // last adverts would let the master's through as "established" for ten minutes. With
        // a short generic timeout only the firewall's VRRP rules can keep the backup quiet.
        sh(&format!(
            "ip netns exec {ns} sysctl -qw net.netfilter.nf_conntrack_generic_timeout=1"
        ));
        ns_of.push(ns);
    }
    let vip = plan.vips[0].addr.to_string();
    let members: Vec<usize> = plan.vips[0].members.clone();
    for &m in &members {
        let ns = &ns_of[m];
        let name = &plan.hosts[m].name;
        sh(&format!("ip netns exec {ns} socat TCP-LISTEN:5432,fork,reuseaddr SYSTEM:'echo {name}' >/dev/null 2>&1 &"));
        let run = dir.join(format!("run-{name}"));
        std::fs::create_dir_all(&run).unwrap();
        sh(&format!(
            "ip netns exec {ns} keepalived -n -l -D -f {conf} -p {r}/k.pid -r {r}/v.pid -c {r}/c.pid >{r}/log 2>&1 &",
            conf = dir.join(format!("keepalived/{name}/keepalived.conf")).display(),
            r = run.display()
        ));
    }
    let holders = || {
        members
            .iter()
            .filter(|&&m| {
                sh(&format!("ip -n {} -4 addr show", ns_of[m])).contains(&format!("{vip}/"))
            })
            .copied()
            .collect::<Vec<usize>>()
    };
    let elected = wait_for(std::time::Duration::from_secs(20), || holders().len() == 1);
    assert!(
        elected.is_some(),
        "no single master after 20 s: holders {:?}",
        holders()
    );
    // Longer than the conntrack timeout and VRRP's master-down interval (3 adverts and skew,
    // ~3.6 s): a backup that hears no adverts (VRRP dropped by a firewall) would have taken
    // the VIP by now.
    // Watched all along: a backup that flaps to master and back (for milliseconds, when a
    // firewall drops the master's adverts) is caught in keepalived's own log.
    let masters = || -> usize {
        members
            .iter()
            .map(|m| {
                let log = dir.join(format!("run-{}/log", plan.hosts[*m].name));
                std::fs::read_to_string(log)
                    .unwrap_or_default()
                    .matches("Entering MASTER STATE")
                    .count()
            })
            .sum()
    };
    // Let the election settle (under load, the first seconds may still see a transition),
    // then watch.
    std::thread::sleep(std::time::Duration::from_secs(3));
    let master = holders();
    let before = masters();
    let until = std::time::Instant::now() + std::time::Duration::from_secs(8);
    while std::time::Instant::now() < until {
        assert_eq!(
            holders(),
            master,
            "exactly one member holds the VIP, all along"
        );
        std::thread::sleep(std::time::Duration::from_millis(150));
    }
    assert_eq!(master.len(), 1, "exactly one member holds the VIP");
    assert_eq!(
        masters(),
        before,
        "no member became master again: the backup hears the master"
    );
    let client = &ns_of[plan.hosts.iter().position(|h| h.name == "c1").unwrap()];
    let ask = || {
        sh(&format!("ip netns exec {client} timeout 3 socat -T2 - TCP:{vip}:5432,connect-timeout=1 </dev/null || true")).trim().to_string()
    };
    assert_eq!(
        ask(),
        plan.hosts[master[0]].name,
        "the client reaches the VIP on its master"
    );
    // Kill the master's keepalived (SIGTERM, as systemd stops it): the other member must take
    // the VIP within a few seconds.
    sh(&format!("ip netns pids {} | xargs -r ps -o pid=,comm= -p | awk '$2==\"keepalived\"{{print $1}}' | xargs -r kill", ns_of[master[0]]));
    let took = wait_for(std::time::Duration::from_secs(10), || {
        holders()
            == members
                .iter()
                .copied()
                .filter(|&m| m != master[0])
                .collect::<Vec<_>>()
    });
    assert!(
        took.is_some(),
        "the backup did not take the VIP: holders {:?}",
        holders()
    );
    eprintln!("failover took {:?}", took.unwrap());
    let other = members.iter().find(|&&m| m != master[0]).unwrap();
    let answered = wait_for(std::time::Duration::from_secs(5), || {
        ask() == plan.hosts[*other].name
    });
    assert!(
        answered.is_some(),
        "the client reaches the VIP on the new master"
    );
    drop(lab);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `netc-ufw.sh` never leaves the host open: on a ufw host running the previous rules, the
/// installer of new ones is made to fail at each of its commands in turn (a wrapper on PATH
/// fails the N-th command it runs), and after every abort the host still drops what no rule
/// allows, runs the old rules (put back) and holds whole files; run through, it runs the new
/// ones. Real ufw, real packets, in namespaces.
#[test]
fn the_ufw_installer_never_leaves_the_host_open() {
    if !can_run() || !have("ufw") || !have("iptables-restore") {
        return;
    }
    let _one = LABS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let plan = |port: u16| {
        format!(
            "vlan 30 lan {{ subnet 10.97.0.0/24 }}\n\
             tier srv on lan dev eth0 firewall ufw\n\
             tier cli on lan dev eth0 firewall none\n\
             host u1 in srv {{ lan 10.97.0.10 }}\n\
             host c1 in cli {{ lan 10.97.0.20 }}\n\
             allow cli -> srv : tcp/{port}\n"
        )
    };
    let base = root().join(format!("target/it-ufw-installer-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let compile = |name: &str, port: u16| {
        let c = netc::check_text("installer.netc", &plan(port));
        assert!(!c.has_errors(), "{:?}", c.diags);
        let dir = base.join(name);
        write_tree(&dir, &files_of(&c, &[TargetKind::Ufw]));
        dir.join("ufw/u1/netc-ufw.sh")
    };
    let (old, new) = (compile("old", 8080), compile("new", 8081));
    let mut lab = Lab::new(7);
    let (u, c) = (lab.ns("u"), lab.ns("c"));
    sh(&format!(
        "ip link add ufwi{0} netns {u} type veth peer name ufwc{0} netns {c} && \
         ip -n {u} link set ufwi{0} name eth0 && ip -n {c} link set ufwc{0} name eth0 && \
         ip -n {u} addr add 10.97.0.10/24 dev eth0 && ip -n {c} addr add 10.97.0.20/24 dev eth0 && \
         ip -n {u} link set eth0 up && ip -n {c} link set eth0 up",
        lab.id
    ));
    listen(
        &u,
        &[Probe::Tcp(8080), Probe::Tcp(8081), Probe::Tcp(9999)],
        false,
    );
    // A private ufw configuration (ufw's data dir), as the readback lab makes it.
    let data = base.join("data");
    sh(&format!(
        "mkdir -p {0}/etc/default {0}/lib/ufw && cp -r /etc/ufw {0}/etc/ufw && cp /etc/default/ufw {0}/etc/default/ufw && chmod -R go-w {0}",
        data.display()
    ));
    // Commands on PATH that count their calls and fail the one numbered $FAIL_AT.
    let shims = base.join("shims");
    std::fs::create_dir_all(&shims).unwrap();
    let count = base.join("count");
    for tool in [
        "iptables-restore",
        "ip6tables-restore",
        "ufw",
        "cp",
        "chmod",
        "mv",
        "mktemp",
    ] {
        let real = sh(&format!("command -v {tool}")).trim().to_string();
        let shim = shims.join(tool);
        std::fs::write(
            &shim,
            format!(
                "#!/bin/sh\nn=$(($(cat {0}) + 1)); echo $n > {0}\n[ \"$n\" = \"${{FAIL_AT:-0}}\" ] && exit 1\nexec {real} \"$@\"\n",
                count.display()
            ),
        )
        .unwrap();
        sh(&format!("chmod +x {}", shim.display()));
    }
    let env = format!(
        "UFW_ETC={0}/etc/ufw UFW_CMD='ufw --rootdir=/ --datadir={0}'",
        data.display()
    );
    let install = |script: &Path, fail_at: usize| -> bool {
        std::fs::write(&count, "0").unwrap();
        Command::new("sh")
            .arg("-c")
            .arg(format!(
                "ip netns exec {u} env PATH={}:$PATH FAIL_AT={fail_at} {env} sh {} >/dev/null 2>&1",
                shims.display(),
                script.display()
            ))
            .status()
            .unwrap()
            .success()
    };
    let open = |port: u16| {
        Command::new("sh")
            .arg("-c")
            .arg(Probe::Tcp(port).command(&c, "10.97.0.10"))
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("ok"))
    };
    let files =
        |dir: &Path| ["user.rules", "user6.rules"].map(|f| std::fs::read(dir.join(f)).unwrap());
    assert!(install(&old, 0), "the old rules install");
    assert!(open(8080) && !open(8081) && !open(9999));
    // As ufw keeps them (it rewrites the files it loads).
    let old_files = files(&data.join("etc/ufw"));
    let calls: usize = std::fs::read_to_string(&count)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(calls >= 8, "{calls}");
    for k in 1..=calls {
        // A failed command either fails the installer (the old rules are back) or does not
        // matter (`ufw status` failing: it enables instead of reloading, which loads the new).
        let installed = install(&new, k);
        let policy = sh(&format!("ip netns exec {u} iptables -S INPUT"));
        assert!(
            policy.contains("-P INPUT DROP"),
            "after command {k}: {policy}"
        );
        assert!(!open(9999), "after command {k} failed, the host is open");
        if installed {
            assert!(
                open(8081) && !open(8080),
                "command {k} failed, the new rules do not run"
            );
            assert!(install(&old, 0), "the old rules install again");
        } else {
            assert!(
                open(8080) && !open(8081),
                "after command {k} failed, the old rules do not run"
            );
            let now = files(&data.join("etc/ufw"));
            assert!(
                now == old_files,
                "after command {k} failed, the old files are not back"
            );
        }
    }
    assert!(install(&new, 0), "the new rules install");
    assert!(open(8081) && !open(8080) && !open(9999));
    let installed = String::from_utf8(files(&data.join("etc/ufw"))[0].clone()).unwrap();
    let ours = std::fs::read_to_string(new.parent().unwrap().join("user.rules")).unwrap();
    for rule in ours.lines().filter(|l| l.starts_with("-A ufw-user-input")) {
        assert!(installed.contains(rule), "{rule} is not installed");
    }
    drop(lab);
    let _ = std::fs::remove_dir_all(&base);
}

/// iptables readings held to the kernel: a user chain named in capitals (`BLACKLIST`) is a
/// chain, `-o X` never matches a packet arriving for the host and `! -o X` always does (its `!`
/// is not carried to the next match). The save is made by the real iptables, loaded in a
/// namespace, probed with real packets, and the reader's answers agree with them.
#[test]
fn iptables_readings_agree_with_real_packets() {
    if !can_run() || !have("iptables-restore") || !have("iptables-save") {
        return;
    }
    let _one = LABS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut lab = Lab::new(8);
    let (s, c) = (lab.ns("s"), lab.ns("c"));
    sh(&format!(
        "ip link add ipts{0} netns {s} type veth peer name iptc{0} netns {c} && \
         ip -n {s} link set ipts{0} name eth0 && ip -n {c} link set iptc{0} name eth0 && \
         ip -n {s} addr add 10.99.3.10/16 dev eth0 && ip -n {c} addr add 10.99.2.10/16 dev eth0 && \
         ip -n {s} link set eth0 up && ip -n {c} link set eth0 up",
        lab.id
    ));
    let rules = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:BLACKLIST - [0:0]\n\
                 -A INPUT -i lo -j ACCEPT\n-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
                 -A INPUT -j BLACKLIST\n-A INPUT -p tcp -m tcp --dport 5432 -j ACCEPT\n-A INPUT -p udp -m udp --dport 53 -j ACCEPT\n\
                 -A BLACKLIST -o eth9 -j DROP\n-A BLACKLIST ! -o eth9 -p udp -j DROP\nCOMMIT\n";
    let file = root().join(format!("target/it-ipt-{}.rules", std::process::id()));
    std::fs::write(&file, rules).unwrap();
    sh(&format!(
        "ip netns exec {s} iptables-restore < {}",
        file.display()
    ));
    let save = sh(&format!("ip netns exec {s} iptables-save"));
    let _ = std::fs::remove_file(&file);
    listen(&s, &[Probe::Tcp(5432), Probe::Udp(53)], false);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let answered = |p: Probe| {
        Command::new("sh")
            .arg("-c")
            .arg(p.command(&c, "10.99.3.10"))
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("ok"))
    };
    let (tcp, udp) = (answered(Probe::Tcp(5432)), answered(Probe::Udp(53)));
    assert!(tcp && !udp, "the kernel: tcp/5432 {tcp}, udp/53 {udp}");
    let rs = netc::readback::from_iptables_save(&save, "").expect("read");
    let packet = |proto: u8, port: u16| netc::readback::Packet {
        v4: true,
        src: u128::from(u32::from(std::net::Ipv4Addr::new(10, 99, 2, 10))),
        dst: u128::from(u32::from(std::net::Ipv4Addr::new(10, 99, 3, 10))),
        proto,
        dport: port,
    };
    assert_eq!(
        rs.accepts(netc::readback::Hook::Input, &packet(6, 5432)),
        tcp
    );
    assert_eq!(
        rs.accepts(netc::readback::Hook::Input, &packet(17, 53)),
        udp
    );
    drop(lab);
}

/// Multi-homed hosts: every VLAN a bridge, the management VLAN without a router, the load
/// balancer's default route on the edge and its route to the inside through the front VLAN,
/// all loaded from netc's own route files. Real packets must agree with netc on every
/// address of every host: the management and storage interfaces stay closed to the
/// application rules, and the kernel's choice of source address is netc's.
/// A border that translates: port forwards and a static translation reached from the internet's
/// namespace (which sees only public addresses), source-translated connections that come
/// back, an untranslated private source that does not, hairpin from inside: all as netc says.
#[test]
fn a_border_that_translates_agrees_with_netc() {
    run_lab("fixtures/valid/border-nat/plan.netc");
}

/// Egress filtering: a tier whose output filter is the only enforcement point toward a host
/// with no firewall on its own subnet sends only what the plan allows, over IPv4 and IPv6.
#[test]
fn egress_filtered_hosts_agree_with_netc() {
    run_lab("fixtures/valid/egress-filtered/plan.netc");
}

/// A campus never seen by the other labs: two routers in series (a core behind a border that
/// translates), an IPv6-only VLAN, and egress filtered by nftables, ufw and firewalld hosts.
#[test]
fn a_campus_behind_a_translating_border_agrees_with_netc() {
    run_lab("fixtures/valid/campus-border/plan.netc");
}

#[test]
fn multi_homed_hosts_and_their_routes_agree_with_netc() {
    run_lab("fixtures/valid/multi-homed/plan.netc");
}

/// Without the load balancer's route, its kernel sends to the backends from its edge address,
/// where no router leads inside: netc answers NO, and real packets die.
#[test]
fn a_missing_route_is_seen_by_netc_and_by_packets() {
    let text = std::fs::read_to_string(root().join("fixtures/valid/multi-homed/plan.netc"))
        .unwrap()
        .replace(" route 10.98.0.0/16 via front", "");
    let dir = root().join(format!("target/it-no-route-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("plan.netc"), text).unwrap();
    let c = checked(dir.join("plan.netc").to_str().unwrap());
    let info = c.info.as_ref().unwrap();
    let a = netc::query::ask(&c.plan, info, "lb1", "app1", Some("http")).unwrap();
    assert_eq!(a.verdict, netc::query::Verdict::No);
    assert!(c.diags.iter().any(|d| d.code == "W084"), "{:?}", c.diags);
    run_lab(dir.join("plan.netc").to_str().unwrap());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Datalyptica's load balancers reach their backends: lb01 and lb02 and one backend of each
/// kind, with the plan's own firewalld zones and routes and the routers' rulesets, probed on
/// the HAProxy ports and on ports no rule opens, at every address of every backend (the
/// management and storage addresses must stay closed). Across the border, every lab host
/// reaches an internet NTP server (the backends through the perimeter's source NAT, over the
/// transit VLAN) and nothing else of the internet.
#[test]
fn datalyptica_load_balancers_reach_their_backends() {
    if !have("firewalld") || !have("dbus-daemon") {
        return;
    }
    run_lab_on(
        "fixtures/datalyptica",
        false,
        netc::targets::NftBlocks::Inline,
        Some(&[
            "lb01",
            "lb02",
            "pg01",
            "kafka01",
            "trino-coord01",
            "keycloak01",
        ]),
        Some(&["lb01", "lb02"]),
        Some(vec![
            Probe::Tcp(8080),
            Probe::Tcp(8081),
            Probe::Tcp(5432),
            Probe::Tcp(22),
            Probe::Udp(123),
            Probe::Ping,
        ]),
    );
}
