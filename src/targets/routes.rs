//! Host routes: for each host with an interface, the routes its kernel needs beyond its
//! connected subnets, as an `ip -batch` file (`routes/HOST.ip`): the default route of each
//! family (the tier's first VLAN of that family, or the plan's `route default`) and every
//! `route` of the host and its tier, each through the next hop of the interface's subnet.
//! These are the routes every answer of netc follows (`reach::route_of`); the packet labs load
//! these very files. `ip -batch` runs each line as an `ip` command; `replace` makes loading
//! the file twice harmless.

use super::{header, Context, OutputFile};
use crate::check::PlanInfo;
use crate::ir::Plan;
use crate::targets::RenderAll;
use std::fmt::Write;
use std::path::PathBuf;

pub struct Routes;

impl RenderAll for Routes {
    fn render(&self, plan: &Plan, _info: &PlanInfo, _ctx: &Context) -> Vec<OutputFile> {
        let mut files = Vec::new();
        for host in &plan.hosts {
            if host.interfaces.is_empty() {
                continue;
            }
            let tier = &plan.tiers[host.tier];
            let mut out = header(plan, &format!("routes of host {}", host.name), "#");
            out.push_str(&format!(
                "# Load with: ip -batch routes/{}.ip (connected subnets come with the addresses).\n",
                host.name
            ));
            let routes: Vec<&crate::ir::Route> = host.routes.iter().chain(&tier.routes).collect();
            let mut lines: Vec<String> = Vec::new();
            for v4 in [true, false] {
                let mut ifaces = host.interfaces.iter().filter(|i| i.addr.is_ipv4() == v4);
                let Some(first) = ifaces.next() else {
                    continue;
                };
                // The default route: an explicit one, else through the first interface.
                let explicit = routes
                    .iter()
                    .any(|r| r.net.addr().is_ipv4() == v4 && r.net.prefix_len() == 0);
                if !explicit {
                    if let Some(gw) = plan.next_hop(first.subnet) {
                        lines.push(format!(
                            "route replace {} via {gw} dev {}",
                            if v4 { "0.0.0.0/0" } else { "::/0" },
                            first.dev
                        ));
                    }
                }
                let mut seen: Vec<ipnet::IpNet> = Vec::new();
                for r in routes.iter().filter(|r| r.net.addr().is_ipv4() == v4) {
                    // The first route of a prefix wins (the host's own before its tier's).
                    if seen.contains(&r.net) {
                        continue;
                    }
                    let Some(i) = host
                        .interfaces
                        .iter()
                        .find(|i| i.vlan == r.vlan && i.addr.is_ipv4() == v4)
                    else {
                        continue;
                    };
                    seen.push(r.net);
                    let gw = plan.next_hop(i.subnet).unwrap_or(r.gateway);
                    lines.push(format!("route replace {} via {gw} dev {}", r.net, i.dev));
                }
            }
            for l in lines {
                let _ = writeln!(out, "{l}");
            }
            files.push(OutputFile {
                path: PathBuf::from(format!("routes/{}.ip", host.name)),
                contents: out,
            });
        }
        files
    }
}
