//! Host routes: for each host with an interface, the routes its kernel needs beyond its
//! connected subnets, as an `ip -batch` file (`routes/HOST.ip`): the default route of each
//! family (the tier's first VLAN of that family, or the plan's `route default`) and every
//! `route` of the host and its tier, each through the next hop of the interface's subnet.
//! These are the routes every answer of netc follows (`reach::route_of`); the packet labs load
//! these very files. Routers get `routes/ROUTER.ip` too: every subnet they are not on and the
//! way to the internet, through the next router (`reach::router_route_table`); a router's own
//! upstream gateway is the provider's, which the plan does not name. `ip -batch` runs each line as an `ip` command; `replace` makes loading
//! the file twice harmless. The same routes go into `routes/NAME.netplan.yaml`, a netplan file
//! that merges with the host's own (for hosts configured by netplan), and into
//! `routes/NAME.nm-dispatcher.sh`, a NetworkManager dispatcher script that adds each
//! interface's routes when it comes up (for hosts configured by NetworkManager).

use super::{header, Context, OutputFile};
use crate::check::PlanInfo;
use crate::ir::Plan;
use crate::targets::RenderAll;
use askama::Template;
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
            files.extend(route_files(
                plan,
                &router.name,
                &format!("routes of router {}", router.name),
                table
                    .into_iter()
                    .map(|(n, v, d)| (n, v, d.to_string()))
                    .collect(),
            ));
        }
        for (h, host) in plan.hosts.iter().enumerate() {
            if host.interfaces.is_empty() {
                continue;
            }
            // The table `reach::route_of` follows; a route with no next hop (a subnet with
            // neither gateway nor router) leads nowhere and is not written.
            let table = crate::reach::route_table(plan, h)
                .into_iter()
                .filter_map(|(net, c)| c.via.map(|gw| (net, gw, c.iface.dev.clone())))
                .collect();
            files.extend(route_files(
                plan,
                &host.name,
                &format!("routes of host {}", host.name),
                table,
            ));
        }
        files
    }
}

/// netplan's section for a device: `bonds` for bondN, `bridges` for brN, `vlans` for NAME.ID,
/// `ethernets` for anything else (netplan refuses a device declared under two kinds).
fn netplan_kind(dev: &str) -> &'static str {
    let numbered = |p: &str| {
        dev.strip_prefix(p)
            .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit() || c == '-'))
    };
    if dev.contains('.') {
        "vlans"
    } else if numbered("bond") {
        "bonds"
    } else if numbered("br") {
        "bridges"
    } else {
        "ethernets"
    }
}

type DeviceRoutes = Vec<(String, Vec<(String, String)>)>;

#[derive(Template)]
#[template(path = "routes/netplan.yaml")]
struct NetplanView<'a> {
    header: String,
    name: &'a str,
    /// (netplan section, [(device, [(prefix, gateway)])]), sections and devices in order.
    kinds: Vec<(&'static str, DeviceRoutes)>,
}

#[derive(Template)]
#[template(path = "routes/nm-dispatcher.sh")]
struct DispatcherView<'a> {
    header: String,
    name: &'a str,
    devs: DeviceRoutes,
}

/// The routes of `table` (prefix, next hop, device) in every form: `routes/NAME.ip` for
/// `ip -batch`, and the forms a host's network configuration takes,
/// `routes/NAME.netplan.yaml` and `routes/NAME.nm-dispatcher.sh`, by device.
fn route_files(
    plan: &Plan,
    name: &str,
    what: &str,
    table: Vec<(ipnet::IpNet, std::net::IpAddr, String)>,
) -> [OutputFile; 3] {
    let mut ip = header(plan, what, "#");
    ip.push_str(&format!(
        "# Load with: ip -batch routes/{name}.ip (connected subnets come with the addresses).\n"
    ));
    for (net, via, dev) in &table {
        let _ = writeln!(ip, "route replace {net} via {via} dev {dev}");
    }
    let mut by_dev: std::collections::BTreeMap<String, Vec<(String, String)>> =
        std::collections::BTreeMap::new();
    for (net, via, dev) in table {
        by_dev
            .entry(dev)
            .or_default()
            .push((net.to_string(), via.to_string()));
    }
    let kinds = ["ethernets", "bonds", "bridges", "vlans"]
        .into_iter()
        .map(|k| {
            (
                k,
                by_dev
                    .iter()
                    .filter(|(d, _)| netplan_kind(d) == k)
                    .map(|(d, r)| (d.clone(), r.clone()))
                    .collect::<DeviceRoutes>(),
            )
        })
        .filter(|(_, devs)| !devs.is_empty())
        .collect();
    let file = |path: String, contents: Result<String, askama::Error>| OutputFile {
        path: PathBuf::from(path),
        contents: contents
            .map(super::with_final_newline)
            .expect("template renders"),
    };
    [
        OutputFile {
            path: PathBuf::from(format!("routes/{name}.ip")),
            contents: ip,
        },
        file(
            format!("routes/{name}.netplan.yaml"),
            NetplanView {
                header: header(plan, what, "#"),
                name,
                kinds,
            }
            .render(),
        ),
        file(
            format!("routes/{name}.nm-dispatcher.sh"),
            DispatcherView {
                header: header(plan, what, "#"),
                name,
                devs: by_dev.into_iter().collect(),
            }
            .render(),
        ),
    ]
}
