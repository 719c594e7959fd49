//! Juniper Junos, set style: VLANs with ids, IRB interfaces with the gateway addresses of the
//! router the switch stands for, access and trunk ports, LACP aggregated Ethernet, jumbo MTU
//! where a carried VLAN asks for it. Load with `load set terminal`.

use super::switch::switch_target;

switch_target!(
    Junos,
    "junos",
    crate::ir::Platform::Junos,
    "switch/junos.junos",
    "#"
);
