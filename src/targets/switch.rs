//! What every switch target needs, shaped once: the VLANs a switch carries, its SVIs (when it
//! `routes` a router of the plan), its ports and LACP port-channels. Each platform module only
//! lays this out in its own syntax.

use crate::ir::{Plan, Platform};
use std::collections::BTreeSet;

pub struct VlanView {
    pub id: u32,
    pub name: String,
    pub mtu: Option<u32>,
}

pub struct SviView {
    pub id: u32,
    pub name: String,
    /// `10.20.10.1/24`
    pub cidrs: Vec<String>,
    /// `10.20.10.1 255.255.255.0` (IPv4 only)
    pub masks: Vec<String>,
    pub v6: Vec<String>,
    pub mtu: Option<u32>,
}

pub struct PortView {
    pub name: String,
    pub description: String,
    pub members: Vec<String>,
    /// The number of an aggregate (`Port-channel11` -> 11).
    pub number: String,
    pub trunk: bool,
    pub access: u32,
    pub access_name: String,
    /// `20-28,30`
    pub allowed: String,
    pub vlan_names: Vec<String>,
    pub vlan_ids: Vec<u32>,
    pub jumbo: bool,
}

pub struct SwitchView {
    pub hostname: String,
    /// Junos needs the number of aggregate devices: one more than the highest aeN.
    pub aggregate_count: u32,
    pub vlans: Vec<VlanView>,
    pub svis: Vec<SviView>,
    pub ports: Vec<PortView>,
    pub bonds: Vec<PortView>,
    /// `model NAME`, for the header.
    pub model: Option<&'static str>,
    /// IOS models that also speak ISL: trunks say `switchport trunk encapsulation dot1q`.
    pub trunk_encapsulation: bool,
    /// Models whose jumbo frames are one global `system mtu jumbo N` (no interface `mtu`):
    /// N when a port carries a jumbo VLAN.
    pub system_jumbo: Option<u32>,
}

/// `20,21,22,23,30` -> `20-23,30`
pub fn id_ranges(ids: &[u32]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < ids.len() {
        let mut j = i;
        while j + 1 < ids.len() && ids[j + 1] == ids[j] + 1 {
            j += 1;
        }
        out.push(if i == j {
            ids[i].to_string()
        } else {
            format!("{}-{}", ids[i], ids[j])
        });
        i = j + 1;
    }
    out.join(",")
}

pub fn view(plan: &Plan, sw: usize) -> SwitchView {
    let s = &plan.switches[sw];
    let mut carried: BTreeSet<(u32, usize)> = BTreeSet::new();
    let mut svis = Vec::new();
    if let Some(r) = s.routes {
        let mut by_vlan: Vec<(usize, Vec<std::net::IpAddr>)> = Vec::new();
        for i in &plan.routers[r].interfaces {
            match by_vlan.iter_mut().find(|(v, _)| *v == i.vlan) {
                Some((_, a)) => a.push(i.addr),
                None => by_vlan.push((i.vlan, vec![i.addr])),
            }
        }
        for (v, addrs) in by_vlan {
            let vlan = &plan.vlans[v];
            carried.insert((vlan.id, v));
            let prefix = |a: &std::net::IpAddr| {
                plan.subnet_in_vlans(*a, &[v])
                    .map_or(32, |n| plan.subnets[n].net.prefix_len())
            };
            svis.push(SviView {
                id: vlan.id,
                name: vlan.name.clone(),
                cidrs: addrs
                    .iter()
                    .filter(|a| a.is_ipv4())
                    .map(|a| format!("{a}/{}", prefix(a)))
                    .collect(),
                masks: addrs
                    .iter()
                    .filter(|a| a.is_ipv4())
                    .map(|a| {
                        format!(
                            "{a} {}",
                            ipnet::Ipv4Net::new(std::net::Ipv4Addr::UNSPECIFIED, prefix(a))
                                .map(|n| n.netmask().to_string())
                                .unwrap_or_default()
                        )
                    })
                    .collect(),
                v6: addrs
                    .iter()
                    .filter(|a| a.is_ipv6())
                    .map(|a| format!("{a}/{}", prefix(a)))
                    .collect(),
                mtu: vlan.mtu.filter(|m| *m != 1500),
            });
        }
        svis.sort_by_key(|v| v.id);
    }
    let agg = s.platform.aggregate_prefix();
    let mut ports = Vec::new();
    let mut bonds = Vec::new();
    for p in &s.ports {
        let vlan_ids: Vec<u32> = p.vlans.iter().map(|&v| plan.vlans[v].id).collect();
        for &v in &p.vlans {
            carried.insert((plan.vlans[v].id, v));
        }
        let view = PortView {
            name: p.name.clone(),
            description: p.description.clone(),
            members: p.members.clone(),
            number: p.name.strip_prefix(agg).unwrap_or("").to_string(),
            trunk: p.trunk,
            access: vlan_ids[0],
            access_name: plan.vlans[p.vlans[0]].name.clone(),
            allowed: id_ranges(&vlan_ids),
            vlan_names: p
                .vlans
                .iter()
                .map(|&v| plan.vlans[v].name.clone())
                .collect(),
            vlan_ids,
            jumbo: p
                .vlans
                .iter()
                .any(|&v| plan.vlans[v].mtu.is_some_and(|m| m > 1500)),
        };
        if p.members.is_empty() {
            ports.push(view);
        } else {
            bonds.push(view);
        }
    }
    SwitchView {
        aggregate_count: bonds
            .iter()
            .filter_map(|b| b.number.parse::<u32>().ok())
            .max()
            .map_or(0, |n| n + 1),
        hostname: s.name.clone(),
        vlans: carried
            .into_iter()
            .map(|(id, v)| VlanView {
                id,
                name: plan.vlans[v].name.clone(),
                mtu: plan.vlans[v].mtu,
            })
            .collect(),
        model: s.model.map(|m| m.name),
        trunk_encapsulation: s.model.is_some_and(|m| m.trunk_encapsulation),
        system_jumbo: s
            .model
            .and_then(|m| m.system_jumbo)
            .filter(|_| ports.iter().chain(&bonds).any(|p| p.jumbo)),
        svis,
        ports,
        bonds,
    }
}

/// Switches of one platform.
pub fn of_platform(plan: &Plan, platform: Platform) -> impl Iterator<Item = usize> + '_ {
    (0..plan.switches.len()).filter(move |&s| plan.switches[s].platform == platform)
}

/// One switch back end: a unit struct, its template view and its `Target` impl. The IOS, EOS
/// and Junos back ends differ only in template, platform and comment syntax.
macro_rules! switch_target {
    ($ty:ident, $name:literal, $platform:expr, $template:literal, $comment:literal) => {
        pub struct $ty;

        #[derive(askama::Template)]
        #[template(path = $template)]
        struct View {
            header: String,
            hostname: String,
            #[allow(dead_code)] // Junos only
            aggregate_count: u32,
            vlans: Vec<$crate::targets::switch::VlanView>,
            svis: Vec<$crate::targets::switch::SviView>,
            #[allow(dead_code)] // IOS only: `ipv6 unicast-routing`
            routes_v6: bool,
            ports: Vec<$crate::targets::switch::PortView>,
            bonds: Vec<$crate::targets::switch::PortView>,
            #[allow(dead_code)] // IOS only
            trunk_encapsulation: bool,
            #[allow(dead_code)] // IOS only
            system_jumbo: Option<u32>,
        }

        impl $crate::targets::RenderAll for $ty {
            fn render(
                &self,
                plan: &$crate::ir::Plan,
                _info: &$crate::check::PlanInfo,
                _ctx: &$crate::targets::Context,
            ) -> Vec<$crate::targets::OutputFile> {
                use askama::Template;
                $crate::targets::switch::of_platform(plan, $platform)
                    .map(|s| {
                        let v = $crate::targets::switch::view(plan, s);
                        let name = &plan.switches[s].name;
                        let contents = View {
                            header: $crate::targets::header(
                                plan,
                                &match v.model {
                                    Some(m) => format!("{} config of switch {name}, a {m}", $name),
                                    None => format!("{} config of switch {name}", $name),
                                },
                                $comment,
                            ),
                            trunk_encapsulation: v.trunk_encapsulation,
                            system_jumbo: v.system_jumbo,
                            hostname: v.hostname,
                            aggregate_count: v.aggregate_count,
                            vlans: v.vlans,
                            routes_v6: v.svis.iter().any(|s| !s.v6.is_empty()),
                            svis: v.svis,
                            ports: v.ports,
                            bonds: v.bonds,
                        }
                        .render()
                        .map($crate::targets::with_final_newline)
                        .expect("template renders");
                        $crate::targets::OutputFile {
                            path: std::path::PathBuf::from(format!("switches/{name}.{}", $name)),
                            contents,
                        }
                    })
                    .collect()
            }
        }
    };
}
pub(crate) use switch_target;
