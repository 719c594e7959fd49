//! Cisco IOS / IOS-XE: VLANs with names, SVIs with the gateway addresses of the router the
//! switch stands for, access and trunk ports, LACP port-channels, jumbo MTU where a carried
//! VLAN asks for it. Paste into configuration mode.

use super::switch::switch_target;

switch_target!(Ios, "ios", crate::ir::Platform::Ios, "switch/ios.ios", "!");
