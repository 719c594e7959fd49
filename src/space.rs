//! Header spaces: exact sets of addresses and services, and boxes of (source, destination,
//! service). Policy analysis, queries and targets all compute with these, never with samples.
//!
//! An address's identity is (routing domain, family, address): a routing domain is a set of
//! VRFs joined by routers (see `ir::Plan::domains`); domain 0 holds the default VRF and every
//! address outside the plan (the internet). IPv4 and IPv6 are separate families, so no IPv6
//! prefix ever contains an IPv4 address. A `Key` orders them domain-major, then family, then
//! address: each (domain, family) is one contiguous run of keys.
//! Services live in the same kind of space (domain 0, IPv4 run unused): `proto << 16 | port`
//! (ICMP covers its whole block).

use crate::ir::Proto;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A point of header space: `hi` is `domain << 1 | is_ipv6` for addresses (0 for services),
/// `lo` the address (or the service).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Key {
    pub hi: u128,
    pub lo: u128,
}

impl Key {
    pub const MIN: Key = Key { hi: 0, lo: 0 };
    pub const MAX: Key = Key {
        hi: u128::MAX,
        lo: u128::MAX,
    };

    pub const fn new(hi: u128, lo: u128) -> Key {
        Key { hi, lo }
    }

    /// The next key (saturating at `MAX`).
    pub fn succ(self) -> Key {
        match self.lo.checked_add(1) {
            Some(lo) => Key { hi: self.hi, lo },
            None if self.hi == u128::MAX => Key::MAX,
            None => Key {
                hi: self.hi + 1,
                lo: 0,
            },
        }
    }

    /// The previous key (saturating at `MIN`).
    pub fn pred(self) -> Key {
        match self.lo.checked_sub(1) {
            Some(lo) => Key { hi: self.hi, lo },
            None if self.hi == 0 => Key::MIN,
            None => Key {
                hi: self.hi - 1,
                lo: u128::MAX,
            },
        }
    }
}

impl From<u128> for Key {
    fn from(lo: u128) -> Key {
        Key { hi: 0, lo }
    }
}

/// A set of keys as sorted, disjoint, non-adjacent inclusive ranges.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Set {
    /// Shared: endpoint sets are cloned into every rule, box and piece that uses them.
    ranges: std::sync::Arc<[(Key, Key)]>,
}

/// Hashes at most 8 ranges, spread over the set, not all: sets are hashed as memo keys, often
/// with hundreds of ranges each, and equal sets still hash alike.
impl std::hash::Hash for Set {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let r = &self.ranges;
        r.len().hash(state);
        let step = r.len().div_ceil(8).max(1);
        for x in r.iter().step_by(step) {
            x.hash(state);
        }
        if let Some(last) = r.last() {
            last.hash(state);
        }
    }
}

impl Set {
    pub fn empty() -> Set {
        Set {
            ranges: std::sync::Arc::from([]),
        }
    }

    pub fn full() -> Set {
        Set {
            ranges: std::sync::Arc::from([(Key::MIN, Key::MAX)]),
        }
    }

    pub fn range(lo: impl Into<Key>, hi: impl Into<Key>) -> Set {
        let (lo, hi) = (lo.into(), hi.into());
        if lo > hi {
            return Set::empty();
        }
        Set {
            ranges: std::sync::Arc::from([(lo, hi)]),
        }
    }

    pub fn point(k: impl Into<Key>) -> Set {
        let k = k.into();
        Set::range(k, k)
    }

    /// The union of many sets at once: one sort, not one merge per set (a service of 64,000
    /// port specs costs 64,000 log 64,000, not 64,000 squared).
    pub fn union_all(sets: impl IntoIterator<Item = Set>) -> Set {
        Set::from_ranges(
            sets.into_iter()
                .flat_map(|s| s.ranges().to_vec())
                .collect::<Vec<_>>(),
        )
    }

    pub fn from_ranges(iter: impl IntoIterator<Item = (Key, Key)>) -> Set {
        let mut ranges: Vec<(Key, Key)> = iter.into_iter().filter(|(a, b)| a <= b).collect();
        ranges.sort_unstable();
        let mut out: Vec<(Key, Key)> = Vec::with_capacity(ranges.len());
        for (lo, hi) in ranges {
            if let Some(last) = out.last_mut() {
                if lo <= last.1.succ() {
                    last.1 = last.1.max(hi);
                    continue;
                }
            }
            out.push((lo, hi));
        }
        Set { ranges: out.into() }
    }

    pub fn ranges(&self) -> &[(Key, Key)] {
        &self.ranges
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    pub fn first(&self) -> Option<Key> {
        self.ranges.first().map(|r| r.0)
    }

    pub fn contains(&self, k: impl Into<Key>) -> bool {
        let k = k.into();
        let i = self.ranges.partition_point(|r| r.1 < k);
        i < self.ranges.len() && self.ranges[i].0 <= k
    }

    pub fn union(&self, other: &Set) -> Set {
        if other.is_empty() || self.ranges == other.ranges {
            return self.clone();
        }
        if self.is_empty() {
            return other.clone();
        }
        // Both sorted: merge them, joining ranges that touch.
        let (a, b) = (&self.ranges, &other.ranges);
        let mut out: Vec<(Key, Key)> = Vec::with_capacity(a.len() + b.len());
        let (mut i, mut j) = (0, 0);
        while i < a.len() || j < b.len() {
            let next = if j >= b.len() || (i < a.len() && a[i].0 <= b[j].0) {
                i += 1;
                a[i - 1]
            } else {
                j += 1;
                b[j - 1]
            };
            match out.last_mut() {
                Some(last) if next.0 <= last.1.succ() => last.1 = last.1.max(next.1),
                _ => out.push(next),
            }
        }
        Set { ranges: out.into() }
    }

    pub fn intersect(&self, other: &Set) -> Set {
        let (a, b) = (&self.ranges, &other.ranges);
        let (mut i, mut j) = (0, 0);
        let mut out = Vec::new();
        while i < a.len() && j < b.len() {
            let lo = a[i].0.max(b[j].0);
            let hi = a[i].1.min(b[j].1);
            if lo <= hi {
                out.push((lo, hi));
            }
            if a[i].1 < b[j].1 {
                i += 1;
            } else {
                j += 1;
            }
        }
        Set { ranges: out.into() }
    }

    pub fn intersects(&self, other: &Set) -> bool {
        let (a, b) = (&self.ranges, &other.ranges);
        let (mut i, mut j) = (0, 0);
        while i < a.len() && j < b.len() {
            if a[i].0.max(b[j].0) <= a[i].1.min(b[j].1) {
                return true;
            }
            if a[i].1 < b[j].1 {
                i += 1;
            } else {
                j += 1;
            }
        }
        false
    }

    pub fn difference(&self, other: &Set) -> Set {
        let mut out = Vec::new();
        let mut j = 0;
        for &(lo, hi) in self.ranges.iter() {
            let mut cur = lo;
            let mut done = false;
            while j < other.ranges.len() && other.ranges[j].1 < cur {
                j += 1;
            }
            let mut k = j;
            while k < other.ranges.len() && other.ranges[k].0 <= hi {
                let (olo, ohi) = other.ranges[k];
                if olo > cur {
                    out.push((cur, olo.pred()));
                }
                if ohi >= hi {
                    done = true;
                    break;
                }
                cur = cur.max(ohi.succ());
                k += 1;
            }
            if !done {
                out.push((cur, hi));
            }
        }
        Set { ranges: out.into() }
    }

    pub fn is_subset(&self, other: &Set) -> bool {
        self.difference(other).is_empty()
    }

    /// Number of keys, saturating.
    pub fn size(&self) -> u128 {
        self.ranges.iter().fold(0u128, |acc, (lo, hi)| {
            let n = if lo.hi == hi.hi {
                (hi.lo - lo.lo).saturating_add(1)
            } else {
                u128::MAX
            };
            acc.saturating_add(n)
        })
    }
}

// ---- addresses ----

/// The `hi` half of the keys of `domain` and a family.
pub const fn run(domain: u32, v4: bool) -> u128 {
    ((domain as u128) << 1) | if v4 { 0 } else { 1 }
}

/// The key of an address in a routing domain.
pub fn key(domain: u32, addr: IpAddr) -> Key {
    match addr {
        IpAddr::V4(a) => Key::new(run(domain, true), u32::from(a) as u128),
        IpAddr::V6(a) => Key::new(run(domain, false), u128::from(a)),
    }
}

/// The address of a key, without its domain.
pub fn key_addr(k: Key) -> IpAddr {
    if is_v4_key(k) {
        IpAddr::V4(Ipv4Addr::from(k.lo as u32))
    } else {
        IpAddr::V6(Ipv6Addr::from(k.lo))
    }
}

/// The routing domain of a key.
pub fn key_domain(k: Key) -> u32 {
    (k.hi >> 1) as u32
}

pub fn is_v4_key(k: Key) -> bool {
    k.hi & 1 == 0
}

/// The same address in another domain.
pub fn rehome(k: Key, domain: u32) -> Key {
    Key::new(run(domain, is_v4_key(k)), k.lo)
}

/// Every address of one family in one domain.
pub fn family_run(domain: u32, v4: bool) -> Set {
    let max = if v4 { u32::MAX as u128 } else { u128::MAX };
    Set::range(Key::new(run(domain, v4), 0), Key::new(run(domain, v4), max))
}

/// Every address of domains `0..domains` (both families).
pub fn universe(domains: u32) -> Set {
    Set::from_ranges((0..domains.max(1)).flat_map(|d| {
        [true, false].map(|v4| {
            let max = if v4 { u32::MAX as u128 } else { u128::MAX };
            (Key::new(run(d, v4), 0), Key::new(run(d, v4), max))
        })
    }))
}

/// Every address of one domain (both families).
pub fn domain_space(domain: u32) -> Set {
    family_run(domain, true).union(&family_run(domain, false))
}

/// Every address of one family, in domains `0..domains`.
pub fn family_space(domains: u32, v4: bool) -> Set {
    Set::from_ranges((0..domains.max(1)).map(|d| {
        let max = if v4 { u32::MAX as u128 } else { u128::MAX };
        (Key::new(run(d, v4), 0), Key::new(run(d, v4), max))
    }))
}

/// A prefix in one domain.
pub fn net_set(domain: u32, net: &ipnet::IpNet) -> Set {
    Set::range(key(domain, net.network()), key(domain, net.broadcast()))
}

/// An address range in one domain (both ends of one family).
pub fn range_set(domain: u32, first: IpAddr, last: IpAddr) -> Set {
    if first.is_ipv4() != last.is_ipv4() {
        return Set::empty();
    }
    Set::range(key(domain, first), key(domain, last))
}

/// The same set with every domain dropped: address ranges per family, merged, as
/// (is IPv4, first, last) with IPv4 addresses as `u32` values. Only meaningful where the set's
/// domains do not overlap (an enforcement point's view, see `ir::Plan::visible`).
pub fn project(set: &Set) -> Vec<(bool, u128, u128)> {
    let mut out: Vec<(bool, u128, u128)> = Vec::new();
    for &(lo, hi) in set.ranges() {
        // A range may span several runs (domains or families): cut it at each run's edge.
        let mut cur = lo;
        loop {
            let v4 = is_v4_key(cur);
            let max = if v4 { u32::MAX as u128 } else { u128::MAX };
            let end = if hi.hi == cur.hi { hi.lo.min(max) } else { max };
            if cur.lo <= end {
                out.push((v4, cur.lo, end));
            }
            if hi.hi == cur.hi || cur.hi == u128::MAX {
                break;
            }
            cur = Key::new(cur.hi + 1, 0);
        }
    }
    out.sort_unstable_by_key(|&(v4, lo, hi)| (!v4, lo, hi));
    let mut merged: Vec<(bool, u128, u128)> = Vec::with_capacity(out.len());
    for (v4, lo, hi) in out {
        if let Some(last) = merged.last_mut() {
            if last.0 == v4 && lo <= last.2.saturating_add(1) {
                last.2 = last.2.max(hi);
                continue;
            }
        }
        merged.push((v4, lo, hi));
    }
    merged
}

fn raw_addr(v4: bool, a: u128) -> IpAddr {
    if v4 {
        IpAddr::V4(Ipv4Addr::from(a as u32))
    } else {
        IpAddr::V6(Ipv6Addr::from(a))
    }
}

/// The smallest CIDR blocks covering exactly the addresses `lo..=hi` of one family (IPv4 as
/// `u32` values).
pub fn cidrs(v4: bool, mut lo: u128, hi: u128) -> Vec<ipnet::IpNet> {
    let bits = if v4 { 32u32 } else { 128u32 };
    let mut out = Vec::new();
    loop {
        // Largest block starting at lo that fits within hi.
        let mut size_log = if lo == 0 {
            bits
        } else {
            lo.trailing_zeros().min(bits)
        };
        while size_log > 0 {
            let span = if size_log >= 128 {
                u128::MAX
            } else {
                (1u128 << size_log) - 1
            };
            if lo.checked_add(span).is_some_and(|end| end <= hi) {
                break;
            }
            size_log -= 1;
        }
        let prefix = (bits - size_log) as u8;
        let net = if v4 {
            ipnet::IpNet::V4(
                ipnet::Ipv4Net::new(Ipv4Addr::from(lo as u32), prefix).expect("prefix <= 32"),
            )
        } else {
            ipnet::IpNet::V6(
                ipnet::Ipv6Net::new(Ipv6Addr::from(lo), prefix).expect("prefix <= 128"),
            )
        };
        out.push(net);
        let span = if size_log >= 128 {
            u128::MAX
        } else {
            (1u128 << size_log) - 1
        };
        match lo.checked_add(span) {
            Some(end) if end < hi => lo = end + 1,
            _ => break,
        }
    }
    out
}

/// The CIDR blocks of a set, without domains (see `project`).
pub fn set_cidrs(set: &Set) -> Vec<ipnet::IpNet> {
    project(set)
        .into_iter()
        .flat_map(|(v4, lo, hi)| cidrs(v4, lo, hi))
        .collect()
}

/// `10.0.0.1`, `10.0.0.0/24` or `10.0.0.5-10.0.0.9`: the shortest exact text of a range of
/// one family (IPv4 as `u32` values).
pub fn raw_range_text(v4: bool, lo: u128, hi: u128) -> String {
    if lo == hi {
        return raw_addr(v4, lo).to_string();
    }
    let c = cidrs(v4, lo, hi);
    if c.len() == 1 {
        return c[0].to_string();
    }
    format!("{}-{}", raw_addr(v4, lo), raw_addr(v4, hi))
}

/// The texts of a set's ranges, without domains (see `project`).
pub fn range_texts(set: &Set) -> Vec<String> {
    project(set)
        .into_iter()
        .map(|(v4, lo, hi)| raw_range_text(v4, lo, hi))
        .collect()
}

/// The text of a range of keys within one run.
pub fn range_text(lo: Key, hi: Key) -> String {
    raw_range_text(is_v4_key(lo), lo.lo, hi.lo)
}

// ---- services ----

pub fn proto_number(proto: Proto) -> u128 {
    match proto {
        Proto::Icmp => 1,
        Proto::Tcp => 6,
        Proto::Udp => 17,
    }
}

pub fn proto_of_number(n: u128) -> Option<Proto> {
    match n {
        1 => Some(Proto::Icmp),
        6 => Some(Proto::Tcp),
        17 => Some(Proto::Udp),
        _ => None,
    }
}

/// The service keys of `proto` with ports `lo..=hi` (ICMP: its whole block).
pub fn service_set(proto: Proto, ports: Option<(u16, u16)>) -> Set {
    let base = proto_number(proto) << 16;
    match (proto, ports) {
        (Proto::Icmp, _) | (_, None) => Set::range(base, base | 0xffff),
        (_, Some((lo, hi))) => Set::range(base | lo as u128, base | hi as u128),
    }
}

/// Every service netc can express: TCP, UDP and ICMP.
pub fn all_services() -> Set {
    [Proto::Icmp, Proto::Tcp, Proto::Udp]
        .iter()
        .fold(Set::empty(), |acc, &p| acc.union(&service_set(p, None)))
}

/// Split a service range into (proto, port range) pieces.
pub fn service_pieces(set: &Set) -> Vec<(Proto, u16, u16)> {
    let mut out = Vec::new();
    for &(lo, hi) in set.ranges() {
        // Service sets live in one run (hi == 0).
        let (lo, hi) = (lo.lo, if hi.hi == lo.hi { hi.lo } else { u128::MAX });
        let mut cur = lo;
        while cur <= hi {
            let proto_n = cur >> 16;
            let block_end = (proto_n << 16) | 0xffff;
            let end = hi.min(block_end);
            if let Some(proto) = proto_of_number(proto_n) {
                out.push((proto, (cur & 0xffff) as u16, (end & 0xffff) as u16));
            }
            if end == u128::MAX {
                break;
            }
            cur = end + 1;
        }
    }
    out
}

/// A port range as nftables and firewalld write it: `443`, `4040-4041`.
pub fn port_text(lo: u16, hi: u16) -> String {
    if lo == hi {
        lo.to_string()
    } else {
        format!("{lo}-{hi}")
    }
}

pub fn service_text(set: &Set) -> String {
    if *set == all_services() {
        return "any".into();
    }
    let parts: Vec<String> = service_pieces(set)
        .into_iter()
        .map(|(proto, lo, hi)| match proto {
            Proto::Icmp => "icmp".to_string(),
            _ if lo == 0 && hi == 0xffff => proto.name().to_string(),
            _ if lo == hi => format!("{}/{lo}", proto.name()),
            _ => format!("{}/{lo}-{hi}", proto.name()),
        })
        .collect();
    if parts.is_empty() {
        "nothing".into()
    } else {
        parts.join(", ")
    }
}

/// A service set as data: shown as `tcp/5432, udp/53` and serialized as a list of
/// `{"protocol", "from", "to"}` objects (ICMP without ports), so JSON readers never parse text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Services(pub Set);

impl std::fmt::Display for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&service_text(&self.0))
    }
}

impl Services {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl serde::Serialize for Services {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        struct Piece(Proto, u16, u16);
        impl serde::Serialize for Piece {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let icmp = self.0 == Proto::Icmp;
                let mut m = s.serialize_map(Some(if icmp { 1 } else { 3 }))?;
                m.serialize_entry("protocol", self.0.name())?;
                if !icmp {
                    m.serialize_entry("from", &self.1)?;
                    m.serialize_entry("to", &self.2)?;
                }
                m.end()
            }
        }
        let pieces = service_pieces(&self.0);
        let mut seq = s.serialize_seq(Some(pieces.len()))?;
        for (p, lo, hi) in pieces {
            seq.serialize_element(&Piece(p, lo, hi))?;
        }
        seq.end()
    }
}

/// A representative member of an address set: 0.0.0.0/8 and :: are avoided where the set
/// allows (they make confusing examples).
pub fn example(set: &Set) -> Option<Key> {
    ordinary_example(set).or_else(|| plain_example(set))
}

/// The first address of `set` a reader takes for an ordinary unicast one (see `example`), if
/// it has one.
pub fn ordinary_example(set: &Set) -> Option<Key> {
    // First choice: a unicast address a reader takes for an ordinary one: IPv4 past
    // 0.0.0.0/8, outside loopback, multicast, the reserved block and the private ranges (so
    // that "the internet" is shown by an address the internet routes; a set with no such
    // address falls through); IPv6 in the global unicast 2000::/3, never `::1`.
    const V4: [(u128, u128); 7] = [
        (0x0100_0000, 0x09ff_ffff),
        (0x0b00_0000, 0x643f_ffff),
        (0x6480_0000, 0x7eff_ffff),
        (0x8000_0000, 0xa9fd_ffff),
        (0xa9ff_0000, 0xac0f_ffff),
        (0xac20_0000, 0xc0a7_ffff),
        (0xc0a9_0000, 0xdfff_ffff),
    ];
    const V6: [(u128, u128); 1] = [(0x2000 << 112, (0x4000 << 112) - 1)];
    for &(lo, hi) in set.ranges() {
        // Each (domain, family) run the range spans; the first few are enough.
        for h in (lo.hi..=hi.hi).take(4) {
            let windows: &[(u128, u128)] = if h & 1 == 0 { &V4 } else { &V6 };
            let (from, to) = (
                if h == lo.hi { lo.lo } else { 0 },
                if h == hi.hi { hi.lo } else { u128::MAX },
            );
            for &(a, b) in windows {
                let (x, y) = (from.max(a), to.min(b));
                if x <= y {
                    return Some(Key::new(h, x));
                }
            }
        }
    }
    None
}

/// The set's first address past 0.0.0.0/8 and `::`.
fn plain_example(set: &Set) -> Option<Key> {
    let confusing = |k: &Key| {
        if is_v4_key(*k) {
            k.lo <= 0x00ff_ffff
        } else {
            k.lo == 0
        }
    };
    for &(lo, hi) in set.ranges() {
        let mut k = lo;
        // At most two steps: past 0.0.0.0/8 or past ::.
        for _ in 0..2 {
            if !confusing(&k) {
                return Some(k);
            }
            let next = if is_v4_key(k) {
                Key::new(k.hi, 0x0100_0000)
            } else {
                k.succ()
            };
            if next > hi || next.hi != k.hi {
                break;
            }
            k = next;
        }
    }
    set.first()
}

// ---- boxes ----

/// A box of header space: every packet whose source is in `src`, destination in `dst` and
/// service in `svc`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HBox {
    pub src: Set,
    pub dst: Set,
    pub svc: Set,
}

impl HBox {
    pub fn is_empty(&self) -> bool {
        self.src.is_empty() || self.dst.is_empty() || self.svc.is_empty()
    }

    pub fn intersects(&self, other: &HBox) -> bool {
        self.src.intersects(&other.src)
            && self.dst.intersects(&other.dst)
            && self.svc.intersects(&other.svc)
    }

    pub fn intersect(&self, other: &HBox) -> HBox {
        HBox {
            src: self.src.intersect(&other.src),
            dst: self.dst.intersect(&other.dst),
            svc: self.svc.intersect(&other.svc),
        }
    }

    pub fn contains(&self, src: Key, dst: Key, svc: Key) -> bool {
        self.src.contains(src) && self.dst.contains(dst) && self.svc.contains(svc)
    }

    /// `self \ other` as disjoint boxes.
    pub fn minus(&self, other: &HBox) -> Vec<HBox> {
        if !self.intersects(other) {
            return vec![self.clone()];
        }
        let mut out = Vec::new();
        let src_out = self.src.difference(&other.src);
        if !src_out.is_empty() {
            out.push(HBox {
                src: src_out,
                dst: self.dst.clone(),
                svc: self.svc.clone(),
            });
        }
        let src_in = self.src.intersect(&other.src);
        let dst_out = self.dst.difference(&other.dst);
        if !dst_out.is_empty() {
            out.push(HBox {
                src: src_in.clone(),
                dst: dst_out,
                svc: self.svc.clone(),
            });
        }
        let dst_in = self.dst.intersect(&other.dst);
        let svc_out = self.svc.difference(&other.svc);
        if !svc_out.is_empty() {
            out.push(HBox {
                src: src_in,
                dst: dst_in,
                svc: svc_out,
            });
        }
        out
    }

    /// An example packet of the box: its lowest source, destination and service, skipping
    /// 0.0.0.0/8 and :: where the box allows (they make confusing examples).
    pub fn sample(&self) -> Option<(Key, Key, Key)> {
        Some((example(&self.src)?, example(&self.dst)?, self.svc.first()?))
    }
}

/// `pieces \ (union of cuts)`, as disjoint boxes.
pub fn subtract_all<'a>(pieces: Vec<HBox>, cuts: impl IntoIterator<Item = &'a HBox>) -> Vec<HBox> {
    let mut pieces = pieces;
    for cut in cuts {
        if pieces.is_empty() {
            break;
        }
        pieces = pieces.iter().flat_map(|p| p.minus(cut)).collect();
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn naive(set: &Set, universe: u128) -> Vec<bool> {
        (0..universe).map(|k| set.contains(k)).collect()
    }

    #[test]
    fn keys_step_across_runs() {
        let end = Key::new(3, u128::MAX);
        assert_eq!(end.succ(), Key::new(4, 0));
        assert_eq!(Key::new(4, 0).pred(), end);
        assert_eq!(Key::MAX.succ(), Key::MAX);
        assert_eq!(Key::MIN.pred(), Key::MIN);
        let s = Set::range(Key::new(1, 5), Key::new(2, 3));
        assert!(s.contains(Key::new(1, u128::MAX)) && s.contains(Key::new(2, 0)));
        assert!(!s.contains(Key::new(2, 4)));
    }

    #[test]
    fn ipv6_prefixes_never_hold_ipv4() {
        let all6 = net_set(0, &"::/0".parse().unwrap());
        let v4 = key(0, "10.1.2.3".parse().unwrap());
        assert!(!all6.contains(v4));
        assert!(net_set(0, &"0.0.0.0/0".parse().unwrap()).contains(v4));
        // The same address in two domains is two keys.
        assert_ne!(
            key(0, "10.0.0.1".parse().unwrap()),
            key(1, "10.0.0.1".parse().unwrap())
        );
        let both = net_set(0, &"10.0.0.0/24".parse().unwrap())
            .union(&net_set(1, &"10.0.0.0/24".parse().unwrap()));
        assert_eq!(range_texts(&both), ["10.0.0.0/24"]);
    }

    fn small_set() -> impl Strategy<Value = Set> {
        proptest::collection::vec((0u128..40, 0u128..8), 0..5)
            .prop_map(|v| Set::from_ranges(v.into_iter().map(|(a, l)| (a.into(), (a + l).into()))))
    }

    proptest! {
        #[test]
        fn set_algebra_matches_membership(a in small_set(), b in small_set()) {
            let (na, nb) = (naive(&a, 50), naive(&b, 50));
            let u = naive(&a.union(&b), 50);
            let i = naive(&a.intersect(&b), 50);
            let d = naive(&a.difference(&b), 50);
            for k in 0..50 {
                prop_assert_eq!(u[k], na[k] || nb[k]);
                prop_assert_eq!(i[k], na[k] && nb[k]);
                prop_assert_eq!(d[k], na[k] && !nb[k]);
            }
            prop_assert_eq!(a.intersects(&b), i.iter().any(|x| *x));
        }
    }

    #[test]
    fn cidrs_cover_ranges_exactly() {
        let lo = key(0, "10.10.0.11".parse().unwrap());
        let hi = key(0, "10.10.0.30".parse().unwrap());
        let cidrs: Vec<String> = set_cidrs(&Set::range(lo, hi))
            .iter()
            .map(|c| c.to_string())
            .collect();
        assert_eq!(
            cidrs,
            [
                "10.10.0.11/32",
                "10.10.0.12/30",
                "10.10.0.16/29",
                "10.10.0.24/30",
                "10.10.0.28/31",
                "10.10.0.30/32"
            ]
        );
        let all = set_cidrs(&universe(2));
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].to_string(), "0.0.0.0/0");
        assert_eq!(all[1].to_string(), "::/0");
    }

    #[test]
    fn box_difference_is_exact() {
        let a = HBox {
            src: Set::range(0u128, 9u128),
            dst: Set::range(0u128, 9u128),
            svc: Set::range(0u128, 9u128),
        };
        let b = HBox {
            src: Set::range(3u128, 5u128),
            dst: Set::range(0u128, 20u128),
            svc: Set::range(2u128, 2u128),
        };
        let parts = a.minus(&b);
        for s in 0..10u128 {
            for d in 0..10u128 {
                for v in 0..10u128 {
                    let inside = parts
                        .iter()
                        .filter(|p| p.contains(s.into(), d.into(), v.into()))
                        .count();
                    let expected = a.contains(s.into(), d.into(), v.into())
                        && !b.contains(s.into(), d.into(), v.into());
                    assert_eq!(inside, expected as usize);
                }
            }
        }
    }
}
