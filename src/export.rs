//! `netc export`: the resolved model as a `netc-export/1` document. The model refers to its
//! objects by index; the export refers to them by name (a subnet by its network), so a
//! reader never counts array positions and a document stays meaningful when objects are
//! added before others.

use crate::check::PlanInfo;
use crate::ir::Plan;
use serde_json::Value;

/// The plan and the DNS records it implies, every reference by name.
pub fn export(plan: &Plan, info: &PlanInfo) -> Value {
    let mut doc = serde_json::json!({
        "plan": plan,
        "dns_records": info.dns,
    });
    let names = |list: Vec<String>| move |i: usize| list.get(i).cloned();
    let vlan = names(plan.vlans.iter().map(|v| v.name.clone()).collect());
    let subnet = names(plan.subnets.iter().map(|s| s.net.to_string()).collect());
    let tier = names(plan.tiers.iter().map(|t| t.name.clone()).collect());
    let host = names(plan.hosts.iter().map(|h| h.name.clone()).collect());
    let router = names(plan.routers.iter().map(|r| r.name.clone()).collect());
    let service = names(plan.services.iter().map(|s| s.name.clone()).collect());
    let vip = names(plan.vips.iter().map(|v| v.name.clone()).collect());
    let network = names(plan.networks.iter().map(|n| n.name.clone()).collect());
    let zone = names(plan.zones.iter().map(|z| z.name.clone()).collect());
    rename(&mut doc["dns_records"], &["*", "zone"], &zone);
    let p = &mut doc["plan"];
    let refs: [(&str, &Name); 32] = [
        ("management/*/sources/*/target/ref/tier", &tier),
        ("management/*/sources/*/target/ref/host", &host),
        ("tiers/*/serve/*", &vlan),
        ("tiers/*/routes/*/vlan", &vlan),
        ("hosts/*/routes/*/vlan", &vlan),
        ("flows/*/sources/*/target/ref/tier", &tier),
        ("flows/*/destinations/*/target/ref/tier", &tier),
        ("flows/*/sources/*/target/ref/host", &host),
        ("flows/*/destinations/*/target/ref/host", &host),
        ("flows/*/sources/*/target/ref/vlans/*", &vlan),
        ("flows/*/destinations/*/target/ref/vlans/*", &vlan),
        ("management/*/sources/*/target/ref/vlans/*", &vlan),
        ("routers/*/nats/*/sources/*/target/ref/tier", &tier),
        ("routers/*/nats/*/sources/*/target/ref/host", &host),
        ("routers/*/nats/*/sources/*/target/ref/vlans/*", &vlan),
        ("vlans/*/subnets/*", &subnet),
        ("vlans/*/pools/*/tier", &tier),
        ("subnets/*/vlan", &vlan),
        ("tiers/*/vlans/*/vlan", &vlan),
        ("tiers/*/hosts/*", &host),
        ("hosts/*/tier", &tier),
        ("hosts/*/interfaces/*/vlan", &vlan),
        ("hosts/*/interfaces/*/subnet", &subnet),
        ("vips/*/vlan", &vlan),
        ("vips/*/subnet", &subnet),
        ("vips/*/members/*", &host),
        ("routers/*/interfaces/*/vlan", &vlan),
        ("switches/*/routes", &router),
        ("switches/*/ports/*/vlans/*", &vlan),
        ("switches/*/ports/*/host", &host),
        ("management/*/vlan", &vlan),
        ("management/*/except/*", &host),
    ];
    for (path, name) in refs {
        rename(p, &path.split('/').collect::<Vec<_>>(), name);
    }
    let by_kind = |kind: &str, i: usize| match kind {
        "tier" => tier(i),
        "host" => host(i),
        "vip" => vip(i),
        "network" => network(i),
        "vlan" => vlan(i),
        "router" => router(i),
        _ => None,
    };
    for path in [
        "flows/*/sources/*/target",
        "flows/*/destinations/*/target",
        "management/*/sources/*/target",
        "routers/*/nats/*/sources/*/target",
    ] {
        each(p, &path.split('/').collect::<Vec<_>>(), &mut |t| {
            let kind = t["kind"].as_str().unwrap_or_default().to_string();
            if let Some(n) = t["ref"].as_u64().and_then(|i| by_kind(&kind, i as usize)) {
                t["ref"] = Value::String(n);
            }
        });
    }
    for path in [
        "flows/*/services/*",
        "management/*/services/*",
        "vlans/*/carries/services/*",
    ] {
        each(p, &path.split('/').collect::<Vec<_>>(), &mut |s| {
            if let Some(n) = s["service"].as_u64().and_then(|i| service(i as usize)) {
                s["service"] = Value::String(n);
            }
        });
    }
    doc
}

/// An object's name by its index.
type Name<'a> = dyn Fn(usize) -> Option<String> + 'a;

/// Apply `f` to every value at `path` (`*`: each element of an array).
fn each(v: &mut Value, path: &[&str], f: &mut dyn FnMut(&mut Value)) {
    match path.split_first() {
        None => f(v),
        Some((&"*", rest)) => {
            if let Value::Array(items) = v {
                for item in items {
                    each(item, rest, f);
                }
            }
        }
        Some((key, rest)) => {
            if let Some(child) = v.get_mut(*key) {
                each(child, rest, f);
            }
        }
    }
}

/// Replace the index at `path` by the name `name` gives it (null stays null).
fn rename(v: &mut Value, path: &[&str], name: &Name) {
    each(v, path, &mut |x| {
        if let Some(n) = x.as_u64().and_then(|i| name(i as usize)) {
            *x = Value::String(n);
        }
    });
}
