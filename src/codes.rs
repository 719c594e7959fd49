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

macro_rules! code {
    ($code:literal, $name:literal, $sev:ident, $summary:literal, $doc:literal) => {
        Code {
            code: $code,
            name: $name,
            severity: Severity::$sev,
            summary: $summary,
            doc: $doc,
        }
    };
}

pub const E001: Code = code!(
    "E001",
    "syntax",
    Error,
    "the text is not a netc statement",
    "What it does: reports text that the grammar (grammar/netc.ebnf) does not accept.\n\
         Why: netc cannot guess what a plan means; it skips to the next line and reports every\n\
         such line in one run.\n\
         Example:\n    vlan ten mgmt        # the VLAN id must be a number\n    vlan 10 mgmt"
);

pub const E002: Code = code!("E002", "include-cycle", Error, "files include each other in a cycle",
        "What it does: reports an include chain that comes back to a file already being read.\n\
         Why: the plan would be infinite.\n\
         Example:\n    # a.netc\n    include \"b.netc\"\n    # b.netc\n    include \"a.netc\"   # closes the cycle");

pub const E003: Code =
    code!("E003", "include-error", Error, "an included file cannot be read",
        "What it does: reports an include whose file is missing, a directory, a device, too large\n\
         or nested too deep.\n\
         Why: a plan must be complete to be checked.\n\
         Example:\n    include \"vlans.netc\"   # relative to the including file");

pub const E004: Code = code!(
    "E004",
    "bad-text",
    Error,
    "a plan file is not UTF-8 text",
    "What it does: reports invalid UTF-8 and NUL bytes, at the first offending byte.\n\
         Why: plan files are text reviewed by people; binary content is a mistake or an attack.\n\
         Example: a file saved as UTF-16, or with a NUL byte pasted in."
);

pub const E010: Code = code!("E010", "duplicate-name", Error, "two objects have the same name",
        "What it does: reports a name declared twice. VLANs, tiers, hosts, VIPs, services,\n\
         networks and routers share one namespace; zones have their own.\n\
         Why: flows refer to objects by name; a name must mean one thing.\n\
         Example:\n    tier catalog on app-catalog\n    service catalog tcp/19120   # rename one of them");

pub const E011: Code = code!(
    "E011",
    "undefined-name",
    Error,
    "a name is used but never declared",
    "What it does: reports a reference to a name that no declaration has, with the closest\n\
         declared name as a suggestion.\n\
         Why: a typo in a flow would otherwise silently open or close nothing.\n\
         Example:\n    allow processing -> catalgo : postgres   # did you mean `catalog`?"
);

pub const E012: Code = code!(
    "E012",
    "wrong-kind",
    Error,
    "a name refers to the wrong kind of object",
    "What it does: reports a reference whose target exists but is not of the kind expected\n\
         there (a host `in` a VIP, a service used as a flow source).\n\
         Why: the statement has no meaning with that object.\n\
         Example:\n    host pg01 in pg-vip   # `in` takes a tier"
);

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

pub const E020: Code = code!(
    "E020",
    "vlan-id-range",
    Error,
    "a VLAN id is outside 1-4094 or reserved",
    "What it does: reports VLAN ids outside 1-4094, and the ids switches refuse to create:\n\
         1 (the default VLAN) and 1002-1005 (reserved on Cisco IOS).\n\
         Why: the switch configs netc generates would be rejected.\n\
         Example:\n    vlan 1003 legacy   # pick an id outside 1002-1005"
);

pub const E021: Code = code!(
    "E021",
    "duplicate-vlan-id",
    Error,
    "two VLANs have the same id",
    "What it does: reports a VLAN id declared twice.\n\
         Why: on a switch one id is one broadcast domain; two names would merge silently.\n\
         Example:\n    vlan 20 app-lb\n    vlan 20 app-catalog   # use 21"
);

pub const E030: Code = code!("E030", "overlapping-subnets", Error, "two subnets of one VRF overlap",
        "What it does: reports subnets in the same VRF whose address ranges overlap.\n\
         Why: routing between them is ambiguous and addresses may be assigned twice.\n\
         Example:\n    vlan 20 a { subnet 10.20.0.0/16 }\n    vlan 21 b { subnet 10.20.1.0/24 }   # inside 10.20.0.0/16\n\
         Put overlapping subnets in different VRFs (`vrf NAME`) if that is really intended.");

pub const E031: Code = code!("E031", "address-outside-subnet", Error, "an address is not in a subnet of its VLAN",
        "What it does: reports a host, VIP, router, gateway, pool or reserved address that is not\n\
         inside a subnet of the VLAN it is declared on (for VIPs: any subnet of the plan).\n\
         Why: the device could not use it; the address is a typo or on the wrong VLAN.\n\
         Example:\n    host pg01 in catalog { app-catalog 10.20.11.11 }   # app-catalog is 10.20.10.0/24");

pub const E032: Code = code!(
    "E032",
    "network-or-broadcast-address",
    Error,
    "an address is its subnet's network or broadcast address",
    "What it does: reports host, VIP, router and gateway addresses equal to the first or the\n\
         last address of an IPv4 subnet (except /31 and /32).\n\
         Why: those addresses cannot be assigned to an interface.\n\
         Example:\n    host a in t { app 10.20.10.255 }   # broadcast of 10.20.10.0/24"
);

pub const E033: Code = code!("E033", "duplicate-address", Error, "one address is assigned twice",
        "What it does: reports an address used by two interfaces, VIPs, routers or gateways.\n\
         Why: two devices with one address break each other (ARP flapping).\n\
         Example:\n    host pg01 in catalog { mgmt 10.10.0.31 }\n    host pg02 in catalog { mgmt 10.10.0.31 }");

pub const E035: Code = code!("E035", "overlapping-vrfs-on-host", Error, "a host with a firewall sits in two VRFs that share addresses",
        "What it does: reports a host whose firewall netc manages, with interfaces in two routing\n\
         domains (VRFs no router joins) whose subnets overlap.\n\
         Why: a host firewall matches addresses, not interfaces: 10.0.0.5 of one VRF and 10.0.0.5 of\n\
         the other would be one source to it, so rules for one VRF would also admit the other, and\n\
         nftables refuses the ruleset (overlapping set elements).\n\
         Example:\n    vlan 10 corp vrf corp { subnet 10.0.0.0/24 }\n    vlan 20 ot vrf ot { subnet 10.0.0.0/24 }\n    host jump in t { corp 10.0.0.5 ot 10.0.0.6 }");

pub const E034: Code = code!("E034", "outside-pool", Error, "a host address is outside its tier's pool",
        "What it does: where a VLAN declares `pool RANGE for TIER`, reports hosts of that tier\n\
         whose address on that VLAN is outside every pool of the tier, and hosts of other tiers\n\
         whose address is inside it.\n\
         Why: the address plan is how people find hosts and write ACLs; it must stay true.\n\
         Example:\n    vlan 10 mgmt { subnet 10.10.0.0/24  pool 10.10.0.31-50 for catalog }\n    host pg01 in catalog { mgmt 10.10.0.60 }");

pub const E040: Code = code!(
    "E040",
    "vrid-range",
    Error,
    "a VRRP router id is outside 1-255",
    "What it does: reports explicit `vrid` values outside 1-255.\n\
         Why: VRRP ids are one byte and 0 is invalid; keepalived refuses them.\n\
         Example:\n    vip pg-vip 10.20.10.100 for pg01, pg02 vrid 300"
);

pub const E041: Code = code!("E041", "duplicate-vrid", Error, "two VIPs on one VLAN share a VRRP router id",
        "What it does: reports two VIPs of one VLAN with the same VRRP id (explicit or assigned).\n\
         Why: VRRP instances with one id on one segment fight over the same virtual MAC.\n\
         Example:\n    vip a 10.20.10.100 for pg01, pg02 vrid 10\n    vip b 10.20.10.101 for pg01, pg02 vrid 10");

pub const E042: Code = code!(
    "E042",
    "vip-member",
    Error,
    "a VIP member has no interface on the VIP's VLAN",
    "What it does: reports VIP members that cannot hold the address: they have no interface\n\
         on the VLAN of the VIP, or are listed twice.\n\
         Why: keepalived on that host would have no interface to put the VIP on.\n\
         Example:\n    vip pg-vip 10.20.10.100 for pg01, lb01   # lb01 is not on app-catalog"
);

pub const E050: Code = code!("E050", "empty-endpoint", Error, "a flow's source or destination has no address",
        "What it does: reports flow endpoints that stand for no address: a tier without hosts, a\n\
         VLAN without subnets.\n\
         Why: the rule would silently allow nothing; it is a mistake in the plan.\n\
         Example:\n    tier spare on app-lb\n    allow spare -> catalog : postgres   # spare has no hosts");

pub const E060: Code = code!(
    "E060",
    "invalid-dns-name",
    Error,
    "a DNS name is not a valid hostname",
    "What it does: reports zone names, host and VIP names and record names and targets that\n\
         are not valid hostnames (RFC 1123 labels of letters, digits and inner hyphens, at most\n\
         63 bytes a label and 253 a name).\n\
         Why: BIND rejects or rewrites such names; resolvers may not look them up.\n\
         Example:\n    host pg_01 in catalog   # `_` is not allowed in a hostname label"
);

pub const W061: Code = code!(
    "W061",
    "local-zone",
    Warning,
    "a zone under .local",
    "What it does: warns about zones named `local` or ending in `.local`.\n\
         Why: `.local` is reserved for multicast DNS (RFC 6762); many resolvers never send such\n\
         names to a DNS server. Acknowledge with `local-ok` inside the zone when this is known.\n\
         Example:\n    zone datalyptica.local { local-ok }"
);

pub const E062: Code =
    code!("E062", "dns-conflict", Error, "DNS records that BIND would refuse or merge",
        "What it does: reports a CNAME beside other data of one name, one name with two different\n\
         addresses of one family from two sources, a record outside every zone of the plan, a\n\
         CNAME whose target is not a name, and a reverse record that would not match its forward.\n\
         Why: BIND silently merges duplicates and refuses CNAMEs beside data; the zone would not\n\
         say what the plan says.\n\
         Example:\n    zone ex.com { record www cname lb  record www a 10.0.0.1 }");

pub const E063: Code = code!("E063", "reverse-zone", Error, "a subnet cannot get a reverse zone as declared",
        "What it does: reports subnets whose reverse zone netc cannot generate (prefixes shorter\n\
         than /16 for IPv4, or not on a nibble boundary for IPv6).\n\
         Why: PTR records for them would be incomplete.\n\
         Example:\n    vlan 30 big { subnet 10.0.0.0/8 }   # split it, or serve the reverse zone by hand");

pub const E065: Code = code!("E065", "internal-in-external-zone", Error, "a zone the internet is answered from publishes an internal address or name",
        "What it does: reports, in a zone with `view external`, a record whose address is internal\n\
         (RFC 1918, 100.64/10, loopback, link-local, IPv6 ULA) or that points to a name of a zone\n\
         only the plan's clients see (or under .local), and name servers with such names.\n\
         Why: split-horizon DNS exists so that internal names and addresses never reach the\n\
         internet; an external zone that carries them leaks the inside of the network.\n\
         Example:\n    zone example.com { view external  record db a 10.20.10.11 }   # use `view both`");

pub const W089: Code = code!("W089", "name-server-unreachable", Warning, "the internet cannot reach a name server of a zone it is answered from",
        "What it does: for each zone with `view external` or `view both`, reports a name server\n\
         whose address is inside the plan's subnets but is no host or VIP of the plan, or that\n\
         the plan does not let the internet reach on dns (udp/53 and tcp/53).\n\
         Why: the zone is published to the internet, but its name server does not answer there.\n\
         Example:\n    zone example.com { view both  ns ns1 203.0.113.2 }   # no host has 203.0.113.2");

pub const E064: Code = code!("E064", "switch-config", Error, "a switch would refuse its configuration",
        "What it does: reports switch declarations a switch would refuse: aggregate ports not\n\
         named as the platform names them (IOS Port-channelN, EOS Port-ChannelN, Junos aeN,\n\
         Linux bondN), Linux interface names over 15 bytes, VLAN names longer than the\n\
         platform allows (32 on IOS and EOS), a port declared twice, a host interface that does\n\
         not exist, a switch declared twice.\n\
         Why: the generated config would fail to load, or configure another port.\n\
         Example:\n    switch tor1 eos { bond Po11 members Ethernet1, Ethernet2 vlan app }   # Port-Channel11");

pub const W070: Code =
    code!("W070", "unused", Warning, "an object is declared but never used",
        "What it does: warns about services, networks and VLANs that nothing refers to, and tiers\n\
         without hosts.\n\
         Why: dead declarations mislead reviewers and hide typos.\n\
         Example:\n    service kafka tcp/9092   # no flow uses it");

pub const W080: Code = code!("W080", "shadowed-rule", Warning, "an allow rule that deny rules cancel completely",
        "What it does: reports an `allow` every packet of which is also matched by `deny` rules,\n\
         naming those rules. In netc deny wins whatever the order, so the allow never permits\n\
         anything.\n\
         Why: the author meant something by it; either the allow or the deny is wrong.\n\
         Example:\n    deny internet -> catalog : any\n    allow internet -> catalog : postgres   # never permits anything");

pub const W081: Code = code!("W081", "redundant-rule", Warning, "a rule whose removal changes nothing",
        "What it does: reports a rule whose packets are all matched by other rules of the same\n\
         action, naming them.\n\
         Why: redundant rules make the plan longer to review and drift apart over time.\n\
         Example:\n    allow processing -> catalog : any\n    allow processing -> catalog : postgres   # already allowed");

pub const W082: Code = code!(
    "W082",
    "overbroad-rule",
    Warning,
    "a rule that allows far more than a service",
    "What it does: reports allows from `internet` to internal addresses on any port, allows\n\
         whose source and destination are both `internet`-wide, and port ranges wider than 1024\n\
         ports.\n\
         Why: such rules usually stand in for a missing, precise rule.\n\
         Example:\n    allow internet -> lb : any   # write the service: tcp/443"
);

pub const W083: Code = code!(
    "W083",
    "vip-contradiction",
    Warning,
    "a VIP and its members are reachable differently",
    "What it does: reports a service that some tier may reach on a VIP but not on the member\n\
         hosts behind it, or the reverse.\n\
         Why: the hosts' firewalls decide for the VIP too (they hold it); a difference is usually\n\
         a rule written against the wrong one.\n\
         Example:\n    allow query -> pg-vip : postgres   # but not -> catalog"
);

pub const W084: Code = code!("W084", "unreachable-access", Warning, "a rule makes a firewall accept what no path delivers",
        "What it does: reports an allow rule whose packets some enforcement point accepts (a\n\
         host's firewall, a router's ruleset) although no path of the plan carries them: the\n\
         subnets are joined by no router, or sit in VRFs that no router joins.\n\
         Why: the access is configured but not reachable; a route the plan does not model (a VPN,\n\
         a static route) opens it, and no gate counts it as reachable.\n\
         Example:\n    network admins 198.51.100.0/28\n    allow admins -> catalog : postgres   # no router brings admins to catalog");

pub const W085: Code = code!("W085", "reply-fails", Warning, "a multi-homed host answers through an interface that leads nowhere",
        "What it does: reports an allow rule whose requests reach a host with several interfaces\n\
         that answers through another one (its default route: the tier's first VLAN), from where\n\
         no router leads back, or only through a router that did not see the request.\n\
         Why: the firewalls accept the request but the connection never completes; stateful\n\
         firewalls drop replies they have no connection for.\n\
         Example:\n    tier lb on app, dmz   # default route on app\n    allow internet -> lb : https   # arrives on dmz, answered through app");

pub const W086: Code = code!("W086", "vlan-island", Warning, "a switch gives hosts a VLAN that no uplink of it carries",
        "What it does: reports a VLAN on a switch's host ports that none of the switch's other\n\
         ports (its uplinks) carries and that the switch does not route, while the VLAN's\n\
         gateway or other hosts of the VLAN are elsewhere.\n\
         Why: every port is configured as the plan says, yet the hosts on that switch are an\n\
         island: no frame of the VLAN leaves the switch.\n\
         Example:\n    switch tor1 eos {\n      trunk Ethernet49 vlans app          # no `mgmt` here\n      port Ethernet1 host lb01 dev eth0   # eth0 is on mgmt\n    }");

pub const W087: Code = code!("W087", "deny-removes-nothing", Warning, "a deny rule that no allow rule overlaps",
        "What it does: reports a `deny` none of whose packets any `allow` permits.\n\
         Why: in netc a deny only takes away what allows permit (everything else is dropped by\n\
         default), so the rule changes nothing; it is a leftover, or it names the wrong tier,\n\
         service or address.\n\
         Example:\n    allow web -> db : postgres\n    deny web -> db : tcp/80   # nothing allows tcp/80 anyway");

pub const W088: Code = code!("W088", "stale-ack", Warning, "an acknowledgement that acknowledges nothing",
        "What it does: reports a `# netc-ack CODE: reason` comment that no warning of that code\n\
         on its line matches, that names an unknown code or an error (errors cannot be\n\
         acknowledged), or that gives no reason.\n\
         Why: an acknowledgement outlives the warning it was written for; left in place it would\n\
         silently acknowledge the next warning of that code on the line.\n\
         Example:\n    allow web -> db : any   # netc-ack W082: legacy ERP, INC-1234\n    # W088 when the rule no longer draws W082");

pub const W090: Code = code!("W090", "blind-health-check", Warning, "a VIP of a replicated database checks only its port",
        "What it does: reports a VIP of several members whose health check is the port of a\n\
         store with one writable primary and replicas (PostgreSQL 5432, MySQL 3306, SQL Server\n\
         1433, Oracle 1521, Redis 6379, MongoDB 27017).\n\
         Why: every member answers on the port, primary or replica, so keepalived may keep the\n\
         address on a read-only replica after a failover; writes through the VIP fail. Give a\n\
         check that succeeds on the primary only (`check \"COMMAND\"`, run by keepalived).\n\
         Example:\n    vip pg-vip 10.20.10.100 for pg01, pg02 check tcp/5432\n    # better: check \"/usr/bin/curl -sf http://127.0.0.1:8008/primary\"   (Patroni)");

pub const E090: Code = code!("E090", "management-lockout", Error, "the ruleset would cut administrators off a host",
        "What it does: for each `management SOURCES -> VLAN : SERVICES` statement, reports hosts\n\
         on that VLAN that the management sources could not reach on those services under the\n\
         plan's flows. `except HOST, ...` acknowledges hosts that are meant to be cut off.\n\
         Why: loading a ruleset that drops SSH from the bastion locks everyone out.\n\
         Example:\n    management bastion -> mgmt : ssh\n    deny bastion -> catalog : any   # would lock out the catalog hosts");

pub const E091: Code = code!("E091", "no-route", Error, "a router or host cannot be placed on the network",
        "What it does: reports routers without an address on a VLAN they declare (no address and\n\
         no gateway to take), and hosts without any interface.\n\
         Why: netc could not compute paths or generate their configs.\n\
         Example:\n    router core { app-lb }   # app-lb declares no gateway: write `app-lb 10.20.1.1`");

/// Every code, in the order `netc explain` lists them.
pub const ALL: &[Code] = &[
    E001, E002, E003, E004, E010, E011, E012, E013, E020, E021, E030, E031, E032, E033, E035, E034,
    E040, E041, E042, E050, E060, W061, E062, E063, E065, W089, E064, W070, W080, W081, W082, W083,
    W084, W085, W086, W087, W088, W090, E090, E091,
];
