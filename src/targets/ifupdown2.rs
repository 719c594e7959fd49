//! Linux switches (ifupdown2): `/etc/network/interfaces` with one VLAN-aware bridge `br0`
//! carrying every VLAN of the switch, LACP bonds (`bond-mode 802.3ad`), access ports
//! (`bridge-access`), trunks (`bridge-vids`), jumbo MTU where a carried VLAN asks for it, and
//! SVIs (`vlanN` on `br0`) with the addresses of the router the switch `routes`. The kernel of
//! this project's machines has no VLAN devices, so the files are checked with ifupdown2's own
//! parser (`ifup --syntax-check`), not applied.

use super::switch::{of_platform, view, PortView, SviView, VlanView};
use super::{header, Context, OutputFile};
use crate::check::PlanInfo;
use crate::ir::{Plan, Platform};
use crate::targets::RenderAll;
use askama::Template;
use std::path::PathBuf;

pub struct Ifupdown2;

#[derive(Template)]
#[template(path = "switch/ifupdown2.interfaces")]
struct View {
    header: String,
    vlans: Vec<VlanView>,
    svis: Vec<SviView>,
    ports: Vec<PortView>,
    bonds: Vec<PortView>,
    bridge_ports: String,
    bridge_vids: String,
}

impl RenderAll for Ifupdown2 {
    fn render(&self, plan: &Plan, _info: &PlanInfo, _ctx: &Context) -> Vec<OutputFile> {
        of_platform(plan, Platform::Linux)
            .map(|s| {
                let v = view(plan, s);
                let name = &plan.switches[s].name;
                let members: Vec<&str> = v
                    .bonds
                    .iter()
                    .map(|b| b.name.as_str())
                    .chain(v.ports.iter().map(|p| p.name.as_str()))
                    .collect();
                let contents = View {
                    header: header(plan, &format!("ifupdown2 interfaces of switch {name}"), "#"),
                    bridge_ports: members.join(" "),
                    bridge_vids: v
                        .vlans
                        .iter()
                        .map(|x| x.id.to_string())
                        .collect::<Vec<_>>()
                        .join(" "),
                    vlans: v.vlans,
                    svis: v.svis,
                    ports: v.ports,
                    bonds: v.bonds,
                }
                .render()
                .map(super::with_final_newline)
                .expect("template renders");
                OutputFile {
                    path: PathBuf::from(format!("switches/{name}.interfaces")),
                    contents,
                }
            })
            .collect()
    }
}
