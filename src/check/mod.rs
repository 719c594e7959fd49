//! Checks of the resolved model, one file per check (named after what it flags). Each check
//! reads the plan and pushes diagnostics; none stops the others. `run` returns a [`PlanInfo`]
//! only when the plan has no errors: queries and targets need one, so an unchecked plan cannot
//! reach them.

pub mod acknowledged;
pub(crate) mod blind_health_check;
pub(crate) mod closed_vlan;
pub(crate) mod deny_removes_nothing;
pub(crate) mod dns;
pub(crate) mod dns_conflicts;
pub mod dns_views;
pub(crate) mod duplicate_address;
pub(crate) mod duplicate_vlan_id;
pub(crate) mod duplicate_vrid;
pub(crate) mod egress;
pub(crate) mod empty_endpoint;
pub(crate) mod host_without_interface;
pub(crate) mod management_lockout;
pub(crate) mod mtu_range;
pub mod name_servers;
pub(crate) mod nat;
pub(crate) mod network_or_broadcast;
pub(crate) mod outside_pool;
pub(crate) mod overbroad_rule;
pub(crate) mod overlapping_subnets;
pub(crate) mod overlapping_vrfs_on_host;
pub(crate) mod redundant_rule;
pub(crate) mod reverse_zones;
pub(crate) mod shadowed_rule;
pub mod switch_config;
pub(crate) mod switch_model;
pub(crate) mod switch_ports;
pub(crate) mod unreachable_access;
pub(crate) mod unused;
pub mod vip_contradiction;
pub(crate) mod vip_members;
pub(crate) mod vlan_id;
pub(crate) mod vlan_island;
pub(crate) mod vrid_range;

pub use dns::DnsRecord;

use crate::diag::Diagnostic;
use crate::ir::Plan;
use crate::policy::Policy;
use crate::topology::Topology;

/// What checking a plan proved and computed, handed to queries and targets.
/// Only `check::run` makes one (non-exhaustive: no struct literal outside this crate).
#[derive(Debug)]
#[non_exhaustive]
pub struct PlanInfo {
    pub policy: Policy,
    pub topology: Topology,
    /// Every DNS record of the plan (explicit and derived), placed in its zone.
    pub dns: Vec<DnsRecord>,
}

/// Run every check. `prior_errors` says whether earlier stages already found errors (then no
/// `PlanInfo` is returned, but the checks still run so that one run shows every problem).
pub fn run(plan: &Plan, prior_errors: bool) -> (Option<PlanInfo>, Vec<Diagnostic>) {
    // On two threads: the policy, and later the reachability analysis (the two costly
    // steps), beside the other checks. Diagnostics keep one order whatever the timing.
    fn join<T>(h: std::thread::ScopedJoinHandle<'_, T>) -> T {
        h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))
    }
    let (policy, topology, mut diags, dns, mut later) = std::thread::scope(|scope| {
        let policy = scope.spawn(|| Policy::new(plan));
        let mut diags = Vec::new();
        let topology = Topology::new(plan);
        vlan_id::check(plan, &mut diags);
        mtu_range::check(plan, &mut diags);
        duplicate_vlan_id::check(plan, &mut diags);
        host_without_interface::check(plan, &mut diags);
        vrid_range::check(plan, &mut diags);
        vip_members::check(plan, &mut diags);
        overlapping_subnets::check(plan, &mut diags);
        network_or_broadcast::check(plan, &mut diags);
        duplicate_address::check(plan, &mut diags);
        overlapping_vrfs_on_host::check(plan, &mut diags);
        outside_pool::check(plan, &mut diags);
        duplicate_vrid::check(plan, &mut diags);
        empty_endpoint::check(plan, &mut diags);
        let dns = dns::check(plan, &mut diags);
        blind_health_check::check(plan, &mut diags);
        // An object a broken statement would have used is not unused: report unused objects
        // only of plans without errors (no cascade of W070 after an error).
        let clean = !prior_errors && !diags.iter().any(|d| d.is_error());
        if clean {
            unused::check(plan, &mut diags);
        }
        let mut later = Vec::new();
        overbroad_rule::check(plan, &mut later);
        closed_vlan::check(plan, &mut later);
        egress::check(plan, &mut later);
        switch_ports::check(plan, &mut later);
        switch_config::check(plan, &mut later);
        switch_model::check(plan, &mut later);
        // A port already in error (cabled twice, used twice) would make W086 a cascade.
        if clean && !later.iter().any(|d: &Diagnostic| d.is_error()) {
            vlan_island::check(plan, &mut later);
        }
        (join(policy), topology, diags, dns, later)
    });
    let mut unreachable = std::thread::scope(|scope| {
        let unreachable = scope.spawn(|| {
            let mut d = Vec::new();
            unreachable_access::check(plan, &policy, &topology, &mut d);
            d
        });
        shadowed_rule::check(plan, &policy, &mut diags);
        let useless = deny_removes_nothing::removes_nothing(&policy);
        redundant_rule::check(plan, &policy, &useless, &mut diags);
        deny_removes_nothing::check(plan, &useless, &mut diags);
        diags.append(&mut later);
        vip_contradiction::check(plan, &policy, &topology, &mut diags);
        management_lockout::check(plan, &policy, &topology, &mut diags);
        nat::check(plan, &topology, &mut diags);
        join(unreachable)
    });
    diags.append(&mut unreachable);
    let errors = prior_errors || diags.iter().any(|d| d.is_error());
    let info = (!errors).then_some(PlanInfo {
        policy,
        topology,
        dns,
    });
    (info, diags)
}

/// `a, b and c`, for messages.
pub(crate) fn list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}
