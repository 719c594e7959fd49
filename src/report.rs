//! Pictures of a checked plan: the topology as Graphviz DOT (rendered to SVG by `dot`), and
//! one self-contained HTML report (no network access when opened).

use crate::check::PlanInfo;
use crate::diag::{Diagnostic, Sources};
use crate::ir::Plan;
use crate::query::matrix::{self, Cell};
use crate::space;
use askama::Template;
use std::collections::BTreeMap;
use std::fmt::Write;

/// DOT text: a quoted ID, escaped.
fn q(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The plan as a graph: tiers grouped by their first VLAN, routers and outside networks as
/// nodes, permitted flows as edges (parallel flows merged, labelled with their services).
pub fn dot(plan: &Plan, cells: &[Cell]) -> String {
    let mut s = String::from("digraph netc {\n  graph [rankdir=LR, fontname=\"Helvetica\", splines=true, nodesep=0.35, ranksep=1.6, concentrate=true];\n  node [fontname=\"Helvetica\", fontsize=11, shape=box, style=\"rounded,filled\", fillcolor=\"#eef3fb\", color=\"#4a6fa5\"];\n  edge [fontname=\"Helvetica\", fontsize=9, color=\"#6b7c93\"];\n");
    let mut by_vlan: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (t, tier) in plan
        .tiers
        .iter()
        .enumerate()
        .filter(|(_, t)| !t.hosts.is_empty())
    {
        by_vlan
            .entry(tier.vlans.first().map_or(usize::MAX, |v| v.vlan))
            .or_default()
            .push(t);
    }
    for (v, tiers) in &by_vlan {
        let label = plan.vlans.get(*v).map_or_else(
            || "no VLAN".to_string(),
            |vl| {
                let nets: Vec<String> = vl
                    .subnets
                    .iter()
                    .map(|&s| plan.subnets[s].net.to_string())
                    .collect();
                format!("VLAN {} {} {}", vl.id, vl.name, nets.join(" "))
            },
        );
        let _ = writeln!(s, "  subgraph {} {{\n    label={};\n    style=\"rounded\"; color=\"#b8c4d6\"; fontsize=10;", q(&format!("cluster_{v}")), q(&label));
        for &t in tiers {
            let tier = &plan.tiers[t];
            let _ = writeln!(
                s,
                "    {} [label={}];",
                q(&format!("tier:{}", tier.name)),
                q(&format!("{}\n{} hosts", tier.name, tier.hosts.len()))
            );
        }
        s.push_str("  }\n");
    }
    for r in &plan.routers {
        let _ = writeln!(
            s,
            "  {} [label={}, shape=hexagon, fillcolor=\"#fff4de\", color=\"#c98a1c\"];",
            q(&format!("router:{}", r.name)),
            q(&format!("router {}", r.name))
        );
        // The router joins the VLANs it has interfaces on: one undirected grey link to each.
        let mut joined: Vec<usize> = r.interfaces.iter().map(|i| i.vlan).collect();
        joined.dedup();
        for v in joined {
            if let Some(&t) = by_vlan.get(&v).and_then(|ts| ts.first()) {
                let _ = writeln!(
                    s,
                    // No `lhead` to the cluster: Debian's Graphviz 2.43 aborts on compound
                    // edges (makeCompoundEdge assertion); the link goes to the VLAN's first tier.
                    "  {} -> {} [dir=none, color=\"#c98a1c\", style=dotted];",
                    q(&format!("router:{}", r.name)),
                    q(&format!("tier:{}", plan.tiers[t].name))
                );
            }
        }
        if r.upstream.is_some() {
            let _ = writeln!(
                s,
                "  {} -> {} [dir=none, color=\"#c98a1c\", style=dotted];",
                q("net:internet"),
                q(&format!("router:{}", r.name))
            );
        }
    }
    for n in &plan.networks {
        let _ = writeln!(
            s,
            "  {} [label={}, shape=ellipse, fillcolor=\"#f3f3f3\", color=\"#888888\"];",
            q(&format!("net:{}", n.name)),
            q(&n.name)
        );
    }
    let _ = writeln!(
        s,
        "  {} [label=\"internet\", shape=ellipse, fillcolor=\"#fde8e8\", color=\"#c0392b\"];",
        q("net:internet")
    );
    let node = |name: &str| {
        if plan.tiers.iter().any(|t| t.name == name) {
            format!("tier:{name}")
        } else if plan.routers.iter().any(|r| r.name == name) {
            format!("router:{name}")
        } else {
            format!("net:{name}")
        }
    };
    // Fan-out and fan-in (monitoring scraping every tier, every tier shipping logs) would
    // draw an edge to or from nearly every tier: such a node gets one edge to or from an
    // "every tier" node instead, labelled with what all those edges share.
    let tiers: Vec<&str> = plan
        .tiers
        .iter()
        .filter(|t| !t.hosts.is_empty())
        .map(|t| t.name.as_str())
        .collect();
    let wide = |n: usize| tiers.len() >= 5 && n * 10 >= tiers.len() * 7;
    let is_tier = |n: &str| tiers.contains(&n);
    let edges: Vec<&Cell> = cells
        .iter()
        .filter(|c| c.src != c.dst && !c.services.is_empty())
        .collect();
    // Regions that are not tiers, networks or the internet (VIPs, routers, the rest of a
    // VLAN) get a node of their own when they have access.
    let mut others: Vec<&str> = edges
        .iter()
        .flat_map(|c| [c.src.as_str(), c.dst.as_str()])
        .filter(|n| {
            *n != "internet"
                && !plan.routers.iter().any(|r| r.name == *n)
                && !plan.tiers.iter().any(|t| t.name == *n)
                && !plan.networks.iter().any(|x| x.name == *n)
        })
        .collect();
    others.sort_unstable();
    others.dedup();
    for n in others {
        let _ = writeln!(
            s,
            "  {} [label={}, shape=ellipse, fillcolor=\"#f3f3f3\", color=\"#888888\"];",
            q(&format!("net:{n}")),
            q(n)
        );
    }
    let mut fan_out: Vec<&str> = Vec::new();
    let mut fan_in: Vec<&str> = Vec::new();
    let mut names: Vec<&str> = edges
        .iter()
        .flat_map(|c| [c.src.as_str(), c.dst.as_str()])
        .collect();
    names.sort();
    names.dedup();
    for n in names {
        if wide(
            edges
                .iter()
                .filter(|c| c.src == n && is_tier(&c.dst))
                .count(),
        ) {
            fan_out.push(n);
        } else if wide(
            edges
                .iter()
                .filter(|c| c.dst == n && is_tier(&c.src))
                .count(),
        ) {
            fan_in.push(n);
        }
    }
    if !fan_out.is_empty() || !fan_in.is_empty() {
        let _ = writeln!(
            s,
            "  {} [label=\"every tier\", shape=box3d, fillcolor=\"#f4f6fa\", color=\"#8a99b3\"];",
            q("all:tiers")
        );
    }
    let label_of = |services: &str| {
        let pieces: Vec<&str> = services.split(", ").collect();
        if pieces.len() > 3 {
            format!("{} services", pieces.len())
        } else {
            pieces.join("\n")
        }
    };
    for n in &fan_out {
        let common = edges
            .iter()
            .filter(|c| c.src == *n && is_tier(&c.dst))
            .map(|c| c.service_set.clone())
            .reduce(|a, b| a.intersect(&b))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "  {} -> {} [label={}, penwidth=2];",
            q(&node(n)),
            q("all:tiers"),
            q(&label_of(&space::service_text(&common)))
        );
    }
    for n in &fan_in {
        let common = edges
            .iter()
            .filter(|c| c.dst == *n && is_tier(&c.src))
            .map(|c| c.service_set.clone())
            .reduce(|a, b| a.intersect(&b))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "  {} -> {} [label={}, penwidth=2];",
            q("all:tiers"),
            q(&node(n)),
            q(&label_of(&space::service_text(&common)))
        );
    }
    for c in edges {
        let folded = (fan_out.contains(&c.src.as_str()) && is_tier(&c.dst))
            || (fan_in.contains(&c.dst.as_str()) && is_tier(&c.src));
        if folded {
            continue;
        }
        let style = if c.unfiltered {
            ", style=dashed, color=\"#b0b8c4\""
        } else {
            ""
        };
        // Short labels keep the picture readable; the report's matrix has the details.
        let _ = writeln!(
            s,
            "  {} -> {} [label={}{style}];",
            q(&node(&c.src)),
            q(&node(&c.dst)),
            q(&label_of(&c.services.to_string()))
        );
    }
    s.push_str("}\n");
    s
}

/// How long Graphviz may take to lay a graph out.
pub const DOT_LIMIT: std::time::Duration = std::time::Duration::from_secs(20);

/// SVG from DOT through Graphviz's `dot`, within [`DOT_LIMIT`]. What `dot` prints on its
/// stderr (hundreds of lines of internals when a layout fails) never reaches the user: the
/// error says what happened.
pub fn svg(dot_text: &str) -> Result<String, String> {
    let out = crate::exec::run(
        std::process::Command::new("dot").arg("-Tsvg"),
        Some(dot_text.as_bytes()),
        DOT_LIMIT,
    )
    .map_err(|e| match e {
        crate::exec::ExecError::Spawn { .. } => {
            format!("{e}; install graphviz, or use --format dot")
        }
        e => format!("{e}: the graph is too large for Graphviz to lay out"),
    })?;
    if !out.success() {
        return Err(format!(
            "Graphviz `dot` could not lay the graph out ({})",
            out.status
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    // Keep only the <svg> element (no XML prolog or DOCTYPE) for inlining in HTML.
    Ok(text
        .find("<svg")
        .map_or(text.clone(), |i| text[i..].to_string()))
}

struct MatrixRow {
    name: String,
    cells: Vec<MatrixCell>,
}

struct MatrixCell {
    services: String,
    rules: String,
    class: &'static str,
}

struct SubnetRow {
    vlan: String,
    vlan_id: u32,
    net: String,
    gateway: String,
    mtu: String,
    used: usize,
    size: u128,
    percent: String,
    pools: String,
}

struct VipRow {
    name: String,
    addr: String,
    vlan: String,
    members: String,
    vrid: u8,
    check: String,
}

struct ZoneRow {
    name: String,
    records: usize,
    sample: String,
}

struct Finding {
    code: String,
    severity: &'static str,
    message: String,
    location: String,
    excerpt: String,
    help: String,
}

#[derive(Template)]
#[template(path = "report/report.html")]
struct ReportView {
    title: String,
    summary: String,
    svg: String,
    columns: Vec<String>,
    rows: Vec<MatrixRow>,
    subnets: Vec<SubnetRow>,
    vips: Vec<VipRow>,
    zones: Vec<ZoneRow>,
    findings: Vec<Finding>,
    /// The plan has errors: no topology, reachability or DNS records.
    rejected: bool,
    svg_error: String,
    /// Why there is no matrix (too large to evaluate), or empty.
    matrix_error: String,
}

fn findings(diags: &[Diagnostic], sources: &Sources) -> Vec<Finding> {
    diags
        .iter()
        .map(|d| {
            let (location, excerpt) = match &d.primary {
                Some(l) => {
                    let loc = sources.location(l.span);
                    (
                        format!("{}:{}:{}", loc.file, loc.line, loc.column),
                        sources.line_of(l.span).to_string(),
                    )
                }
                None => (String::new(), String::new()),
            };
            Finding {
                code: format!(
                    "{} {}",
                    d.code,
                    crate::codes::find(d.code).map_or("", |c| c.name)
                ),
                severity: if d.is_error() { "error" } else { "warning" },
                message: d.message.clone(),
                location,
                excerpt,
                help: d.help.clone().unwrap_or_default(),
            }
        })
        .collect()
}

/// The whole report. `svg` is the topology picture (or empty when Graphviz is missing).
/// The report of a plan; `info` is `None` for a plan with errors, whose report has the
/// address plan, VIPs, zones and findings, but no topology or reachability (they need a
/// valid plan).
/// `svg_error` says why there is no picture when `svg` is empty.
pub fn html(
    plan: &Plan,
    info: Option<&PlanInfo>,
    diags: &[Diagnostic],
    svg: &str,
    svg_error: &str,
) -> String {
    let (cells, matrix_error) = match info.map(|i| matrix::matrix(plan, i)) {
        Some(Ok(cells)) => (cells, String::new()),
        Some(Err(e)) => (Vec::new(), e.to_string()),
        None => (Vec::new(), String::new()),
    };
    // Rows and columns: every region with access, in region order.
    let eps: Vec<(String, ())> = matrix::regions(plan)
        .into_iter()
        .filter(|r| cells.iter().any(|c| c.src == r.name || c.dst == r.name))
        .map(|r| (r.name, ()))
        .collect();
    let by_pair: BTreeMap<(&str, &str), &Cell> = cells
        .iter()
        .map(|c| ((c.src.as_str(), c.dst.as_str()), c))
        .collect();
    let rows = eps
        .iter()
        .map(|(src, _)| MatrixRow {
            name: src.clone(),
            cells: eps
                .iter()
                .map(
                    |(dst, _)| match by_pair.get(&(src.as_str(), dst.as_str())) {
                        Some(c) => {
                            let mut rules: Vec<String> = c
                                .permitted
                                .iter()
                                .filter_map(|(_, r)| *r)
                                .map(|r| {
                                    format!(
                                        "{}  {}",
                                        plan.flows[r].origin.file_line(),
                                        plan.flows[r]
                                            .text
                                            .split_whitespace()
                                            .collect::<Vec<_>>()
                                            .join(" ")
                                    )
                                })
                                .collect();
                            rules.sort();
                            rules.dedup();
                            if c.unfiltered {
                                rules.push("(part of it crosses no firewall netc manages)".into());
                            }
                            MatrixCell {
                                services: c.services.to_string(),
                                rules: rules.join("\n"),
                                class: if c.partial { "partial" } else { "yes" },
                            }
                        }
                        None => MatrixCell {
                            services: String::new(),
                            rules: String::new(),
                            class: "no",
                        },
                    },
                )
                .collect(),
        })
        .collect();
    let mut subnets = Vec::new();
    for (s, sub) in plan.subnets.iter().enumerate() {
        let vlan = &plan.vlans[sub.vlan];
        let used = plan
            .hosts
            .iter()
            .flat_map(|h| &h.interfaces)
            .filter(|i| i.subnet == s)
            .count()
            + plan.vips.iter().filter(|v| v.subnet == s).count()
            + usize::from(sub.gateway.is_some());
        let size = space::net_set(0, &sub.net).size().saturating_sub(
            if sub.net.addr().is_ipv4() && sub.net.prefix_len() < 31 {
                2
            } else {
                0
            },
        );
        let pools: Vec<String> = vlan
            .pools
            .iter()
            .filter(|p| sub.net.contains(&p.first))
            .map(|p| format!("{}: {}-{}", plan.tiers[p.tier].name, p.first, p.last))
            .collect();
        subnets.push(SubnetRow {
            vlan: vlan.name.clone(),
            vlan_id: vlan.id,
            net: sub.net.to_string(),
            gateway: sub.gateway.map(|g| g.to_string()).unwrap_or_default(),
            mtu: vlan
                .mtu
                .map(|m| m.to_string())
                .unwrap_or_else(|| "1500".into()),
            used,
            size,
            percent: if size == 0 {
                "-".into()
            } else {
                format!("{:.1}", used as f64 * 100.0 / size as f64)
            },
            pools: pools.join(", "),
        });
    }
    let vips = plan
        .vips
        .iter()
        .map(|v| VipRow {
            name: v.name.clone(),
            addr: v.addr.to_string(),
            vlan: plan.vlans[v.vlan].name.clone(),
            members: v
                .members
                .iter()
                .map(|&m| plan.hosts[m].name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            vrid: v.vrid,
            check: match &v.check {
                Some(crate::ir::HealthCheck::Port { proto, port }) => {
                    format!("{}/{}", proto.name(), port.unwrap_or(0))
                }
                Some(crate::ir::HealthCheck::Script { command }) => command.clone(),
                None => String::new(),
            },
        })
        .collect();
    let zones = plan
        .zones
        .iter()
        .enumerate()
        .map(|(z, zone)| {
            let records: Vec<&crate::check::DnsRecord> = info
                .iter()
                .flat_map(|i| &i.dns)
                .filter(|r| r.zone == z)
                .collect();
            ZoneRow {
                name: zone.name.clone(),
                records: records.len(),
                sample: records
                    .iter()
                    .take(4)
                    .map(|r| format!("{} {} {}", r.name, r.rtype, r.data.join(" ")))
                    .collect::<Vec<_>>()
                    .join("; "),
            }
        })
        .collect();
    let summary = format!(
        "{} VLANs, {} tiers, {} hosts, {} VIPs, {} flows, {} zones; {}",
        plan.vlans.len(),
        plan.tiers.len(),
        plan.hosts.len(),
        plan.vips.len(),
        plan.flows.len(),
        plan.zones.len(),
        crate::render::summary(diags)
    );
    ReportView {
        title: plan.name.clone(),
        summary,
        svg: svg.to_string(),
        columns: eps.iter().map(|e| e.0.clone()).collect(),
        rows,
        subnets,
        vips,
        zones,
        findings: findings(diags, &plan.sources),
        rejected: info.is_none(),
        svg_error: svg_error.to_string(),
        matrix_error,
    }
    .render()
    .expect("report renders")
}

struct DiffRow {
    src: String,
    dst: String,
    services: String,
    example: String,
    rules: String,
}

struct DiffSection {
    title: &'static str,
    class: &'static str,
    changes: Vec<DiffRow>,
}

#[derive(Template)]
#[template(path = "report/diff.html")]
struct DiffView<'a> {
    old: &'a str,
    new: &'a str,
    n_opened: usize,
    n_closed: usize,
    sections: Vec<DiffSection>,
}

/// `netc diff --format html`: what a change opens and closes, in the report's style.
pub fn diff_html(old: &str, new: &str, d: &crate::query::diff::Diff) -> String {
    let rows = |changes: &[crate::query::diff::Change]| -> Vec<DiffRow> {
        changes
            .iter()
            .map(|c| DiffRow {
                src: c.src.clone(),
                dst: c.dst.clone(),
                services: c.services.to_string(),
                example: c
                    .example
                    .as_ref()
                    .map(|p| p.to_string())
                    .unwrap_or_default(),
                rules: c
                    .rules
                    .iter()
                    .map(|r| format!("{}  {}", r.at, r.text))
                    .collect::<Vec<_>>()
                    .join("\n"),
            })
            .collect()
    };
    let sections = vec![
        DiffSection {
            title: "Access the change opens",
            class: "opened",
            changes: rows(&d.opened),
        },
        DiffSection {
            title: "Access the change closes",
            class: "closed",
            changes: rows(&d.closed),
        },
    ];
    DiffView {
        old,
        new,
        n_opened: d.opened.len(),
        n_closed: d.closed.len(),
        sections,
    }
    .render()
    .expect("diff renders")
}
