//! Juniper Junos (set style): VLANs with names, SVIs with the gateway addresses of the router the
//! switch stands for, access and trunk ports, LACP port-channels, jumbo MTU where a carried
//! VLAN asks for it. Paste into configuration mode (`load set terminal`).

use super::switch::{of_platform, view, PortView, SviView, VlanView};
use super::{header, Context, OutputFile, Target};
use crate::check::PlanInfo;
use crate::ir::{Plan, Platform};
use askama::Template;
use std::path::PathBuf;

pub struct Junos;

#[derive(Template)]
#[template(path = "switch/junos.junos")]
struct View {
    header: String,
    hostname: String,
    aggregate_count: u32,
    vlans: Vec<VlanView>,
    svis: Vec<SviView>,
    ports: Vec<PortView>,
    bonds: Vec<PortView>,
}

impl Target for Junos {
    fn name(&self) -> &'static str {
        "junos"
    }

    fn render(&self, plan: &Plan, _info: &PlanInfo, _ctx: &Context) -> Vec<OutputFile> {
        of_platform(plan, Platform::Junos)
            .map(|s| {
                let v = view(plan, s);
                let name = &plan.switches[s].name;
                let contents = View {
                    header: header(plan, &format!("junos config of switch {name}"), "#"),
                    hostname: v.hostname,
                    aggregate_count: v.aggregate_count,
                    vlans: v.vlans,
                    svis: v.svis,
                    ports: v.ports,
                    bonds: v.bonds,
                }
                .render()
                .map(super::with_final_newline)
                .expect("template renders");
                OutputFile {
                    path: PathBuf::from(format!("switches/{name}.junos")),
                    contents,
                }
            })
            .collect()
    }
}
