//! The tier by tier table of permitted services, and the listings built on it.

use crate::check::PlanInfo;
use crate::ir::{EndpointRef, Plan};
use crate::reach::{self, PairOutcome};
use crate::space::{self, all_services, HBox, Set};
use serde::Serialize;

/// A row or column of the matrix: every tier with hosts, every network, and the internet.
pub fn endpoints(plan: &Plan) -> Vec<(String, EndpointRef)> {
    let mut out: Vec<(String, EndpointRef)> = plan
        .tiers
        .iter()
        .enumerate()
        .filter(|(_, t)| !t.hosts.is_empty())
        .map(|(i, t)| (t.name.clone(), EndpointRef::Tier(i)))
        .collect();
    out.extend(
        plan.networks
            .iter()
            .enumerate()
            .map(|(i, n)| (n.name.clone(), EndpointRef::Network(i))),
    );
    out.push(("internet".into(), EndpointRef::Internet));
    out
}

#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub src: String,
    pub dst: String,
    pub services: String,
    /// Some source/destination pairs of the cell lack some of these services.
    pub partial: bool,
    /// Some of it crosses no firewall netc manages (same subnet, unmanaged destination).
    pub unfiltered: bool,
    #[serde(skip)]
    pub permitted: Vec<(HBox, Option<usize>)>,
    #[serde(skip)]
    pub service_set: Set,
}

pub fn cell(
    plan: &Plan,
    info: &PlanInfo,
    src: &(String, EndpointRef),
    dst: &(String, EndpointRef),
    svc: &Set,
) -> Cell {
    let src_units = reach::src_units(plan, &src.1, &src.0);
    let dst_units = reach::dst_units(plan, &dst.1, &dst.0);
    let outcomes: Vec<PairOutcome> = reach::evaluate(
        plan,
        &info.policy,
        &info.topology,
        &src_units,
        &dst_units,
        svc,
    );
    let mut permitted = Vec::new();
    let mut services = Set::empty();
    for o in &outcomes {
        if o.path.is_none() {
            continue;
        }
        for (b, rule) in o.permitted() {
            services = services.union(&b.svc);
            permitted.push((b.clone(), rule));
        }
    }
    let partial = !services.is_empty()
        && outcomes
            .iter()
            .filter(|o| o.path.is_some())
            .any(|o| !services.is_subset(&o.permitted_services()));
    let unfiltered = permitted.iter().any(|(_, rule)| rule.is_none());
    Cell {
        src: src.0.clone(),
        dst: dst.0.clone(),
        services: space::service_text(&services),
        partial,
        unfiltered,
        permitted,
        service_set: services,
    }
}

/// Every cell with something permitted, rows then columns in plan order.
pub fn matrix(plan: &Plan, info: &PlanInfo) -> Vec<Cell> {
    let eps = endpoints(plan);
    let mut cells = Vec::new();
    for s in &eps {
        for d in &eps {
            let c = cell(plan, info, s, d, &all_services());
            if !c.service_set.is_empty() {
                cells.push(c);
            }
        }
    }
    cells
}

pub fn text(cells: &[Cell]) -> String {
    let width = cells
        .iter()
        .map(|c| c.src.len() + c.dst.len() + 4)
        .max()
        .unwrap_or(0);
    let mut s = String::new();
    for c in cells {
        let head = format!("{} -> {}", c.src, c.dst);
        let partly = if c.partial { "  (partly)" } else { "" };
        let open = if c.unfiltered {
            "  (no firewall on the path)"
        } else {
            ""
        };
        s.push_str(&format!("{head:<width$}  {}{partly}{open}\n", c.services));
    }
    s
}

pub fn csv(cells: &[Cell]) -> String {
    let quote = |x: &str| format!("\"{}\"", x.replace('"', "\"\""));
    let mut s = String::from("source,destination,services,partial,unfiltered\n");
    for c in cells {
        s.push_str(&format!(
            "{},{},{},{},{}\n",
            quote(&c.src),
            quote(&c.dst),
            quote(&c.services),
            c.partial,
            c.unfiltered
        ));
    }
    s
}
