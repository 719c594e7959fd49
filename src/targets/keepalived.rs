//! keepalived: for each host that is a member of a VIP, one `keepalived.conf` with a VRRP
//! instance per VIP it may hold: its interface on the VIP's VLAN, the VIP's router id,
//! priorities falling in the plan's member order (first member highest), unicast to the other
//! members, the VIP with its prefix length and device, and a health-check script. VIPs asking
//! for no preemption start every member in BACKUP with `nopreempt`.
//!
//! Health checks follow the seed's load-balancer checks: every 10 s, 5 s timeout, 3 failures
//! to go down, 2 successes to come back.

use super::{header, Context, OutputFile};
use crate::check::PlanInfo;
use crate::ir::{HealthCheck, Plan, Proto};
use crate::targets::RenderAll;
use askama::Template;
use std::path::PathBuf;

pub struct Keepalived;

struct ScriptView {
    name: String,
    command: String,
}

struct InstanceView {
    name: String,
    comment: String,
    state: &'static str,
    nopreempt: bool,
    interface: String,
    vrid: u8,
    priority: u32,
    src: String,
    peers: Vec<String>,
    vip: String,
    script: Option<String>,
}

#[derive(Template)]
#[template(path = "keepalived/keepalived.conf")]
struct ConfView {
    header: String,
    router_id: String,
    scripts: Vec<ScriptView>,
    instances: Vec<InstanceView>,
    groups: Vec<GroupView>,
}

/// A `vrrp_sync_group`: instances that fail over together.
struct GroupView {
    name: String,
    instances: Vec<String>,
}

/// keepalived names: letters, digits and `_`.
fn ident(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

impl RenderAll for Keepalived {
    fn render(&self, plan: &Plan, _info: &PlanInfo, _ctx: &Context) -> Vec<OutputFile> {
        let mut files = Vec::new();
        for (h, host) in plan.hosts.iter().enumerate() {
            let vips: Vec<usize> = (0..plan.vips.len())
                .filter(|&v| plan.vips[v].members.contains(&h))
                .collect();
            if vips.is_empty() {
                continue;
            }
            let mut scripts = Vec::new();
            let mut instances = Vec::new();
            let mut vips_kept = Vec::new();
            for v in vips {
                let vip = &plan.vips[v];
                let same_family = |i: &&crate::ir::Interface| {
                    i.vlan == vip.vlan && i.addr.is_ipv4() == vip.addr.is_ipv4()
                };
                let Some(iface) = host.interfaces.iter().find(same_family) else {
                    continue;
                };
                let rank = vip.members.iter().position(|&m| m == h).unwrap_or(0) as u32;
                let peers = vip
                    .members
                    .iter()
                    .filter(|&&m| m != h)
                    .filter_map(|&m| {
                        plan.hosts[m]
                            .interfaces
                            .iter()
                            .find(same_family)
                            .map(|i| i.addr.to_string())
                    })
                    .collect();
                let script = vip.check.as_ref().map(|check| {
                    let name = format!("chk_{}", ident(&vip.name));
                    let command = match check {
                        HealthCheck::Port {
                            proto: Proto::Tcp,
                            port,
                        } => {
                            format!(
                                "/bin/bash -c '</dev/tcp/{}/{}'",
                                iface.addr,
                                port.unwrap_or(0)
                            )
                        }
                        HealthCheck::Port { .. } => format!("/bin/ping -c1 -W1 {}", iface.addr),
                        HealthCheck::Script { command } => super::quoted_ascii(command, 200),
                    };
                    scripts.push(ScriptView {
                        name: name.clone(),
                        command,
                    });
                    name
                });
                let prefix = plan.subnets[vip.subnet].net.prefix_len();
                vips_kept.push(v);
                instances.push(InstanceView {
                    name: ident(&vip.name),
                    comment: super::safe_text(&format!("vip {}", vip.name)),
                    state: if vip.preempt && rank == 0 {
                        "MASTER"
                    } else {
                        "BACKUP"
                    },
                    nopreempt: !vip.preempt,
                    interface: iface.dev.clone(),
                    vrid: vip.vrid,
                    priority: 150u32.saturating_sub(10 * rank).max(1),
                    src: iface.addr.to_string(),
                    peers,
                    vip: format!("{}/{prefix} dev {}", vip.addr, iface.dev),
                    script,
                });
            }
            // VIPs with the same members in the same order move together: one sync group, so
            // that a failover never leaves lb-vip on one host and lb-int-vip on another.
            let mut groups: Vec<GroupView> = Vec::new();
            let mut by_members: Vec<(&Vec<usize>, Vec<String>)> = Vec::new();
            for (&v, inst) in vips_kept.iter().zip(&instances) {
                let members = &plan.vips[v].members;
                match by_members.iter_mut().find(|(m, _)| *m == members) {
                    Some((_, names)) => names.push(inst.name.clone()),
                    None => by_members.push((members, vec![inst.name.clone()])),
                }
            }
            for (_, names) in by_members.into_iter().filter(|(_, n)| n.len() > 1) {
                groups.push(GroupView {
                    name: format!("sync_{}", names[0]),
                    instances: names,
                });
            }
            let view = ConfView {
                header: header(plan, &format!("keepalived of host {}", host.name), "#"),
                router_id: ident(&host.name),
                scripts,
                instances,
                groups,
            };
            files.push(OutputFile {
                path: PathBuf::from(format!("keepalived/{}/keepalived.conf", host.name)),
                contents: view
                    .render()
                    .map(super::with_final_newline)
                    .expect("template renders"),
            });
        }
        files
    }
}
