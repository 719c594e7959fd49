//! What each switch platform refuses and assumes, in one place: aggregate port names, VLAN
//! name lengths, the MTUs it takes, and the models netc knows (their port names and counts,
//! whether a trunk must choose its encapsulation). Checks (`check/switch_config.rs`,
//! `check/switch_model.rs`) and the switch targets read these facts; nothing else repeats them.

use crate::ir::Platform;

impl Platform {
    /// The longest VLAN name the platform stores.
    /// IOS: `name vlan-name` is 1-32 characters (Catalyst 9300 VLAN configuration guide);
    /// EOS: `name` takes up to 32 characters (EOS manual, VLAN configuration); Junos: VLAN
    /// names up to 255 characters; Linux bridges do not name VLANs.
    pub fn max_vlan_name(self) -> usize {
        match self {
            Platform::Ios | Platform::Eos => 32,
            Platform::Junos => 255,
            Platform::Linux => usize::MAX,
        }
    }

    /// The prefix of aggregate (LACP) interface names, followed by a number: IOS
    /// `interface Port-channel N`, EOS `interface Port-Channel N`, Junos `aeN`, Linux bonds.
    pub fn aggregate_prefix(self) -> &'static str {
        match self {
            Platform::Ios => "Port-channel",
            Platform::Eos => "Port-Channel",
            Platform::Junos => "ae",
            Platform::Linux => "bond",
        }
    }

    /// The models netc knows on this platform.
    pub fn models(self) -> impl Iterator<Item = &'static Model> {
        MODELS.iter().filter(move |m| m.platform == self)
    }

    pub fn model(self, name: &str) -> Option<&'static Model> {
        self.models().find(|m| m.name.eq_ignore_ascii_case(name))
    }
}

/// One group of front-panel ports of a model: interface type, module (IOS) or PIC (Junos),
/// and the port numbers as the platform counts them (Junos from 0, IOS and EOS from 1).
#[derive(Debug)]
pub struct PortGroup {
    pub kind: &'static str,
    pub module: u32,
    pub first: u32,
    pub last: u32,
    /// EOS QSFP ports are named by lane (`Ethernet49/1` .. `/4`); 0 for ports without lanes.
    pub lanes: u32,
}

/// A switch model: its ports, how many members a stack or virtual chassis may have, and the
/// defaults that change what netc must write.
#[derive(Debug)]
pub struct Model {
    pub name: &'static str,
    pub platform: Platform,
    pub ports: &'static [PortGroup],
    /// Stack (IOS), virtual-chassis (Junos) members; 1 for a fixed box.
    pub members: u32,
    /// The platform also speaks ISL: a trunk must say `switchport trunk encapsulation dot1q`
    /// before `switchport mode trunk`, which it refuses otherwise ("An interface whose trunk
    /// encapsulation is 'Auto' can not be configured to 'trunk' mode").
    pub trunk_encapsulation: bool,
    /// The largest MTU of a routed VLAN interface (SVI, irb), if the model limits it below the
    /// frame size.
    pub max_l3_mtu: Option<u32>,
    /// Jumbo frames are one global setting (`system mtu jumbo N`), not an interface `mtu`
    /// (which the model refuses): the largest frame it then takes.
    pub system_jumbo: Option<u32>,
}

const fn group(kind: &'static str, module: u32, first: u32, last: u32, lanes: u32) -> PortGroup {
    PortGroup {
        kind,
        module,
        first,
        last,
        lanes,
    }
}

pub const MODELS: &[Model] = &[
    Model {
        name: "catalyst-9300-48",
        platform: Platform::Ios,
        // C9300-48T/P/U: 48 downlinks Gi N/0/1-48; network module C9300-NM-8X: Te N/1/1-8.
        ports: &[
            group("GigabitEthernet", 0, 1, 48, 0),
            group("TenGigabitEthernet", 1, 1, 8, 0),
        ],
        members: 8,
        trunk_encapsulation: false,
        max_l3_mtu: Some(9198),
        system_jumbo: None,
        // Source: Cisco Catalyst 9300 Series Hardware Installation Guide (interface numbering); Interface and Hardware Components Configuration Guide, Cisco IOS XE (system mtu 1500-9198, 802.1Q only).
    },
    Model {
        name: "catalyst-3750x-48",
        platform: Platform::Ios,
        // WS-C3750X-48T/P: Gi N/0/1-48; network module C3KX-NM-10G: Te N/1/1-2.
        ports: &[
            group("GigabitEthernet", 0, 1, 48, 0),
            group("TenGigabitEthernet", 1, 1, 2, 0),
        ],
        members: 9,
        trunk_encapsulation: true,
        max_l3_mtu: Some(1998),
        system_jumbo: Some(9000),
        // Source: Catalyst 3750-X and 3560-X Switch Software Configuration Guide: Configuring VLANs (trunk encapsulation ISL/802.1Q/negotiate), Configuring Interface Characteristics (system mtu jumbo up to 9000 for all Gigabit ports, no interface mtu; system mtu routing up to 1998).
    },
    Model {
        name: "dcs-7050sx-64",
        platform: Platform::Eos,
        // 48 SFP+ Ethernet1-48, 4 QSFP+ Ethernet49/1-52/4.
        ports: &[
            group("Ethernet", 0, 1, 48, 0),
            group("Ethernet", 0, 49, 52, 4),
        ],
        members: 1,
        trunk_encapsulation: false,
        max_l3_mtu: Some(9214),
        system_jumbo: None,
        // Source: Arista 7050X Series Quick Start Guide (port numbering); EOS User Manual: Ethernet Ports (QSFP+ lanes /1-/4), mtu 68-9214.
    },
    Model {
        name: "dcs-7050sx-128",
        platform: Platform::Eos,
        // 96 SFP+ Ethernet1-96, 8 QSFP+ Ethernet97/1-104/4.
        ports: &[
            group("Ethernet", 0, 1, 96, 0),
            group("Ethernet", 0, 97, 104, 4),
        ],
        members: 1,
        trunk_encapsulation: false,
        max_l3_mtu: Some(9214),
        system_jumbo: None,
        // Source: Arista 7050X Series Quick Start Guide (port numbering); EOS User Manual: Ethernet Ports (QSFP+ lanes /1-/4), mtu 68-9214.
    },
    Model {
        name: "qfx5100-48s",
        platform: Platform::Junos,
        // 48 SFP+ xe-N/0/0-47, 6 QSFP+ et-N/0/48-53.
        ports: &[group("xe", 0, 0, 47, 0), group("et", 0, 48, 53, 0)],
        members: 10,
        trunk_encapsulation: false,
        max_l3_mtu: None,
        system_jumbo: None,
        // Source: QFX5100 Switch Hardware Guide: Interface Naming (xe-0/0/0 to xe-0/0/47, et-0/0/48 to et-0/0/53); Virtual Chassis up to 10 members.
    },
    Model {
        name: "qfx5100-96s",
        platform: Platform::Junos,
        // 96 SFP+ xe-N/0/0-95, 8 QSFP+ et-N/0/96-103.
        ports: &[group("xe", 0, 0, 95, 0), group("et", 0, 96, 103, 0)],
        members: 10,
        trunk_encapsulation: false,
        max_l3_mtu: None,
        system_jumbo: None,
        // Source: QFX5100 Switch Hardware Guide: Interface Naming (xe-0/0/0 to xe-0/0/95, et-0/0/96 to et-0/0/103); Virtual Chassis up to 10 members.
    },
];

impl Model {
    /// Why `port` is not a front-panel port of this model (None when it is one).
    pub fn port_problem(&self, port: &str) -> Option<String> {
        let Some(digits) = port.find(|c: char| c.is_ascii_digit()) else {
            return Some(format!("`{port}` has no port number"));
        };
        let (kind, numbers) = port.split_at(digits);
        let kind = match self.platform {
            Platform::Junos => kind.strip_suffix('-').unwrap_or(kind),
            _ => kind,
        };
        let parts: Option<Vec<u32>> = numbers.split('/').map(|n| n.parse().ok()).collect();
        let kinds: Vec<&str> = {
            let mut k: Vec<&str> = self.ports.iter().map(|g| g.kind).collect();
            k.dedup();
            k
        };
        if !kinds.contains(&kind) {
            return Some(format!(
                "`{port}` is not a port of {}: it has no {kind} ports, only {}",
                self.name,
                kinds.join(" and ")
            ));
        }
        let Some(parts) = parts else {
            return Some(format!(
                "`{port}` is not numbered as {} numbers its ports",
                self.name
            ));
        };
        let layout = |s: &str| format!("`{port}` is not a port of {}: {s}", self.name);
        // (member, module, port, lane) as the platform writes them.
        let (member, module, number, lane) = match (self.platform, parts.as_slice()) {
            (Platform::Ios, [m, module, p]) => (*m, *module, *p, None),
            (Platform::Ios, _) => return Some(layout("IOS names ports TYPE MEMBER/MODULE/PORT")),
            (Platform::Junos, [fpc, pic, p]) => (*fpc + 1, *pic, *p, None),
            (Platform::Junos, _) => return Some(layout("Junos names ports TYPE-FPC/PIC/PORT")),
            (_, [p]) => (1, 0, *p, None),
            (_, [p, lane]) => (1, 0, *p, Some(*lane)),
            _ => return Some(layout("EOS names ports EthernetN or EthernetN/LANE")),
        };
        if member == 0 || member > self.members {
            return Some(match self.platform {
                Platform::Junos => layout(&format!(
                    "virtual-chassis members are FPC 0-{}",
                    self.members - 1
                )),
                _ => layout(&format!("stack members are 1-{}", self.members)),
            });
        }
        let group = self
            .ports
            .iter()
            .find(|g| g.kind == kind && g.module == module && (g.first..=g.last).contains(&number));
        let Some(group) = group else {
            let ranges: Vec<String> = self
                .ports
                .iter()
                .filter(|g| g.kind == kind)
                .map(|g| match self.platform {
                    Platform::Eos => format!("{kind}{}-{}", g.first, g.last),
                    Platform::Junos => format!("PIC {} ports {}-{}", g.module, g.first, g.last),
                    _ => format!("module {} ports {}-{}", g.module, g.first, g.last),
                })
                .collect();
            return Some(layout(&format!(
                "its {kind} ports are {}",
                ranges.join(", ")
            )));
        };
        match (group.lanes, lane) {
            (0, None) => None,
            (0, Some(_)) => Some(layout(&format!("{kind}{number} has no lanes"))),
            (n, None) => Some(layout(&format!(
                "{kind}{number} is a QSFP port: name a lane, {kind}{number}/1 to /{n}"
            ))),
            (n, Some(l)) if l == 0 || l > n => {
                Some(layout(&format!("{kind}{number} has lanes 1-{n}")))
            }
            _ => None,
        }
    }
}
