//! Host routes: for each host with an interface, the routes its kernel needs beyond its
//! connected subnets, as an `ip -batch` file (`routes/HOST.ip`): the default route of each
//! family (the tier's first VLAN of that family, or the plan's `route default`) and every
//! `route` of the host and its tier, each through the next hop of the interface's subnet.
//! These are the routes every answer of netc follows (`reach::route_of`); the packet labs load
//! these very files. Routers get `routes/ROUTER.ip` too: every subnet they are not on and the
//! way to the internet, through the next router (`reach::router_route_table`); a router's own
//! upstream gateway is the provider's, which the plan does not name. `ip -batch` runs each line as an `ip` command; `replace` makes loading
//! the file twice harmless.

use super::{header, Context, OutputFile};
use crate::check::PlanInfo;
use crate::ir::Plan;
use crate::targets::RenderAll;
use std::fmt::Write;
use std::path::PathBuf;

pub struct Routes;

impl RenderAll for Routes {
    fn render(&self, plan: &Plan, info: &PlanInfo, _ctx: &Context) -> Vec<OutputFile> {
        let mut files = Vec::new();
        for (r, router) in plan.routers.iter().enumerate() {
            let table = crate::reach::router_route_table(plan, &info.topology, r);
            if table.is_empty() {
                continue;
            }
            let mut out = header(plan, &format!("routes of router {}", router.name), "#");
            out.push_str(&format!(
                "# Load with: ip -batch routes/{}.ip (connected subnets come with the addresses).\n",
                router.name
            ));
            for (net, via, dev) in table {
                let _ = writeln!(out, "route replace {net} via {via} dev {dev}");
            }
            files.push(OutputFile {
                path: PathBuf::from(format!("routes/{}.ip", router.name)),
                contents: out,
            });
        }
        for (h, host) in plan.hosts.iter().enumerate() {
            if host.interfaces.is_empty() {
                continue;
            }
            let mut out = header(plan, &format!("routes of host {}", host.name), "#");
            out.push_str(&format!(
                "# Load with: ip -batch routes/{}.ip (connected subnets come with the addresses).\n",
                host.name
            ));
            // The table `reach::route_of` follows; a route with no next hop (a subnet with
            // neither gateway nor router) leads nowhere and is not written.
            for (net, c) in crate::reach::route_table(plan, h) {
                if let Some(gw) = c.via {
                    let _ = writeln!(out, "route replace {net} via {gw} dev {}", c.iface.dev);
                }
            }
            files.push(OutputFile {
                path: PathBuf::from(format!("routes/{}.ip", host.name)),
                contents: out,
            });
        }
        files
    }
}
