//! ufw: `user.rules` and `user6.rules` in ufw's own format (the `### tuple ###` lines are what
//! `ufw status` shows; they are kept consistent with the `-A` lines below them), and a script
//! of the equivalent `ufw` commands. Denies come first, then allows; ufw's default incoming
//! policy (deny) does the rest.
//!
//! ufw cannot filter ICMP in user rules, and its stock `before.rules` accept ICMP echo from
//! anywhere: netc's queries know this (ICMP to a ufw host is "open"), and the files say it.

use super::hostrules::{host_rules, HostRule};
use super::{flow_ref, header, Context, OutputFile, Target};
use crate::check::PlanInfo;
use crate::ir::{Action, FirewallKind, Plan, Proto};
use crate::space;
use askama::Template;
use std::path::PathBuf;

pub struct Ufw;

impl Target for Ufw {
    fn name(&self) -> &'static str {
        "ufw"
    }

    fn render(&self, plan: &Plan, info: &PlanInfo, ctx: &Context) -> Vec<OutputFile> {
        super::collect(|sink| self.render_each(plan, info, ctx, sink))
    }

    fn render_each(
        &self,
        plan: &Plan,
        info: &PlanInfo,
        _ctx: &Context,
        sink: &mut super::Sink,
    ) -> Result<(), crate::output::OutputError> {
        let hosts = super::hosts_running(plan, FirewallKind::Ufw);
        super::stream_hosts(
            &hosts,
            |cache, h| {
                let rules = host_rules(plan, &info.policy, cache, h);
                let (v4, v6, script) = render_host(plan, h, &rules);
                let dir = format!("ufw/{}", plan.hosts[h].name);
                vec![
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
                ]
            },
            sink,
        )
    }
}

struct RuleView {
    tuple: String,
    lines: Vec<String>,
}

#[derive(Template)]
#[template(path = "ufw/user.rules")]
struct RulesView {
    header: String,
    prefix: &'static str,
    rules: Vec<RuleView>,
}

#[derive(Template)]
#[template(path = "ufw/netc-ufw.sh")]
struct ScriptView {
    header: String,
    host: String,
    commands: Vec<String>,
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

fn cidrs(set: &space::Set) -> Vec<String> {
    set.ranges()
        .iter()
        .flat_map(|&(lo, hi)| space::range_to_cidrs(lo, hi))
        .map(|n| {
            if n.prefix_len() == n.max_prefix_len() {
                n.addr().to_string()
            } else {
                n.to_string()
            }
        })
        .collect()
}

/// One ufw rule: tuple, iptables lines, and the `ufw` command.
fn rule(
    prefix: &str,
    r: &HostRule,
    comment: &str,
    src: &str,
    dst: &str,
    svc: Option<(Proto, u16, u16)>,
) -> (RuleView, String) {
    let allow = r.action == Action::Allow;
    let (proto, dport) = match svc {
        None => ("any".to_string(), "any".to_string()),
        Some((p, 0, 65535)) => (p.name().to_string(), "any".to_string()),
        Some((p, lo, hi)) if lo == hi => (p.name().to_string(), lo.to_string()),
        Some((p, lo, hi)) => (p.name().to_string(), format!("{lo}:{hi}")),
    };
    let action = format!(
        "{}{}",
        if allow { "allow" } else { "deny" },
        if r.log { "_log" } else { "" }
    );
    let any_src = if r.v4 { "0.0.0.0/0" } else { "::/0" };
    let tuple_src = if src == any_src { any_src } else { src };
    let tuple = format!(
        "### tuple ### {action} {proto} {dport} {dst} any {tuple_src} in comment={}",
        hex(comment)
    );
    let mut m = String::new();
    if proto != "any" {
        m.push_str(&format!("-p {proto} "));
    }
    if dport.contains(':') {
        m.push_str(&format!("-m multiport --dports {dport} "));
    }
    m.push_str(&format!("-d {dst} "));
    if dport != "any" && !dport.contains(':') {
        m.push_str(&format!("--dport {dport} "));
    }
    if src != any_src {
        m.push_str(&format!("-s {src} "));
    }
    let m = m.trim_end();
    let target = if allow { "ACCEPT" } else { "DROP" };
    let mut lines = Vec::new();
    if r.log {
        let tag = if allow {
            "[UFW ALLOW] "
        } else {
            "[UFW BLOCK] "
        };
        lines.push(format!("-A {prefix}-user-logging-input {m} -m conntrack --ctstate NEW -m limit --limit 3/min --limit-burst 10 -j LOG --log-prefix \"{tag}\""));
        lines.push(format!("-A {prefix}-user-logging-input {m} -j RETURN"));
        lines.push(format!(
            "-A {prefix}-user-input {m} -j {prefix}-user-logging-input"
        ));
    }
    lines.push(format!("-A {prefix}-user-input {m} -j {target}"));
    let mut cmd = format!(
        "ufw {} {}",
        if allow { "allow" } else { "deny" },
        if r.log { "log " } else { "" }
    );
    if proto != "any" {
        cmd.push_str(&format!("proto {proto} "));
    }
    cmd.push_str(&format!(
        "from {} to {dst} ",
        if src == any_src { "any" } else { src }
    ));
    if dport != "any" {
        cmd.push_str(&format!("port {dport} "));
    }
    cmd.push_str(&format!("comment '{comment}'"));
    (RuleView { tuple, lines }, cmd)
}

fn render_host(plan: &Plan, h: usize, rules: &[HostRule]) -> (String, String, String) {
    let host = &plan.hosts[h];
    let mut out = Vec::new();
    let mut commands = vec![
        "ufw --force reset".to_string(),
        "ufw default deny incoming".to_string(),
    ];
    for v4 in [true, false] {
        let prefix = if v4 { "ufw" } else { "ufw6" };
        let mut views = Vec::new();
        for r in rules.iter().filter(|r| r.v4 == v4) {
            let comment = format!("netc {}", flow_ref(plan, r.flow));
            let pieces: Vec<Option<(Proto, u16, u16)>> = match &r.services {
                None => vec![None],
                Some(p) => p
                    .iter()
                    .filter(|x| x.0 != Proto::Icmp)
                    .map(|&x| Some(x))
                    .collect(),
            };
            for src in cidrs(&r.source.set) {
                for dst in cidrs(&r.dst) {
                    for svc in &pieces {
                        let (view, cmd) = rule(prefix, r, &comment, &src, &dst, *svc);
                        views.push(view);
                        commands.push(cmd);
                    }
                }
            }
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
                rules: views,
            }
            .render()
            .map(super::with_final_newline)
            .expect("template renders"),
        );
    }
    commands.push("ufw --force enable".to_string());
    let script = ScriptView {
        header: header(plan, &format!("ufw commands for host {}", host.name), "#"),
        host: host.name.clone(),
        commands,
    }
    .render()
    .map(super::with_final_newline)
    .expect("template renders");
    let v6 = out.pop().expect("two families");
    let v4 = out.pop().expect("two families");
    (v4, v6, script)
}
