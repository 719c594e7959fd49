//! Header spaces: exact sets of addresses and services, and boxes of (source, destination,
//! service). Policy analysis, queries and targets all compute with these, never with samples.
//!
//! Addresses live in one `u128` space: IPv6 as is, IPv4 as IPv4-mapped (`::ffff:a.b.c.d`).
//! Services live in the same kind of space: `proto << 16 | port` (ICMP covers its whole block).

use crate::syntax::ast::Proto;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A set of `u128` keys as sorted, disjoint, non-adjacent inclusive ranges.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Set {
    ranges: Vec<(u128, u128)>,
}

impl Set {
    pub fn empty() -> Set {
        Set { ranges: Vec::new() }
    }

    pub fn full() -> Set {
        Set {
            ranges: vec![(0, u128::MAX)],
        }
    }

    pub fn range(lo: u128, hi: u128) -> Set {
        if lo > hi {
            return Set::empty();
        }
        Set {
            ranges: vec![(lo, hi)],
        }
    }

    pub fn point(k: u128) -> Set {
        Set::range(k, k)
    }

    pub fn from_ranges(iter: impl IntoIterator<Item = (u128, u128)>) -> Set {
        let mut ranges: Vec<(u128, u128)> = iter.into_iter().filter(|(a, b)| a <= b).collect();
        ranges.sort_unstable();
        let mut out: Vec<(u128, u128)> = Vec::with_capacity(ranges.len());
        for (lo, hi) in ranges {
            if let Some(last) = out.last_mut() {
                if lo <= last.1.saturating_add(1) {
                    last.1 = last.1.max(hi);
                    continue;
                }
            }
            out.push((lo, hi));
        }
        Set { ranges: out }
    }

    pub fn ranges(&self) -> &[(u128, u128)] {
        &self.ranges
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    pub fn first(&self) -> Option<u128> {
        self.ranges.first().map(|r| r.0)
    }

    pub fn contains(&self, k: u128) -> bool {
        let i = self.ranges.partition_point(|r| r.1 < k);
        i < self.ranges.len() && self.ranges[i].0 <= k
    }

    pub fn union(&self, other: &Set) -> Set {
        Set::from_ranges(self.ranges.iter().chain(other.ranges.iter()).copied())
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
        Set { ranges: out }
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
        for &(lo, hi) in &self.ranges {
            let mut cur = lo;
            let mut done = false;
            while j < other.ranges.len() && other.ranges[j].1 < cur {
                j += 1;
            }
            let mut k = j;
            while k < other.ranges.len() && other.ranges[k].0 <= hi {
                let (olo, ohi) = other.ranges[k];
                if olo > cur {
                    out.push((cur, olo - 1));
                }
                if ohi >= hi {
                    done = true;
                    break;
                }
                cur = cur.max(ohi + 1);
                k += 1;
            }
            if !done {
                out.push((cur, hi));
            }
        }
        Set { ranges: out }
    }

    pub fn is_subset(&self, other: &Set) -> bool {
        self.difference(other).is_empty()
    }

    /// Number of keys, saturating.
    pub fn size(&self) -> u128 {
        self.ranges.iter().fold(0u128, |acc, (lo, hi)| {
            acc.saturating_add(hi - lo).saturating_add(1)
        })
    }
}

// ---- addresses ----

const V4_BASE: u128 = 0xffff_0000_0000;

pub fn addr_key(addr: IpAddr) -> u128 {
    match addr {
        IpAddr::V4(a) => V4_BASE | u32::from(a) as u128,
        IpAddr::V6(a) => u128::from(a),
    }
}

pub fn key_addr(k: u128) -> IpAddr {
    if is_v4_key(k) {
        IpAddr::V4(Ipv4Addr::from((k - V4_BASE) as u32))
    } else {
        IpAddr::V6(Ipv6Addr::from(k))
    }
}

pub fn is_v4_key(k: u128) -> bool {
    (V4_BASE..=V4_BASE | 0xffff_ffff).contains(&k)
}

/// Every IPv4 address.
pub fn v4_space() -> Set {
    Set::range(V4_BASE, V4_BASE | 0xffff_ffff)
}

pub fn net_set(net: &ipnet::IpNet) -> Set {
    Set::range(addr_key(net.network()), addr_key(net.broadcast()))
}

pub fn range_set(first: IpAddr, last: IpAddr) -> Set {
    Set::range(addr_key(first), addr_key(last))
}

/// The smallest CIDR blocks covering exactly `[lo, hi]` of one family.
pub fn range_to_cidrs(lo: u128, hi: u128) -> Vec<ipnet::IpNet> {
    let v4 = is_v4_key(lo);
    let (mut lo, hi, bits) = if v4 {
        (lo - V4_BASE, hi - V4_BASE, 32u32)
    } else {
        (lo, hi, 128u32)
    };
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

/// `10.0.0.1`, `10.0.0.0/24` or `10.0.0.5-10.0.0.9`: the shortest exact text of a range.
pub fn range_text(lo: u128, hi: u128) -> String {
    if lo == hi {
        return key_addr(lo).to_string();
    }
    let cidrs = range_to_cidrs(lo, hi);
    if cidrs.len() == 1 {
        return cidrs[0].to_string();
    }
    format!("{}-{}", key_addr(lo), key_addr(hi))
}

pub fn set_text(set: &Set) -> String {
    if *set == Set::full() {
        return "any address".into();
    }
    let parts: Vec<String> = set
        .ranges()
        .iter()
        .map(|&(lo, hi)| range_text(lo, hi))
        .collect();
    parts.join(", ")
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

/// A representative member of an address set.
pub fn example(set: &Set) -> Option<u128> {
    let avoid = Set::range(V4_BASE, V4_BASE | 0x00ff_ffff).union(&Set::point(0));
    set.difference(&avoid).first().or_else(|| set.first())
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

    pub fn contains(&self, src: u128, dst: u128, svc: u128) -> bool {
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
    pub fn sample(&self) -> Option<(u128, u128, u128)> {
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

    fn small_set() -> impl Strategy<Value = Set> {
        proptest::collection::vec((0u128..40, 0u128..8), 0..5)
            .prop_map(|v| Set::from_ranges(v.into_iter().map(|(a, l)| (a, a + l))))
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
        let lo = addr_key("10.10.0.11".parse().unwrap());
        let hi = addr_key("10.10.0.30".parse().unwrap());
        let cidrs: Vec<String> = range_to_cidrs(lo, hi)
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
        let all = range_to_cidrs(
            addr_key("0.0.0.0".parse().unwrap()),
            addr_key("255.255.255.255".parse().unwrap()),
        );
        assert_eq!(all[0].to_string(), "0.0.0.0/0");
        assert_eq!(range_to_cidrs(0, u128::MAX)[0].to_string(), "::/0");
    }

    #[test]
    fn box_difference_is_exact() {
        let a = HBox {
            src: Set::range(0, 9),
            dst: Set::range(0, 9),
            svc: Set::range(0, 9),
        };
        let b = HBox {
            src: Set::range(3, 5),
            dst: Set::range(0, 20),
            svc: Set::range(2, 2),
        };
        let parts = a.minus(&b);
        for s in 0..10 {
            for d in 0..10 {
                for v in 0..10 {
                    let inside = parts.iter().filter(|p| p.contains(s, d, v)).count();
                    let expected = a.contains(s, d, v) && !b.contains(s, d, v);
                    assert_eq!(inside, expected as usize);
                }
            }
        }
    }
}
