"""Parse a generated switch config back with third-party parsers and print what it says.

IOS and EOS go through ciscoconfparse2; Junos set commands through ttp. The output (JSON) is
compared with the plan by tests/it/targets.rs.
usage: parse_switch.py ios|eos|junos FILE
"""
import json
import re
import sys


def cisco(path, syntax):
    from ciscoconfparse2 import CiscoConfParse

    parse = CiscoConfParse(path, syntax=syntax)
    out = {"vlans": {}, "svis": {}, "trunks": {}, "access": {}, "bonds": {}, "mtu": {}}
    for obj in parse.find_objects(r"^vlan\s+\d+$"):
        vid = obj.text.split()[1]
        names = [c.text.split()[1] for c in obj.children if c.text.strip().startswith("name ")]
        out["vlans"][vid] = names[0] if names else ""
    for obj in parse.find_objects(r"^interface\s+"):
        name = obj.text.split(None, 1)[1]
        kids = [c.text.strip() for c in obj.children]
        if name.startswith("Vlan"):
            out["svis"][name[4:]] = [
                k.split()[2] + ("/" + mask_len(k.split()[3]) if len(k.split()) > 3 and "." in k.split()[3] else "")
                for k in kids
                if k.startswith("ip address ")
            ]
            continue
        for k in kids:
            if k.startswith("switchport trunk allowed vlan "):
                out["trunks"][name] = expand(k.split()[-1])
            elif k.startswith("switchport access vlan "):
                out["access"][name] = int(k.split()[-1])
            elif k.startswith("channel-group "):
                out["bonds"].setdefault(k.split()[1], []).append(name)
            elif k.startswith("mtu "):
                out["mtu"][name] = int(k.split()[1])
    return out


def mask_len(mask):
    return str(sum(bin(int(o)).count("1") for o in mask.split(".")))


def expand(spec):
    ids = []
    for part in spec.split(","):
        if "-" in part:
            a, b = part.split("-")
            ids.extend(range(int(a), int(b) + 1))
        else:
            ids.append(int(part))
    return ids


TTP_JUNOS = """
<group name="vlans">
set vlans {{ name }} vlan-id {{ id }}
</group>
<group name="irb">
set interfaces irb unit {{ unit }} family inet address {{ address }}
</group>
<group name="members">
set interfaces {{ port }} unit 0 family ethernet-switching vlan members {{ vlan }}
</group>
<group name="modes">
set interfaces {{ port }} unit 0 family ethernet-switching interface-mode {{ mode }}
</group>
<group name="lacp">
set interfaces {{ port }} ether-options 802.3ad {{ bond }}
</group>
<group name="mtu">
set interfaces {{ port }} mtu {{ mtu }}
</group>
"""


def junos(path):
    from ttp import ttp

    data = open(path).read()
    parser = ttp(data=data, template=TTP_JUNOS)
    parser.parse()
    res = parser.result()[0][0]

    def rows(key):
        r = res.get(key, [])
        return r if isinstance(r, list) else [r]

    out = {"vlans": {}, "svis": {}, "trunks": {}, "access": {}, "bonds": {}, "mtu": {}}
    names = {}
    for v in rows("vlans"):
        out["vlans"][str(v["id"])] = v["name"]
        names[v["name"]] = int(v["id"])
    for r in rows("irb"):
        out["svis"].setdefault(str(r["unit"]), []).append(r["address"])
    modes = {m["port"]: m["mode"] for m in rows("modes")}
    for m in rows("members"):
        vid = names[m["vlan"]]
        if modes.get(m["port"]) == "trunk":
            out["trunks"].setdefault(m["port"], []).append(vid)
        else:
            out["access"][m["port"]] = vid
    for l in rows("lacp"):
        out["bonds"].setdefault(re.sub(r"^ae", "", l["bond"]), []).append(l["port"])
    for m in rows("mtu"):
        out["mtu"][m["port"]] = int(m["mtu"])
    return out


if __name__ == "__main__":
    platform, path = sys.argv[1], sys.argv[2]
    # EOS has no syntax of its own in ciscoconfparse2: it is indented like IOS.
    result = junos(path) if platform == "junos" else cisco(path, "ios")
    print(json.dumps(result, sort_keys=True))
