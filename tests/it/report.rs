//! The picture of the plan: DOT and SVG, and the HTML report as a person sees it, in headless
//! Chromium.

use super::targets::have;
use super::*;
use std::process::Command;

use super::run_netc as netc;

#[test]
fn graph_groups_tiers_by_vlan_and_merges_edges() {
    let c = datalyptica();
    let cells = netc::query::matrix::matrix(&c.plan, c.info.as_ref().unwrap()).unwrap();
    let dot = netc::report::dot(&c.plan, &cells);
    assert!(dot.contains("subgraph \"cluster_") && dot.contains("VLAN 21 app-catalog"));
    assert!(
        dot.contains("\"net:internet\" -> \"tier:lb\" [label=\"tcp/443\"]"),
        "{dot}"
    );
    // One edge per (source, destination): parallel flows are merged.
    let edges: Vec<&str> = dot
        .lines()
        .filter(|l| l.contains(" -> ") && !l.contains("dir=none"))
        .collect();
    let mut pairs: Vec<&str> = edges
        .iter()
        .map(|l| l.split(" [").next().unwrap())
        .collect();
    let n = pairs.len();
    pairs.sort();
    pairs.dedup();
    assert_eq!(pairs.len(), n);
    if have("dot") {
        let (code, svg, err) = netc(&["graph", "fixtures/datalyptica", "--format", "svg"]);
        assert_eq!(code, 0, "{err}");
        assert!(svg.starts_with("<svg") && svg.contains("catalog"));
        // Every valid fixture goes through the distribution's Graphviz (2.43 aborts on
        // compound edges: netc must not use them).
        let mut dirs: Vec<_> = std::fs::read_dir(root().join("fixtures/valid"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        dirs.sort();
        for d in dirs {
            let d = d.to_string_lossy().into_owned();
            let (code, svg, err) = netc(&["graph", &d, "--format", "svg"]);
            assert_eq!(code, 0, "{d}: {err}");
            assert!(svg.starts_with("<svg"), "{d}");
        }
    }
}

#[test]
fn report_renders_in_chromium_without_errors() {
    let out = root().join("target/it-report");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();
    let html = out.join("report.html");
    let (code, _, err) = netc(&[
        "report",
        "fixtures/datalyptica",
        "-o",
        html.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&html).unwrap();
    // Self-contained: no script, style, image or link fetched from anywhere.
    for attr in ["src=\"http", "href=\"http", "url(http", "@import"] {
        assert!(!text.contains(attr), "the report loads {attr}");
    }
    for id in [
        "id=\"topology\"",
        "id=\"matrix\"",
        "id=\"addresses\"",
        "id=\"dns\"",
        "id=\"vips\"",
        "id=\"findings\"",
    ] {
        assert!(text.contains(id), "{id}");
    }
    assert!(
        text.contains("10.30.0.0/24")
            && text.contains("pg-vip")
            && text.contains("datalyptica.local")
    );
    if !have("chromium") {
        return;
    }
    let browser = |extra: &[&str]| {
        let profile = out.join(format!("profile-{}", extra.len()));
        Command::new("timeout")
            .args([
                "120",
                "chromium",
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .args(extra)
            .arg(format!("file://{}", html.display()))
            .output()
            .unwrap()
    };
    // The page checks itself on load (key sections present and visible, a matrix cell clicked)
    // and records script errors on <body>; the DOM after scripts ran says how it went.
    let dom = browser(&["--dump-dom", "--virtual-time-budget=5000"]);
    let dom = String::from_utf8_lossy(&dom.stdout);
    let body = dom
        .lines()
        .find(|l| l.contains("<body"))
        .unwrap_or_default()
        .to_string();
    assert!(body.contains("data-selfcheck=\"ok\""), "{body}");
    assert!(body.contains("data-clicked=\"ok\""), "{body}");
    assert!(!body.contains("data-errors"), "script errors: {body}");
    let shot = out.join("report.png");
    let o = browser(&[
        "--window-size=1400,1500",
        &format!("--screenshot={}", shot.display()),
    ]);
    assert!(
        shot.exists() && std::fs::metadata(&shot).unwrap().len() > 50_000,
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn diff_renders_as_html() {
    let (code, out, _) = netc(&[
        "diff",
        "fixtures/valid/three-tiers/plan.netc",
        "fixtures/valid/three-tiers-mixed/plan.netc",
        "--format",
        "html",
    ]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with("<!DOCTYPE html>")
            && out.contains("id=\"opened\"")
            && out.contains("id=\"closed\"")
    );
}

/// A plan with errors has a report too: its findings (every error code of the plan), the
/// address plan and VIPs, and a note instead of the topology and the matrix; exit 1. Every
/// invalid fixture, so that no partly built model makes the report fail.
#[test]
fn plans_with_errors_get_a_report_of_their_findings() {
    let mut n = 0;
    for e in std::fs::read_dir(root().join("fixtures/invalid")).unwrap() {
        let plan = e.unwrap().path().join("plan.netc");
        let c = netc::load_and_check(std::slice::from_ref(&plan)).unwrap();
        if !c.has_errors() {
            continue;
        }
        let (code, html, err) = netc(&["report", plan.to_str().unwrap(), "-o", "-"]);
        assert_eq!(code, 1, "{}: {err}", plan.display());
        assert!(html.contains("The plan has errors"), "{}", plan.display());
        for d in c.diags.iter().filter(|d| d.is_error()) {
            assert!(html.contains(d.code), "{}: {}", plan.display(), d.code);
        }
        n += 1;
    }
    assert!(n > 30, "{n}");
}
