//! The translations of a router's ruleset, read back and compared with the plan's.
//!
//! netc's router rulesets translate in two chains of `table inet netc`: `prerouting` (type nat,
//! priority dstnat: `ip daddr A [tcp|udp dport P] dnat ip to B[:Q]`) and `postrouting` (type nat,
//! priority srcnat: `oifname D ip saddr S snat ip to A` or `masquerade`). `split` reads those two
//! chains rule by rule into one canonical line each and compares the lines, in order, with
//! what the plan says (`expected`); when every rule is read it takes the two chains out of the
//! listing, so that the filter reader evaluates the rest. A rule of any other shape leaves the
//! chains where they are: the filter reader then refuses the translation it does not model
//! (never "equal").

use super::{Difference, ReadError};
use crate::ir::Plan;
use crate::space;
use serde_json::Value;

/// The canonical lines of router `r`'s translations (`nat::rules`): prerouting, then
/// postrouting.
pub fn expected(plan: &Plan, r: usize) -> (Vec<String>, Vec<String>) {
    let line = |rule: &crate::nat::Rule| match rule {
        crate::nat::Rule::Dnat {
            public,
            ports,
            to,
            to_port,
            ..
        } => {
            let dport = ports.map_or(String::new(), |(p, (a, b))| {
                format!(" {} dport {}", p.name(), range(a.into(), b.into()))
            });
            let port = to_port.map_or(String::new(), |p| format!(":{p}"));
            format!("daddr {public}{dport} -> dnat {to}{port}")
        }
        crate::nat::Rule::Snat {
            dev, sources, to, ..
        } => {
            let action = to.map_or("masquerade".to_string(), |a| format!("snat {a}"));
            format!("oif {dev} saddr {} -> {action}", sources.join(","))
        }
    };
    let (pre, post) = crate::nat::rules(plan, r);
    (
        pre.iter().map(line).collect(),
        post.iter().map(line).collect(),
    )
}

fn range(a: u128, b: u128) -> String {
    if a == b {
        a.to_string()
    } else {
        format!("{a}-{b}")
    }
}

/// An address, prefix, range or set of them as one canonical text (IPv4 only).
fn addresses(v: &Value) -> Option<String> {
    let mut ranges: Vec<(u128, u128)> = Vec::new();
    let mut one = |v: &Value| -> Option<()> {
        if let Some(s) = v.as_str() {
            let a: std::net::Ipv4Addr = s.parse().ok()?;
            let a = u32::from(a) as u128;
            ranges.push((a, a));
        } else if let Some(p) = v.get("prefix") {
            let a: std::net::Ipv4Addr = p.get("addr")?.as_str()?.parse().ok()?;
            let net = ipnet::Ipv4Net::new(a, p.get("len")?.as_u64()? as u8).ok()?;
            ranges.push((
                u32::from(net.network()) as u128,
                u32::from(net.broadcast()) as u128,
            ));
        } else if let Some(r) = v.get("range") {
            let r = r.as_array()?;
            let a: std::net::Ipv4Addr = r.first()?.as_str()?.parse().ok()?;
            let b: std::net::Ipv4Addr = r.get(1)?.as_str()?.parse().ok()?;
            ranges.push((u32::from(a) as u128, u32::from(b) as u128));
        } else {
            return None;
        }
        Some(())
    };
    match v.get("set").and_then(Value::as_array) {
        Some(items) => {
            for i in items {
                one(i)?;
            }
        }
        None => one(v)?,
    }
    let set = space::Set::from_ranges(
        ranges
            .into_iter()
            .map(|(a, b)| (space::Key::new(0, a), space::Key::new(0, b))),
    );
    Some(
        set.ranges()
            .iter()
            .map(|&(a, b)| space::raw_range_text(true, a.lo, b.lo))
            .collect::<Vec<_>>()
            .join(","),
    )
}

/// One rule of netc's NAT chains as its canonical line, or None for any other shape.
fn canonical(rule: &Value) -> Option<String> {
    let exprs = rule.get("expr")?.as_array()?;
    let (last, matches) = exprs.split_last()?;
    let mut parts: Vec<String> = Vec::new();
    for m in matches {
        let m = m.get("match")?;
        if m.get("op")?.as_str()? != "==" {
            return None;
        }
        let (left, right) = (m.get("left")?, m.get("right")?);
        if let Some(meta) = left.get("meta") {
            if meta.get("key")?.as_str()? != "oifname" {
                return None;
            }
            parts.push(format!("oif {}", right.as_str()?));
        } else if let Some(p) = left.get("payload") {
            match (p.get("protocol")?.as_str()?, p.get("field")?.as_str()?) {
                ("ip", f @ ("saddr" | "daddr")) => parts.push(format!("{f} {}", addresses(right)?)),
                (proto @ ("tcp" | "udp"), "dport") => {
                    let ports = match right.get("range").and_then(Value::as_array) {
                        Some(r) => range(r.first()?.as_u64()?.into(), r.get(1)?.as_u64()?.into()),
                        None => right.as_u64()?.to_string(),
                    };
                    parts.push(format!("{proto} dport {ports}"));
                }
                _ => return None,
            }
        } else {
            return None;
        }
    }
    let action = if let Some(d) = last.get("dnat") {
        if d.get("family")?.as_str()? != "ip" {
            return None;
        }
        let port = match d.get("port") {
            Some(p) => format!(":{}", p.as_u64()?),
            None => String::new(),
        };
        format!("dnat {}{port}", d.get("addr")?.as_str()?)
    } else if let Some(s) = last.get("snat") {
        if s.get("family")?.as_str()? != "ip" || s.get("port").is_some() {
            return None;
        }
        format!("snat {}", s.get("addr")?.as_str()?)
    } else if last.get("masquerade").is_some() {
        "masquerade".to_string()
    } else {
        return None;
    };
    Some(format!("{} -> {action}", parts.join(" ")))
}

/// A listing without netc's NAT chains, and where their translations differ from the plan's.
pub type Split = (String, Vec<(Difference, String)>);

/// Router `r`'s `nft -j list ruleset` without netc's two NAT chains when every rule of theirs
/// is read, and where their translations differ from the plan's. `None` when the chains hold
/// a rule of another shape (the listing is then left whole for the filter reader to refuse).
pub fn split(plan: &Plan, r: usize, json: &str) -> Result<Option<Split>, ReadError> {
    let mut doc: Value =
        serde_json::from_str(json).map_err(|e| ReadError(format!("not nft JSON: {e}")))?;
    let Some(items) = doc.get_mut("nftables").and_then(Value::as_array_mut) else {
        return Err(ReadError("not nft JSON: no `nftables` array".into()));
    };
    let ours = |v: &Value, name: &str| {
        v.get("family").and_then(Value::as_str) == Some("inet")
            && v.get("table").and_then(Value::as_str) == Some("netc")
            && v.get(name)
                .and_then(Value::as_str)
                .is_some_and(|c| c == "prerouting" || c == "postrouting")
    };
    let mut found: [Vec<String>; 2] = [Vec::new(), Vec::new()];
    let mut chains = 0;
    for item in items.iter() {
        if let Some(c) = item.get("chain").filter(|c| ours(c, "name")) {
            let name = c.get("name").and_then(Value::as_str).unwrap_or("");
            let (hook, prio) = if name == "prerouting" {
                ("prerouting", -100)
            } else {
                ("postrouting", 100)
            };
            let right = c.get("type").and_then(Value::as_str) == Some("nat")
                && c.get("hook").and_then(Value::as_str) == Some(hook)
                && c.get("prio").and_then(Value::as_i64) == Some(prio)
                && c.get("policy").and_then(Value::as_str) == Some("accept");
            if !right {
                return Ok(None);
            }
            chains += 1;
        } else if let Some(rule) = item.get("rule").filter(|r| ours(r, "chain")) {
            let at = usize::from(rule.get("chain").and_then(Value::as_str) == Some("postrouting"));
            match canonical(rule) {
                Some(line) => found[at].push(line),
                None => return Ok(None),
            }
        }
    }
    let (pre, post) = expected(plan, r);
    let mut diffs = Vec::new();
    for (got, want, hook) in [
        (&found[0], &pre, "prerouting"),
        (&found[1], &post, "postrouting"),
    ] {
        if got != want {
            let missing: Vec<&String> = want.iter().filter(|w| !got.contains(w)).collect();
            let extra: Vec<&String> = got.iter().filter(|g| !want.contains(g)).collect();
            let detail = if missing.is_empty() && extra.is_empty() {
                "the same translations in another order (the first that matches wins)".to_string()
            } else {
                format!(
                    "the plan's translations missing: [{}]; translations the plan does not have: [{}]",
                    missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("; "),
                    extra.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("; ")
                )
            };
            diffs.push((
                Difference {
                    src: "any".into(),
                    dst: "any".into(),
                    service: format!("address translation ({hook})"),
                    protocol: "any",
                    port: None,
                    ruleset_accepts: !got.is_empty(),
                    dropped_by: None,
                },
                format!("chain inet netc {hook} translates otherwise than the plan: {detail}"),
            ));
        }
    }
    if chains == 0 && pre.is_empty() && post.is_empty() {
        return Ok(Some((json.to_string(), diffs)));
    }
    items.retain(|item| {
        !(item.get("chain").is_some_and(|c| ours(c, "name"))
            || item.get("rule").is_some_and(|r| ours(r, "chain")))
    });
    Ok(Some((doc.to_string(), diffs)))
}
