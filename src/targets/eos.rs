//! Arista EOS: VLANs with names, SVIs with the gateway addresses of the router the switch
//! stands for (and `ip routing`), access and trunk ports, LACP port-channels, jumbo MTU where a
//! carried VLAN asks for it. Paste into configuration mode.

use super::switch::switch_target;

switch_target!(Eos, "eos", crate::ir::Platform::Eos, "switch/eos.eos", "!");
