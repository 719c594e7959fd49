//! Arista EOS: VLANs with names, SVIs with the gateway addresses of the router the
//! switch stands for, access and trunk ports, LACP port-channels, jumbo MTU where a carried
//! VLAN asks for it. Paste into configuration mode.

use super::switch::{of_platform, view, PortView, SviView, VlanView};
use super::{header, Context, OutputFile, Target};
use crate::check::PlanInfo;
use crate::ir::{Plan, Platform};
use askama::Template;
use std::path::PathBuf;

pub struct Eos;

#[derive(Template)]
#[template(path = "switch/eos.eos")]
struct View {
    header: String,
    hostname: String,
    vlans: Vec<VlanView>,
    svis: Vec<SviView>,
    ports: Vec<PortView>,
    bonds: Vec<PortView>,
}

impl Target for Eos {
    fn name(&self) -> &'static str {
        "eos"
    }

    fn render(&self, plan: &Plan, _info: &PlanInfo, _ctx: &Context) -> Vec<OutputFile> {
        of_platform(plan, Platform::Eos)
            .map(|s| {
                let v = view(plan, s);
                let name = &plan.switches[s].name;
                let contents = View {
                    header: header(plan, &format!("eos config of switch {name}"), "!"),
                    hostname: v.hostname,
                    vlans: v.vlans,
                    svis: v.svis,
                    ports: v.ports,
                    bonds: v.bonds,
                }
                .render()
                .map(super::with_final_newline)
                .expect("template renders");
                OutputFile {
                    path: PathBuf::from(format!("switches/{name}.eos")),
                    contents,
                }
            })
            .collect()
    }
}
