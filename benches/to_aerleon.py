"""Write a netc plan as an Aerleon policy: the same networks, services and rules.

Reads `netc export --format json` on stdin; writes DIR/pol/netc.pol and DIR/def/{NETWORK.net,
SERVICES.svc}. netc's meaning (deny wins whatever the order) becomes Aerleon's first match by
putting every deny term before every allow term; Aerleon's filter ends in a default deny.
usage: to_aerleon.py DIR < export.json
"""
import ipaddress
import json
import os
import sys


def cidrs(first, last):
    return [str(n) for n in ipaddress.summarize_address_range(ipaddress.ip_address(first), ipaddress.ip_address(last))]


def main():
    out = sys.argv[1]
    data = json.load(sys.stdin)
    plan = data["plan"]
    os.makedirs(f"{out}/pol", exist_ok=True)
    os.makedirs(f"{out}/def", exist_ok=True)
    # `netc export` names every object (references are names, not positions).
    hosts = {h["name"]: h for h in plan["hosts"]}
    services = {s["name"]: s for s in plan["services"]}
    nets = {}
    for t in plan["tiers"]:
        addrs = [i["addr"] for h in t["hosts"] for i in hosts[h]["interfaces"]]
        # A tier holds the VIPs all of whose members are in it (netc's meaning).
        addrs += [v["addr"] for v in plan["vips"] if v["members"] and all(hosts[m]["tier"] == t["name"] for m in v["members"])]
        nets["T_" + t["name"].upper().replace("-", "_")] = [f"{a}/32" for a in addrs]
    for n in plan["networks"]:
        nets["N_" + n["name"].upper().replace("-", "_")] = [c for a, b in n["ranges"] for c in cidrs(a, b)]
    with open(f"{out}/def/NETWORK.net", "w") as f:
        for name, entries in nets.items():
            f.write(f"{name} = {entries[0]}\n")
            for e in entries[1:]:
                f.write(f"    {e}\n")
            f.write("\n")
    with open(f"{out}/def/SERVICES.svc", "w") as f:
        for s in plan["services"]:
            ports = []
            for p in s["ports"]:
                if p["proto"] == "icmp":
                    continue  # ICMP has no ports: terms name the protocol only
                port = str(p["first"]) if p["first"] == p["last"] else f"{p['first']}-{p['last']}"
                ports.append(f"{port}/{p['proto']}")
            if ports:
                f.write(f"S_{s['name'].upper().replace('-', '_')} = {' '.join(ports)}\n")

    def endpoint(e):
        kind = e["target"]["kind"]
        if kind == "tier":
            return "T_" + e["target"]["ref"].upper().replace("-", "_")
        if kind == "network":
            return "N_" + e["target"]["ref"].upper().replace("-", "_")
        raise SystemExit(f"endpoint kind {kind} not converted")

    terms = []
    for i, fl in enumerate(plan["flows"]):
        svc = fl["services"][0]
        if svc["kind"] != "named":
            raise SystemExit("only named services are converted")
        s = services[svc["service"]]
        protos = sorted({p["proto"] for p in s["ports"]})
        name = f"f{i}-{fl['action']}"
        if "icmp" in protos and len(protos) > 1:
            raise SystemExit("services mixing ICMP and ports are not converted")
        body = [
            f"  source-address:: {' '.join(endpoint(e) for e in fl['sources'])}",
            f"  destination-address:: {' '.join(endpoint(e) for e in fl['destinations'])}",
            f"  protocol:: {' '.join(protos)}",
        ]
        if protos != ["icmp"]:
            body.append(f"  destination-port:: S_{s['name'].upper().replace('-', '_')}")
        body.append(f"  action:: {'accept' if fl['action'] == 'allow' else 'deny'}")
        terms.append((fl["action"] != "deny", f"term {name} {{\n" + "\n".join(body) + "\n}\n"))
    terms.sort(key=lambda t: t[0])  # denies first: stable, so plan order within each group
    with open(f"{out}/pol/netc.pol", "w") as f:
        f.write("header {\n  target:: nftables mixed FORWARD\n}\n")
        for _, t in terms:
            f.write(t)


main()
