//! The command line: exit statuses and output formats.

fn netc(args: &[&str]) -> (i32, String, String) {
    super::run_netc(args)
}

#[test]
fn check_exit_statuses() {
    let (code, out, _) = netc(&["check", "fixtures/datalyptica"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("0 errors"), "{out}");
    let (code, _, err) = netc(&[
        "check",
        "fixtures/invalid/E030-overlapping-subnets/plan.netc",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("netc::E030::overlapping-subnets"), "{err}");
    let (code, _, err) = netc(&["check", "fixtures/no-such-plan.netc"]);
    assert_eq!(code, 2);
    assert!(err.contains("no such file"), "{err}");
    let (code, _, _) = netc(&["check", "--frobnicate", "x"]);
    assert_eq!(code, 2);
    let (code, out, _) = netc(&[
        "check",
        "--format",
        "json",
        "fixtures/invalid/W070-unused/plan.netc",
    ]);
    assert_eq!(code, 0, "warnings do not fail");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["severity"], "warning");
}

#[test]
fn query_exit_statuses() {
    let (code, out, _) = netc(&[
        "query",
        "fixtures/datalyptica",
        "can processing reach catalog on postgres",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("YES"));
    let (code, out, _) = netc(&[
        "query",
        "fixtures/datalyptica",
        "can internet reach catalog on postgres",
    ]);
    assert_eq!(code, 1, "{out}");
    let (code, _, err) = netc(&["query", "fixtures/datalyptica", "can nobody reach catalog"]);
    assert_eq!(code, 2);
    assert!(err.contains("`nobody` is not"), "{err}");
    let (code, out, _) = netc(&[
        "query",
        "--format",
        "json",
        "fixtures/datalyptica",
        "can admins reach bastion on ssh",
    ]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["verdict"], "yes");
    assert_eq!(
        v["groups"][0]["permitted"][0]["rule"]["at"],
        "fixtures/datalyptica/flows.netc:5"
    );
}

#[test]
fn listings_and_matrix_formats() {
    let (code, out, _) = netc(&[
        "who-can-reach",
        "fixtures/datalyptica",
        "pg-vip",
        "--on",
        "postgres",
    ]);
    assert_eq!(code, 0);
    assert!(
        out.contains("processing -> pg-vip") && !out.contains("streaming -> pg-vip"),
        "{out}"
    );
    let (code, out, _) = netc(&[
        "what-can-reach",
        "fixtures/datalyptica",
        "--from",
        "internet",
    ]);
    assert_eq!(code, 0);
    assert_eq!(
        out.trim(),
        "internet -> lb  tcp/443  (partly)",
        "the VIP, not the members' own addresses"
    );
    let (_, out, _) = netc(&["matrix", "fixtures/datalyptica", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["src"] == "monitoring" && c["dst"] == "bastion"));
}

#[test]
fn diff_gate() {
    let (code, out, _) = netc(&[
        "diff",
        "fixtures/datalyptica",
        "fixtures/datalyptica",
        "--fail-on-new-access",
    ]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out, "no change in access\n");
}

#[test]
fn explain_codes() {
    let (code, out, _) = netc(&["explain", "E030"]);
    assert_eq!(code, 0);
    assert!(out.contains("overlapping-subnets") && out.contains("Example"));
    let (code, _, _) = netc(&["explain", "overlapping-subnets"]);
    assert_eq!(code, 0);
    let (code, _, err) = netc(&["explain", "E999"]);
    assert_eq!(code, 2);
    assert!(err.contains("no diagnostic code"));
    let (_, out, _) = netc(&["explain"]);
    assert_eq!(out.lines().count(), netc::codes::ALL.len());
}
