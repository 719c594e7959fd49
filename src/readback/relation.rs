//! The relation walk: one walk through a ruleset for *every* (source, destination) pair at
//! once, giving the accepted packets as pieces (sources × destinations × services). It is what
//! makes verifying a router that classifies once, then decides, cost about the size of its
//! ruleset instead of (source classes × destination classes) pair walks.
//!
//! A walk carries fragments: a set of sources, a set of services, and the destinations as a
//! relation from the packet mark to the destinations that have it (`Dm`), because a router
//! first writes each destination's class into the mark, then looks the class up: keeping the
//! mark beside the destinations is what lets one fragment stand for every destination class
//! at once. Matches split fragments (a source match splits the sources, a service match the
//! services, a destination match the destinations, a mark match the relation); verdict maps
//! split them by element and group the parts by verdict; after each rule, fragments that
//! agree on sources and services merge again, so a verdict map that sent every destination
//! class to its own chain leaves one fragment behind.
//!
//! Anything the walk does not model (a concatenation of an address with another symbolic
//! field, a negated mark match, a mark range) makes it give up (`None`), and the caller falls
//! back to the pair walk (`symbolic.rs`). The two are compared on every fixture's rulesets.

use super::symbolic::{defined, element_services, fixed_values, service_part, Ranges, Svc};
use super::{applies, Base, Expr, Field, Packet, Ruleset, Verdict, VmapRef};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Addresses of one family.
pub type Addrs = Ranges<u128>;

/// Destinations by the mark their packets carry, sorted by mark, marks distinct.
type Dm = Vec<(u32, Arc<Addrs>)>;

#[derive(Clone)]
struct Frag {
    src: Arc<Addrs>,
    svc: Svc,
    dm: Arc<Dm>,
    /// Marks of `dm` this fragment no longer holds (taken by a match of an earlier rule).
    except: Option<Arc<HashSet<u32>>>,
}

impl Frag {
    fn marks(&self) -> impl Iterator<Item = &(u32, Arc<Addrs>)> {
        self.dm
            .iter()
            .filter(|(m, _)| self.except.as_ref().is_none_or(|e| !e.contains(m)))
    }

    fn with_dm(&self, dm: Dm) -> Frag {
        Frag {
            src: self.src.clone(),
            svc: self.svc.clone(),
            dm: Arc::new(dm),
            except: None,
        }
    }
}

/// Accepted packets: (sources, destinations, services).
pub type Piece = (Arc<Addrs>, Arc<Addrs>, Svc);

#[derive(Default)]
struct Out {
    accepted: Vec<Frag>,
    fell: Vec<Frag>,
}

/// A relation indexed by masked mark: masked value -> positions in the relation.
type MarkIndex = HashMap<u32, Vec<usize>>;

/// Per walk: the index of each relation by masked mark, built once per (relation, mask); the
/// relation is kept alive beside it, so its address cannot be reused by another one.
#[derive(Default)]
struct Walk {
    index: HashMap<(usize, u32), (Arc<Dm>, Arc<MarkIndex>)>,
    /// Rules walked so far: past `MAX_STEPS` the walk gives up (and `verify` walks pair by
    /// pair, memoised), so no ruleset makes it run for hours.
    steps: usize,
}

/// The most rule visits one relation walk makes.
const MAX_STEPS: usize = 2_000_000;

/// The fields of a match, by what they depend on.
struct Kinds {
    saddr: Option<usize>,
    daddr: Option<usize>,
    mark: Option<(usize, u32)>,
    service: bool,
    /// A field of the other family: the match never holds.
    other_family: bool,
}

fn kinds(fields: &[Field], p: &Packet) -> Kinds {
    let mut k = Kinds {
        saddr: None,
        daddr: None,
        mark: None,
        service: false,
        other_family: false,
    };
    for (i, f) in fields.iter().enumerate() {
        match *f {
            Field::Saddr(fam) | Field::Daddr(fam) if fam.is_some_and(|v4| v4 != p.v4) => {
                k.other_family = true
            }
            Field::Saddr(_) => k.saddr = Some(i),
            Field::Daddr(_) => k.daddr = Some(i),
            Field::Mark(mask) => k.mark = Some((i, mask)),
            _ if service_part(*f, p, 0, 0).is_some() => k.service = true,
            _ => {}
        }
    }
    k
}

/// A relation from (mark, destinations) entries in any order: sorted by mark, the
/// destinations of equal marks joined.
fn joined_marks(mut entries: Vec<(u32, Arc<Addrs>)>) -> Dm {
    entries.sort_by_key(|e| e.0);
    let mut dm: Dm = Vec::with_capacity(entries.len());
    for (m, d) in entries {
        match dm.last_mut() {
            Some(last) if last.0 == m => last.1 = Arc::new(last.1.union(&d)),
            _ => dm.push((m, d)),
        }
    }
    dm
}

/// Merge fragments that agree on sources and services (and hold every mark of their
/// relations): their relations are joined.
fn merge(frags: Vec<Frag>) -> Vec<Frag> {
    let mut out: Vec<Frag> = Vec::new();
    let mut at: HashMap<(usize, Svc), usize> = HashMap::new();
    let mut joined: Vec<Vec<(u32, Arc<Addrs>)>> = Vec::new();
    for f in frags {
        if f.except.is_some() {
            out.push(f);
            joined.push(Vec::new());
            continue;
        }
        let key = (Arc::as_ptr(&f.src) as usize, f.svc.clone());
        match at.get(&key) {
            Some(&i) => joined[i].extend(f.dm.iter().cloned()),
            None => {
                at.insert(key, out.len());
                joined.push(f.dm.iter().cloned().collect());
                out.push(f);
            }
        }
    }
    for (f, entries) in out.iter_mut().zip(joined) {
        if f.except.is_some() || entries.len() == f.dm.len() {
            continue;
        }
        f.dm = Arc::new(joined_marks(entries));
    }
    out
}

impl Ruleset {
    /// The packets of family `v4` from `sources` to `destinations` that pass every base chain
    /// of `bases`, as pieces; None when the ruleset uses something the relation walk does not
    /// model (the caller then walks pair by pair).
    pub(super) fn accepted_relation(
        &self,
        bases: &[Base<'_>],
        v4: bool,
        sources: Addrs,
        destinations: Addrs,
    ) -> Option<Vec<Piece>> {
        let p = Packet {
            v4,
            src: 0,
            dst: 0,
            proto: 0,
            dport: 0,
        };
        let mut walk = Walk::default();
        let mut alive = vec![Frag {
            src: Arc::new(sources),
            svc: Svc::universe(v4),
            dm: Arc::new(vec![(0, Arc::new(destinations))]),
            except: None,
        }];
        for &(k, chain, _, policy_drop) in bases {
            if !applies(&k.0, v4) {
                continue;
            }
            let o = self.rel_walk(&mut walk, chain, &p, merge(alive), 0)?;
            alive = o.accepted;
            if !policy_drop {
                alive.extend(o.fell);
            }
        }
        let mut pieces = Vec::new();
        for f in &alive {
            for (_, d) in f.marks() {
                if !d.is_empty() && !f.src.is_empty() && !f.svc.is_empty() {
                    pieces.push((f.src.clone(), d.clone(), f.svc.clone()));
                }
            }
        }
        Some(pieces)
    }

    fn rel_walk(
        &self,
        walk: &mut Walk,
        chain: usize,
        p: &Packet,
        frags: Vec<Frag>,
        depth: usize,
    ) -> Option<Out> {
        if depth > 64 {
            return None;
        }
        walk.steps += self.linked[chain].rules.len();
        if walk.steps > MAX_STEPS {
            return None;
        }
        let mut out = Out::default();
        let mut pending = frags;
        for rule in &self.linked[chain].rules {
            if pending.is_empty() {
                break;
            }
            let mut next = Vec::new();
            for f in merge(pending) {
                self.rel_rule(walk, rule, 0, p, f, depth, &mut out, &mut next)?;
            }
            pending = next;
        }
        out.fell.extend(pending);
        Some(out)
    }

    #[allow(clippy::too_many_arguments)]
    fn rel_rule(
        &self,
        walk: &mut Walk,
        rule: &[Expr],
        at: usize,
        p: &Packet,
        mut f: Frag,
        depth: usize,
        out: &mut Out,
        next: &mut Vec<Frag>,
    ) -> Option<()> {
        for (i, e) in rule.iter().enumerate().skip(at) {
            if f.svc.is_empty() || f.src.is_empty() {
                return Some(());
            }
            match e {
                Expr::Match {
                    fields,
                    negate,
                    right,
                } => {
                    let k = kinds(fields, p);
                    if k.other_family {
                        next.push(f);
                        return Some(());
                    }
                    let elems = self.elements(right);
                    let symbolic = [k.saddr.is_some(), k.daddr.is_some(), k.mark.is_some()]
                        .iter()
                        .filter(|&&b| b)
                        .count();
                    if symbolic == 0 {
                        // Services and fixed fields only: as in the pair walk.
                        let fixed = fixed_values(fields, p, 0)?;
                        let matched =
                            self.matched_services(fields, *negate, right, &fixed, p, &f.svc);
                        let missed = f.svc.subtract(&matched);
                        if !missed.is_empty() {
                            next.push(Frag {
                                svc: missed,
                                ..f.clone()
                            });
                        }
                        f.svc = matched;
                        continue;
                    }
                    if symbolic > 1 || fields.len() > 1 && (k.saddr.is_some() || k.daddr.is_some())
                    {
                        return None;
                    }
                    if k.saddr.is_some() || k.daddr.is_some() {
                        let hit =
                            Addrs::from_unsorted(elems.iter().map(|el| el[0]).collect::<Vec<_>>());
                        let take = |set: &Addrs| {
                            if *negate {
                                set.subtract(&hit)
                            } else {
                                set.intersect(&hit)
                            }
                        };
                        if k.saddr.is_some() {
                            let matched = take(&f.src);
                            let missed = f.src.subtract(&matched);
                            if !missed.is_empty() {
                                next.push(Frag {
                                    src: Arc::new(missed),
                                    ..f.clone()
                                });
                            }
                            f.src = Arc::new(matched);
                        } else {
                            let (mut yes, mut no): (Dm, Dm) = (Vec::new(), Vec::new());
                            for (m, d) in f.marks() {
                                let matched = take(d);
                                let missed = d.subtract(&matched);
                                if !matched.is_empty() {
                                    yes.push((*m, Arc::new(matched)));
                                }
                                if !missed.is_empty() {
                                    no.push((*m, Arc::new(missed)));
                                }
                            }
                            if !no.is_empty() {
                                next.push(f.with_dm(no));
                            }
                            f = f.with_dm(yes);
                        }
                        continue;
                    }
                    // A mark (under a mask), maybe with services and fixed fields.
                    let (pos, mask) = k.mark.expect("one symbolic field, a mark");
                    if *negate {
                        return None;
                    }
                    let index = mark_index(walk, &f.dm, mask);
                    let held = |m: u32| f.except.as_ref().is_none_or(|e| !e.contains(&m));
                    let mut fixed = fixed_values(fields, p, 0)?;
                    let dom = defined(fields, p).intersect(&f.svc);
                    let mut hits: HashMap<usize, Svc> = HashMap::new();
                    for el in elems {
                        let Some(&(lo, hi)) = el.get(pos) else {
                            continue;
                        };
                        if lo != hi {
                            return None;
                        }
                        let Ok(v) = u32::try_from(lo) else { continue };
                        let Some(idxs) = index.get(&v) else { continue };
                        fixed[pos] = lo;
                        let part = element_services(fields, el, &fixed[..fields.len()], p, &dom);
                        if part.is_empty() {
                            continue;
                        }
                        for &ix in idxs {
                            if held(f.dm[ix].0) {
                                let h = hits.entry(ix).or_default();
                                *h = h.union(&part);
                            }
                        }
                    }
                    if hits.is_empty() {
                        next.push(f);
                        return Some(());
                    }
                    let mut taken: Vec<usize> = hits.keys().copied().collect();
                    taken.sort_unstable();
                    let mut except: HashSet<u32> =
                        f.except.as_ref().map(|e| (**e).clone()).unwrap_or_default();
                    for &ix in &taken {
                        let (m, d) = &f.dm[ix];
                        except.insert(*m);
                        let hit = &hits[&ix];
                        let rest = f.svc.subtract(hit);
                        let one = Frag {
                            src: f.src.clone(),
                            svc: hit.clone(),
                            dm: Arc::new(vec![(*m, d.clone())]),
                            except: None,
                        };
                        if !rest.is_empty() {
                            next.push(Frag {
                                svc: rest,
                                ..one.clone()
                            });
                        }
                        self.rel_rule(walk, rule, i + 1, p, one, depth, out, next)?;
                    }
                    // The marks no element matched go on to the next rule whole.
                    next.push(Frag {
                        except: Some(Arc::new(except)),
                        ..f
                    });
                    return Some(());
                }
                Expr::SetMark { and, or } => {
                    let dm = f
                        .marks()
                        .map(|(m, d)| ((m & and) | or, d.clone()))
                        .collect();
                    f = f.with_dm(joined_marks(dm));
                }
                Expr::Vmap { fields, map } => {
                    let k = kinds(fields, p);
                    if k.other_family {
                        next.push(f);
                        return Some(());
                    }
                    let items: Vec<(&[(u128, u128)], &Verdict)> = match map {
                        VmapRef::At(s) => {
                            let set = &self.linked_sets[*s];
                            set.elems
                                .iter()
                                .map(Vec::as_slice)
                                .zip(set.verdicts.iter())
                                .collect()
                        }
                        VmapRef::Inline(items) => {
                            items.iter().map(|(e, v)| (e.as_slice(), v)).collect()
                        }
                        VmapRef::Named(_) => Vec::new(),
                    };
                    if fields.len() != 1 || (k.saddr.is_none() && k.daddr.is_none()) {
                        return None;
                    }
                    // Verdicts by identity, in order of first element.
                    let mut groups: Vec<(&Verdict, Vec<(u128, u128)>)> = Vec::new();
                    let mut group_of: HashMap<*const Verdict, usize> = HashMap::new();
                    for (el, v) in &items {
                        let Some(&r) = el.first() else { continue };
                        let g = *group_of.entry(*v as *const Verdict).or_insert_with(|| {
                            groups.push((v, Vec::new()));
                            groups.len() - 1
                        });
                        groups[g].1.push(r);
                    }
                    let all: Addrs = Addrs::from_unsorted(
                        items
                            .iter()
                            .filter_map(|(el, _)| el.first().copied())
                            .collect(),
                    );
                    let split = |set: &Addrs, ranges: &[(u128, u128)]| -> Addrs {
                        let mut parts = Vec::new();
                        for &(lo, hi) in ranges {
                            parts.extend(set.within(lo, hi).0);
                        }
                        Addrs::from_unsorted(parts)
                    };
                    if k.saddr.is_some() {
                        let rest = f.src.subtract(&all);
                        if !rest.is_empty() {
                            next.push(Frag {
                                src: Arc::new(rest),
                                ..f.clone()
                            });
                        }
                        for (v, ranges) in groups {
                            let part = split(&f.src, &ranges);
                            if part.is_empty() {
                                continue;
                            }
                            let g = Frag {
                                src: Arc::new(part),
                                ..f.clone()
                            };
                            self.rel_verdict(walk, v, rule, i, p, g, depth, out, next)?;
                        }
                    } else {
                        let rest: Dm = f
                            .marks()
                            .map(|(m, d)| (*m, Arc::new(d.subtract(&all))))
                            .filter(|(_, d)| !d.is_empty())
                            .collect();
                        if !rest.is_empty() {
                            next.push(f.with_dm(rest));
                        }
                        for (v, ranges) in groups {
                            let dm: Dm = f
                                .marks()
                                .map(|(m, d)| (*m, Arc::new(split(d, &ranges))))
                                .filter(|(_, d)| !d.is_empty())
                                .collect();
                            if dm.is_empty() {
                                continue;
                            }
                            let g = f.with_dm(dm);
                            self.rel_verdict(walk, v, rule, i, p, g, depth, out, next)?;
                        }
                    }
                    return Some(());
                }
                Expr::Verdict(v) => {
                    return self.rel_verdict(walk, v, rule, i, p, f, depth, out, next);
                }
            }
        }
        next.push(f);
        Some(())
    }

    #[allow(clippy::too_many_arguments)]
    fn rel_verdict(
        &self,
        walk: &mut Walk,
        v: &Verdict,
        rule: &[Expr],
        i: usize,
        p: &Packet,
        f: Frag,
        depth: usize,
        out: &mut Out,
        next: &mut Vec<Frag>,
    ) -> Option<()> {
        match v {
            Verdict::Accept => out.accepted.push(f),
            Verdict::Drop => {}
            Verdict::Return => out.fell.push(f),
            Verdict::Jump(_) | Verdict::Goto(_) => {
                self.rel_rule(walk, rule, i + 1, p, f, depth, out, next)?
            }
            Verdict::JumpAt(c) | Verdict::GotoAt(c) => {
                let o = self.rel_walk(walk, *c, p, vec![f], depth + 1)?;
                out.accepted.extend(o.accepted);
                for g in o.fell {
                    if matches!(v, Verdict::GotoAt(_)) {
                        out.fell.push(g);
                    } else {
                        self.rel_rule(walk, rule, i + 1, p, g, depth, out, next)?;
                    }
                }
            }
        }
        Some(())
    }
}

/// A relation indexed by masked mark, built once per walk for each (relation, mask); a
/// fragment's exceptions are applied by the caller.
fn mark_index(walk: &mut Walk, dm: &Arc<Dm>, mask: u32) -> Arc<MarkIndex> {
    let key = (Arc::as_ptr(dm) as usize, mask);
    walk.index
        .entry(key)
        .or_insert_with(|| {
            let mut index: MarkIndex = HashMap::new();
            for (ix, (m, _)) in dm.iter().enumerate() {
                index.entry(m & mask).or_default().push(ix);
            }
            (dm.clone(), Arc::new(index))
        })
        .1
        .clone()
}
