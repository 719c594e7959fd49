//! Every diagnostic code netc can emit, with what `netc explain` prints for it.
//! Codes are stable: tests, users' scripts and suppression lists rely on them.

use crate::diag::Severity;

#[derive(Debug, Clone, Copy)]
pub struct Code {
    pub code: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
    /// What it does / Why / Example.
    pub doc: &'static str,
}

pub fn find(query: &str) -> Option<&'static Code> {
    let q = query.trim().trim_start_matches("netc::");
    ALL.iter()
        .find(|c| c.code.eq_ignore_ascii_case(q) || c.name == q)
}

/// A code's declaration: `code!(CODE, name, Severity, summary, doc)`, beside the check that
/// emits it (or here when several passes do), re-exported and listed in `ALL` below.
macro_rules! code {
    ($code:literal, $name:literal, $sev:ident, $summary:literal, $doc:literal) => {
        $crate::codes::Code {
            code: $code,
            name: $name,
            severity: $crate::diag::Severity::$sev,
            summary: $summary,
            doc: $doc,
        }
    };
}
pub(crate) use code;

pub const E010: Code = code!("E010", "duplicate-name", Error, "two objects have the same name",
        "What it does: reports a name declared twice. VLANs, tiers, hosts, VIPs, services,\n\
         networks and routers share one namespace; zones and switches have their own
         (a switch may be named after the router it is). Switch names that differ only by
         case collide as file names and are reported too.\n\
         Why: flows refer to objects by name; a name must mean one thing.\n\
         Example:\n    tier catalog on app-catalog\n    service catalog tcp/19120   # rename one of them");

pub const E013: Code = code!(
    "E013",
    "invalid-value",
    Error,
    "a value is out of its range or malformed",
    "What it does: reports values that cannot be right: an MTU outside 576-9216, a subnet\n\
         with host bits set, a host with two interfaces on one VLAN, an address where a range is\n\
         not allowed, a VLAN gateway shorthand that does not fit the subnet.\n\
         Why: generated configs would be rejected by the devices, or would mean something else.\n\
         Example:\n    vlan 30 storage { subnet 10.30.0.5/24 }   # write 10.30.0.0/24"
);

pub const E062: Code =
    code!("E062", "dns-conflict", Error, "DNS records that BIND would refuse or merge",
        "What it does: reports a CNAME beside other data of one name, one name with two different\n\
         addresses of one family from two sources, a record outside every zone of the plan, a\n\
         CNAME whose target is not a name, and a reverse record that would not match its forward.\n\
         Why: BIND silently merges duplicates and refuses CNAMEs beside data; the zone would not\n\
         say what the plan says.\n\
         Example:\n    zone ex.com { record www cname lb  record www a 10.0.0.1 }");

pub const E064: Code = code!("E064", "switch-config", Error, "a switch would refuse its configuration",
        "What it does: reports switch declarations a switch would refuse: aggregate ports not\n\
         named as the platform names them (IOS Port-channelN, EOS Port-ChannelN, Junos aeN,\n\
         Linux bondN), Linux interface names over 15 bytes, VLAN names longer than the\n\
         platform allows (32 on IOS and EOS), a port declared twice, a host interface that does\n\
         not exist, a NIC cabled twice, two switches routing one router, and with `model`,\n\
         ports the model does not have and MTUs above what it takes.\n\
         Why: the generated config would fail to load, or configure another port.\n\
         Example:\n    switch tor1 eos { bond Po11 members Ethernet1, Ethernet2 vlan app }   # Port-Channel11");

pub const E091: Code = code!("E091", "no-route", Error, "a router or host cannot be placed on the network",
        "What it does: reports routers without an address on a VLAN they declare (no address and\n\
         no gateway to take), and hosts without any interface.\n\
         Why: netc could not compute paths or generate their configs.\n\
         Example:\n    router core { app-lb }   # app-lb declares no gateway: write `app-lb 10.20.1.1`");

// Codes declared beside the one check (or pass) that emits them.
pub use crate::check::acknowledged::W088;
pub use crate::check::blind_health_check::W090;
pub use crate::check::closed_vlan::W091;
pub use crate::check::deny_removes_nothing::W087;
pub use crate::check::dns::E060;
pub use crate::check::dns::W061;
pub use crate::check::dns_views::E065;
pub use crate::check::duplicate_address::E033;
pub use crate::check::duplicate_vlan_id::E021;
pub use crate::check::duplicate_vrid::E041;
pub use crate::check::egress::E097;
pub use crate::check::empty_endpoint::E050;
pub use crate::check::management_lockout::E090;
pub use crate::check::name_servers::W089;
pub use crate::check::nat::{E094, W092};
pub use crate::check::network_or_broadcast::E032;
pub use crate::check::outside_pool::E034;
pub use crate::check::overbroad_rule::W082;
pub use crate::check::overlapping_subnets::E030;
pub use crate::check::overlapping_vrfs_on_host::E035;
pub use crate::check::redundant_rule::W081;
pub use crate::check::reverse_zones::E063;
pub use crate::check::shadowed_rule::W080;
pub use crate::check::unreachable_access::W084;
pub use crate::check::unreachable_access::W085;
pub use crate::check::unused::W070;
pub use crate::check::vip_contradiction::W083;
pub use crate::check::vip_members::E042;
pub use crate::check::vlan_id::E020;
pub use crate::check::vlan_island::W086;
pub use crate::check::vrid_range::E040;
pub use crate::resolve::addresses::E031;
pub use crate::resolve::addresses::E036;
pub use crate::resolve::addresses::E092;
pub use crate::resolve::devices::{E093, E095, E096};
pub use crate::resolve::rules::E014;
pub use crate::resolve::E011;
pub use crate::resolve::E012;
pub use crate::syntax::load::E002;
pub use crate::syntax::load::E003;
pub use crate::syntax::load::E004;
pub use crate::syntax::parser::E001;

/// Every code, in the order `netc explain` lists them.
pub const ALL: &[Code] = &[
    E001, E002, E003, E004, E010, E011, E012, E013, E014, E020, E021, E030, E031, E032, E033, E035,
    E034, E036, E040, E041, E042, E050, E060, W061, E062, E063, E065, W089, E064, W070, W080, W081,
    W082, W083, W084, W085, W086, W087, W088, W090, W091, E090, E091, E092, E093, E094, E095, E096,
    W092, E097,
];
