//! ufw: `user.rules` and `user6.rules` in ufw's own format (the `### tuple ###` lines are what
//! `ufw status` shows; they are kept consistent with the `-A` lines below them), and
//! `netc-ufw.sh`, which installs them without ever leaving the host open (see the script).
//! Denies come first, then allows; ufw's default incoming
//! policy (deny) does the rest.
//!
//! Members of a VIP accept VRRP from the other members first (as the nftables and firewalld
//! targets do).
//!
//! ufw cannot filter ICMP in user rules, and its stock `before.rules` accept ICMP echo from
//! anywhere: netc's queries know this (ICMP to a ufw host is "open"), and the files say it.

use super::hostrules::{atom_names, class_rules, egress_rules, vrrp_peers, HostRule};
use super::{flow_ref, header, Context, OutputFile, Target};
use crate::check::PlanInfo;
use crate::ir::{Action, FirewallKind, Plan, Proto};
use crate::space;
use askama::Template;
use std::path::PathBuf;

pub struct Ufw;

impl Target for Ufw {
    fn render_each(
        &self,
        plan: &Plan,
        info: &PlanInfo,
        _ctx: &Context,
        sink: &mut super::Sink,
    ) -> Result<(), crate::targets::OutputError> {
        let hosts = super::hosts_running(plan, FirewallKind::Ufw);
        if hosts.is_empty() {
            return Ok(());
        }
        let names = atom_names(plan, &info.policy);
        super::stream_hosts(
            &hosts,
            |h| {
                let rules = class_rules(plan, &info.policy, &names, h);
                let egress = plan.tiers[plan.hosts[h].tier]
                    .egress
                    .then(|| egress_rules(plan, &info.policy, &names, h));
                let count = rule_count(&rules) + egress.as_deref().map_or(0, rule_count);
                if count > MAX_RULES {
                    return Err(crate::targets::OutputError(format!(
                        "ufw: host {} would need {count} rules, more than the {MAX_RULES} netc writes for one ufw host: ufw has no sets, so it needs a rule per (source range, address, port) and checks them one by one; give this host `firewall nftables` or `firewall firewalld`",
                        plan.hosts[h].name
                    )));
                }
                let (v4, v6, script) = render_host(plan, h, &rules, egress.as_deref());
                let dir = format!("ufw/{}", plan.hosts[h].name);
                Ok(vec![
                    OutputFile {
                        path: PathBuf::from(format!("{dir}/user.rules")),
                        contents: v4,
                    },
                    OutputFile {
                        path: PathBuf::from(format!("{dir}/user6.rules")),
                        contents: v6,
                    },
                    OutputFile {
                        path: PathBuf::from(format!("{dir}/netc-ufw.sh")),
                        contents: script,
                    },
                ])
            },
            sink,
        )
    }
}

/// The most rules netc writes for one ufw host (both families): ufw's rules are a list that
/// every new connection walks, and at this size a ruleset with sets is the right tool.
pub const MAX_RULES: usize = 10_000;

/// How many ufw rules `render_host` writes for these host rules.
fn rule_count(rules: &[HostRule]) -> usize {
    rules
        .iter()
        .map(|r| {
            let pieces = r
                .services
                .as_ref()
                .map_or(1, |p| p.iter().filter(|x| x.0 != Proto::Icmp).count());
            space::set_cidrs(&r.source.set).len() * space::set_cidrs(&r.dst).len() * pieces
        })
        .sum()
}

#[derive(Template)]
#[template(path = "ufw/user.rules")]
struct RulesView {
    header: String,
    prefix: &'static str,
    /// The host filters egress: ufw logs what its default drops on the way out, as ufw
    /// itself writes for `default deny outgoing`.
    egress: bool,
    /// Every rule: its tuple line and its `-A` lines, a blank line around each.
    rules: String,
}

#[derive(Template)]
#[template(path = "ufw/netc-ufw.sh")]
struct ScriptView {
    header: String,
    host: String,
    /// ufw's default outgoing policy, as the plan says: `deny` for a host of an `egress
    /// filtered` tier, else `allow`.
    outgoing: &'static str,
}

fn hex(s: &str) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(s.len() * 2);
    for b in s.bytes() {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

fn cidrs(set: &space::Set) -> Vec<String> {
    space::set_cidrs(set)
        .into_iter()
        .map(|n| {
            if n.prefix_len() == n.max_prefix_len() {
                n.addr().to_string()
            } else {
                n.to_string()
            }
        })
        .collect()
}

/// What all the ufw rules made from one host rule share, worked out once.
struct RuleText<'a> {
    prefix: &'a str,
    allow: bool,
    log: bool,
    any_src: &'static str,
    /// `allow`, `deny_log`...
    action: &'static str,
    comment_hex: String,
    /// `in` (the input chains) or `out` (the output chains: `egress filtered`).
    direction: &'static str,
}

impl<'a> RuleText<'a> {
    fn new(plan: &Plan, prefix: &'a str, r: &HostRule, out: bool) -> RuleText<'a> {
        let allow = r.action == Action::Allow;
        let comment = format!("netc {}", flow_ref(plan, r.flow));
        RuleText {
            prefix,
            allow,
            log: r.log,
            any_src: if r.v4 { "0.0.0.0/0" } else { "::/0" },
            action: match (allow, r.log) {
                (true, false) => "allow",
                (true, true) => "allow_log",
                (false, false) => "deny",
                (false, true) => "deny_log",
            },
            comment_hex: hex(&comment),
            direction: if out { "out" } else { "in" },
        }
    }

    /// One ufw rule: its tuple and iptables lines into `rules`.
    fn write(&self, rules: &mut String, src: &str, dst: &str, svc: Option<(Proto, u16, u16)>) {
        use std::fmt::Write;
        let (proto, dport) = match svc {
            None => ("any", "any".to_string()),
            Some((p, 0, 65535)) => (p.name(), "any".to_string()),
            Some((p, lo, hi)) if lo == hi => (p.name(), lo.to_string()),
            Some((p, lo, hi)) => (p.name(), format!("{lo}:{hi}")),
        };
        let (prefix, any_src, dir) = (self.prefix, self.any_src, self.direction);
        let chain = if dir == "in" { "input" } else { "output" };
        let _ = write!(
            rules,
            "\n### tuple ### {} {proto} {dport} {dst} any {src} {dir} comment={}",
            self.action, self.comment_hex
        );
        let mut m = String::with_capacity(96);
        if proto != "any" {
            let _ = write!(m, "-p {proto} ");
        }
        let range = dport.contains(':');
        if range {
            let _ = write!(m, "-m multiport --dports {dport} ");
        }
        if dst != any_src {
            let _ = write!(m, "-d {dst} ");
        }
        if dport != "any" && !range {
            let _ = write!(m, "--dport {dport} ");
        }
        if src != any_src {
            let _ = write!(m, "-s {src} ");
        }
        let m = m.trim_end();
        if self.log {
            let tag = if self.allow {
                "[UFW ALLOW] "
            } else {
                "[UFW BLOCK] "
            };
            let _ = write!(
                rules,
                "\n-A {prefix}-user-logging-{chain} {m} -m conntrack --ctstate NEW -m limit --limit 3/min --limit-burst 10 -j LOG --log-prefix \"{tag}\"\n-A {prefix}-user-logging-{chain} {m} -j RETURN\n-A {prefix}-user-{chain} {m} -j {prefix}-user-logging-{chain}"
            );
        }
        let target = if self.allow { "ACCEPT" } else { "DROP" };
        let _ = writeln!(rules, "\n-A {prefix}-user-{chain} {m} -j {target}");
    }
}

/// `netc-ufw.sh` of host `h`: the installer of its two rules files (fixed text but for the
/// header and the host's name in a comment; the guard holds every file to this).
pub fn script(plan: &Plan, h: usize) -> String {
    ScriptView {
        header: header(
            plan,
            &format!("installer of the ufw rules of host {}", plan.hosts[h].name),
            "#",
        ),
        host: plan.hosts[h].name.clone(),
        outgoing: if plan.tiers[plan.hosts[h].tier].egress {
            "deny"
        } else {
            "allow"
        },
    }
    .render()
    .map(super::with_final_newline)
    .expect("template renders")
}

/// The ufw rules of a host rule, by port piece (`None`: every protocol); ICMP has none.
fn port_pieces(r: &HostRule) -> Vec<Option<(Proto, u16, u16)>> {
    match &r.services {
        None => vec![None],
        Some(p) => p
            .iter()
            .filter(|x| x.0 != Proto::Icmp)
            .map(|&x| Some(x))
            .collect(),
    }
}

fn render_host(
    plan: &Plan,
    h: usize,
    rules: &[HostRule],
    egress: Option<&[HostRule]>,
) -> (String, String, String) {
    use std::fmt::Write;
    let host = &plan.hosts[h];
    let mut out = Vec::new();
    for v4 in [true, false] {
        let prefix = if v4 { "ufw" } else { "ufw6" };
        let mut block = String::new();
        // VRRP (IP protocol 112) from the other members of the host's VIPs, first: without
        // it every member declares itself master (ufw 0.36 knows `proto vrrp`).
        for v in vrrp_peers(plan, h).into_iter().filter(|v| v.v4 == v4) {
            let comment = format!("netc: VRRP of vip {}", plan.vips[v.vip].name);
            let local = cidrs(&v.local);
            for src in cidrs(&v.peers) {
                for dst in &local {
                    let _ = write!(
                        block,
                        "\n### tuple ### allow vrrp any {dst} any {src} in comment={}\n-A {prefix}-user-input -p vrrp -d {dst} -s {src} -j ACCEPT\n",
                        hex(&comment)
                    );
                }
            }
        }
        for r in rules.iter().filter(|r| r.v4 == v4) {
            let text = RuleText::new(plan, prefix, r, false);
            let pieces = port_pieces(r);
            let dsts = cidrs(&r.dst);
            for src in cidrs(&r.source.set) {
                for dst in &dsts {
                    for svc in &pieces {
                        text.write(&mut block, &src, dst, *svc);
                    }
                }
            }
        }
        if let Some(egress) = egress {
            // What the host may send: `allow out` rules from its own addresses, then ICMP
            // (IPv4 only: ufw's rules cannot name ICMP, so these lines carry no tuple, and
            // its stock before6.rules already send ICMPv6 echo and errors anywhere), then
            // `deny out` to anywhere, so that the host sends nothing else whatever ufw's
            // default outgoing policy is (loopback and replies pass ufw's before.rules).
            let mut icmp = String::new();
            for r in egress.iter().filter(|r| r.v4 == v4) {
                let text = RuleText::new(plan, prefix, r, true);
                let pieces = port_pieces(r);
                let with_icmp = v4
                    && r.services
                        .as_ref()
                        .is_some_and(|p| p.iter().any(|x| x.0 == Proto::Icmp));
                let peers = cidrs(&r.source.set);
                for own in cidrs(&r.dst) {
                    for peer in &peers {
                        for svc in &pieces {
                            text.write(&mut block, &own, peer, *svc);
                        }
                        if with_icmp {
                            let d = if peer == text.any_src {
                                String::new()
                            } else {
                                format!(" -d {peer}")
                            };
                            let _ = write!(
                                icmp,
                                "\n-A {prefix}-user-output -p icmp -s {own}{d} -j ACCEPT"
                            );
                        }
                    }
                }
            }
            if !icmp.is_empty() {
                let _ = writeln!(
                    block,
                    "\n# netc: ICMP the plan allows this host to send (no tuple: ufw's rules cannot name ICMP){icmp}"
                );
            }
            let any = if v4 { "0.0.0.0/0" } else { "::/0" };
            let _ = write!(
                block,
                "\n### tuple ### deny any any {any} any {any} out comment={}\n-A {prefix}-user-output -j DROP\n",
                hex("netc: the host sends only what the plan allows (egress filtered)")
            );
        }
        let what = format!(
            "ufw {} rules of host {}; ICMP echo is accepted by ufw's before.rules",
            if v4 { "IPv4" } else { "IPv6" },
            host.name
        );
        out.push(
            RulesView {
                header: header(plan, &what, "#"),
                prefix,
                egress: egress.is_some(),
                rules: block,
            }
            .render()
            .map(super::with_final_newline)
            .expect("template renders"),
        );
    }
    let script = script(plan, h);
    let v6 = out.pop().expect("two families");
    let v4 = out.pop().expect("two families");
    (v4, v6, script)
}
