//! nftables: one table `inet netc`, replaced atomically in one transaction (`table` +
//! `delete table` + the new table in one file), never touching other tables.
//!
//! Every ruleset classifies a packet once, then decides with one lookup, so that its size
//! grows with address ranges plus (class pair × service) pieces, never with their product,
//! and a packet costs a fixed number of lookups whatever the plan's size. The classes are the
//! policy's address atoms (`atoms`): addresses with the same membership in every endpoint set,
//! contiguous or not.
//!
//! - **Routers** (forward and their own input): the destination is classified first, by an
//!   interval verdict map jumping to a one-rule chain that writes the class into bits 16-31
//!   of the packet mark (`MARK_MASK`; the other bits are kept); then the source, by a second
//!   verdict map jumping to the chain of its class, where one lookup of (destination class .
//!   protocol . port) decides and clears the class bits again on accept. Classes are made by
//!   behaviour: source atoms with the same allows share a chain, destination atoms every
//!   source treats alike share a class number. A source atom that denies cut into jumps to a
//!   chain of its own that drops what the denies take away, then goes to its class's chain.
//! - **Hosts** (input): the host's own address picks the chain of its destination atom (a
//!   small verdict map); there one verdict map of source addresses jumps to the chain of the
//!   source's class (sources the policy treats alike toward that atom share a class), where
//!   one lookup of (protocol . port) decides; no mark is used. The per-atom blocks are
//!   rendered once and shared by every host with an address in the atom. With
//!   `--nft-blocks shared` the source is classified first instead, once for every host, by a
//!   shared block that writes its class into bits 16-31 of the mark (as routers do with
//!   destinations), and each atom's block is one (source class . protocol . port) lookup
//!   (`classified_blocks`).
//!
//! Every element and rule is commented with the plan rule it comes from; logged rules have
//! sets of their own so that the log prefix names the rule.

use super::hostrules::{self, pair_pieces, PairPiece, Verdict};
use super::{flow_ref, header, Context, OutputFile, Target};
use crate::check::PlanInfo;
use crate::ir::{FirewallKind, Plan, Proto};
use crate::space::{self, Set};
use crate::targets::OutputError;
use askama::Template;
use rustc_hash::FxHashMap as HashMap;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::PathBuf;

/// The bits of the packet mark a router's chains use to carry the destination class. A
/// packet's other mark bits are never changed; these are cleared before classification and
/// again when netc accepts the packet.
pub const MARK_MASK: u32 = 0xffff_0000;
/// Bits 16-31 hold a class number from 1 to 65535 (0: no class).
pub const MAX_CLASSES: usize = 0xffff;
const MARK_KEEP: &str = "0x0000ffff";
const MARK_BITS: &str = "0xffff0000";

pub struct Nftables;

impl Target for Nftables {
    fn render_each(
        &self,
        plan: &Plan,
        info: &PlanInfo,
        ctx: &Context,
        sink: &mut super::Sink,
    ) -> Result<(), OutputError> {
        let hosts = super::hosts_running(plan, FirewallKind::Nftables);
        if hosts.is_empty() && plan.routers.is_empty() {
            return Ok(());
        }
        let prep = Prepared::new(plan, info);
        // Routers beside the hosts' blocks (on a thread of their own: the router body is made
        // by one core, the blocks by both): every router of one routing domain enforces the
        // same policy, so their rulesets share one body, made once.
        let make_routers = || -> Result<Vec<OutputFile>, OutputError> {
            let mut files = Vec::new();
            for domain in 0..plan.domains.count {
                let routers: Vec<usize> = (0..plan.routers.len())
                    .filter(|&r| plan.router_domain(r) == domain)
                    .collect();
                if routers.is_empty() {
                    continue;
                }
                let body = RouterBody::new(plan, info, &prep, domain)?;
                for r in routers {
                    files.push(OutputFile {
                        path: PathBuf::from(format!(
                            "nftables/routers/{}.nft",
                            plan.routers[r].name
                        )),
                        contents: router_ruleset(plan, &body, r)?,
                    });
                }
            }
            Ok(files)
        };
        let shared = ctx.nft_blocks == super::NftBlocks::Shared;
        // Shared: each block is written as soon as it is made (in batches, on both cores) and
        // only its name is kept; host files include the ones they use.
        let mut write_block = |name: &str, text: String| -> Result<(), OutputError> {
            let mut contents = header(
                plan,
                &format!("nftables block {name}, included by the host rulesets that use it"),
                "#",
            );
            contents.reserve(text.len() + 100);
            contents.push_str(
                "#\n# Not a ruleset of its own: `include`d inside table inet netc of a host file.\n",
            );
            contents.push_str(&text);
            sink(OutputFile {
                path: PathBuf::from(format!("nftables/{}", block_path(name))),
                contents: super::with_final_newline(contents),
            })
        };
        let emit: Option<&mut BlockSink> = if shared { Some(&mut write_block) } else { None };
        let (routers, blocks) = std::thread::scope(|scope| {
            let routers = scope.spawn(make_routers);
            let blocks = HostBlocks::new(plan, info, &prep, &hosts, emit, MAX_CLASSES);
            let routers = routers
                .join()
                .unwrap_or_else(|e| std::panic::resume_unwind(e));
            (routers, blocks)
        });
        let blocks = blocks?;
        for f in routers? {
            sink(f)?;
        }
        super::stream_hosts(
            &hosts,
            |h| {
                Ok(vec![OutputFile {
                    path: PathBuf::from(format!("nftables/hosts/{}.nft", plan.hosts[h].name)),
                    contents: host_ruleset(plan, info, &prep, &blocks, h, shared)?,
                }])
            },
            sink,
        )
    }
}

fn template_error(what: &str, e: askama::Error) -> OutputError {
    OutputError(format!("nftables: the {what} template failed: {e}"))
}

/// A set's address ranges as nft writes them, without domains: callers restrict the set to
/// what the enforcement point can receive first (`Plan::visible`).
fn ranges(set: &Set) -> Vec<String> {
    space::range_texts(set)
}

/// `# names` above a group of elements.
fn names_line(out: &mut String, prep: &Prepared, atom: u32) {
    let _ = writeln!(out, "\t\t\t# {}", super::safe_text(&atom_names(prep, atom)));
}

/// The names of the endpoints an atom belongs to, or `addresses`.
fn atom_names(prep: &Prepared, atom: u32) -> String {
    prep.names
        .get(&atom)
        .map_or_else(|| "addresses".to_string(), |n| n.join(", "))
}

/// A named set or verdict map, rendered (`elements` one per line, each ending in a comma).
fn render_set(out: &mut String, keyword: &str, name: &str, kind: &str, elements: &str) {
    let _ = writeln!(
        out,
        "\t{keyword} {name} {{\n\t\ttype {kind}\n\t\tflags interval"
    );
    if !elements.is_empty() {
        let _ = write!(out, "\t\telements = {{\n{elements}\t\t}}\n");
    }
    out.push_str("\t}\n\n");
}

/// A chain with its comment and rules.
fn render_chain(out: &mut String, comment: &str, name: &str, rules: &[String]) {
    let _ = writeln!(out, "\t# {}\n\tchain {name} {{", super::safe_text(comment));
    for r in rules {
        let _ = writeln!(out, "\t\t{r}");
    }
    out.push_str("\t}\n\n");
}

/// Interval verdict maps per family: address ranges jumping to chains, grouped under the
/// names of the atoms they belong to.
#[derive(Default)]
struct VerdictMaps {
    elements: [String; 2],
}

impl VerdictMaps {
    /// Add an atom's addresses; `prep` names the group (`None`: no comment line).
    fn add(&mut self, plan: &Plan, prep: Option<&Prepared>, atom: u32, addrs: &Set, chain: &str) {
        let text = AtomText {
            ranges: [true, false].map(|v4| ranges(&addrs.intersect(&plan.family(v4)))),
        };
        self.add_texts(prep, atom, &text, chain);
    }

    /// `add` for an atom whose range texts are made already.
    fn add_texts(&mut self, prep: Option<&Prepared>, atom: u32, text: &AtomText, chain: &str) {
        for (f, ranges) in text.ranges.iter().enumerate() {
            if ranges.is_empty() {
                continue;
            }
            let out = &mut self.elements[f];
            if let Some(prep) = prep {
                names_line(out, prep, atom);
            }
            for r in ranges {
                out.push_str("\t\t\t");
                out.push_str(r);
                out.push_str(" : jump ");
                out.push_str(chain);
                out.push_str(",\n");
            }
        }
    }

    /// `{name}_v4` and `{name}_v6` rendered into `out`, and their lookups by `ip {dir}
    /// vmap` and `ip6 {dir} vmap`.
    fn render(&self, out: &mut String, name: &str, dir: &str) -> [String; 2] {
        render_set(
            out,
            "map",
            &format!("{name}_v4"),
            "ipv4_addr : verdict",
            &self.elements[0],
        );
        render_set(
            out,
            "map",
            &format!("{name}_v6"),
            "ipv6_addr : verdict",
            &self.elements[1],
        );
        [
            format!("ip {dir} vmap @{name}_v4"),
            format!("ip6 {dir} vmap @{name}_v6"),
        ]
    }
}

/// The ICMP protocol of a family as nft names it.
fn icmp_match(v4: bool) -> &'static str {
    if v4 {
        "meta nfproto ipv4 meta l4proto icmp"
    } else {
        "meta nfproto ipv6 meta l4proto ipv6-icmp"
    }
}

/// The verdicts that occur in a list of pieces, in order.
fn verdicts_of<'a>(pieces: impl IntoIterator<Item = &'a PairPiece>) -> Vec<Verdict> {
    let mut v: Vec<Verdict> = pieces.into_iter().map(|p| p.2).collect();
    v.sort_unstable();
    v.dedup();
    v
}

// ---- hosts ----

/// What a host's firewall needs beyond its own addresses: for each destination atom, the
/// classes of the sources that may reach it and what each class may do, rendered once and
/// shared by every host with an address in that atom.
pub struct HostBlocks {
    /// By (destination atom, the domains the host can receive from): the block's name (its
    /// file name with `--nft-blocks shared`) and text.
    blocks: HashMap<(u32, Vec<u32>), (String, String)>,
    /// `--nft-blocks shared`, sources classified once (`classified_blocks`): by the domains
    /// hosts receive from, the name of the block that classifies sources into bits 16-31 of
    /// the mark. Empty when each block classifies its own sources.
    sources: HashMap<Vec<u32>, String>,
}

/// A source atom's addresses that one host can receive from, as the blocks print them: the
/// range texts per family (IPv4, IPv6). Made once per atom and set of domains, not once per
/// block that names the atom (a scattered tier's ~60 ranges are named by hundreds of blocks).
struct AtomText {
    ranges: [Vec<String>; 2],
}

impl AtomText {
    fn new(plan: &Plan, set: &Set, visible: &Set) -> AtomText {
        let part = set.intersect(visible);
        AtomText {
            ranges: [true, false].map(|v4| ranges(&part.intersect(&plan.family(v4)))),
        }
    }

    fn count(&self) -> usize {
        self.ranges[0].len() + self.ranges[1].len()
    }
}

/// Where `--nft-blocks shared` puts the blocks, under `nftables/`.
pub const BLOCKS_DIR: &str = "blocks";

/// A block's file, relative to `nftables/`: what host files include (`nft -I` resolves it).
/// What a host file's `include` names: `./blocks/NAME.nft`. A path that starts with `./` is
/// resolved by nft against its working directory only, never against its include search path
/// (which puts `/etc` before any `-I`, so `/etc/blocks/NAME.nft` would win): hosts load from
/// inside netc's `nftables/` directory (`cd DIR && nft -f hosts/H.nft`).
pub fn include_path(name: &str) -> String {
    format!("./{}", block_path(name))
}

pub fn block_path(name: &str) -> String {
    format!("{BLOCKS_DIR}/{name}.nft")
}

/// Takes a block's name and text as soon as it is made (`--nft-blocks shared`).
pub type BlockSink<'a> = dyn FnMut(&str, String) -> Result<(), OutputError> + 'a;

impl HostBlocks {
    /// The blocks of every destination atom the given hosts have an address in. With `emit`,
    /// each block's text goes there as soon as it is made (in a fixed order) and only its
    /// name is kept, and sources are classified once by a block of their own unless that
    /// needs more than `max_classes` classes (`MAX_CLASSES`, what the mark can number; tests
    /// give fewer to see the other encoding): then each block classifies its own sources.
    pub fn new(
        plan: &Plan,
        info: &PlanInfo,
        prep: &Prepared,
        hosts: &[usize],
        mut emit: Option<&mut BlockSink>,
        max_classes: usize,
    ) -> Result<HostBlocks, OutputError> {
        let policy = &info.policy;
        let by_dst = policy.sources_by_destination();
        let mut needed: Vec<(u32, Vec<u32>)> = hosts
            .iter()
            .flat_map(|&h| {
                let domains = plan.host_domains(h);
                policy
                    .atoms
                    .atoms_of(&plan.host_local_set(h))
                    .into_iter()
                    .map(move |a| (a, domains.clone()))
            })
            .filter(|(da, _)| by_dst.contains_key(da))
            .collect();
        needed.sort_unstable();
        needed.dedup();
        if let Some(emit) = emit.as_mut() {
            let max = max_classes.min(MAX_CLASSES);
            if let Some(blocks) = classified_blocks(plan, info, prep, &needed, &by_dst, emit, max)?
            {
                return Ok(blocks);
            }
        }
        // The range texts of every source atom, once per set of domains hosts receive from.
        let mut domain_sets: Vec<&Vec<u32>> = needed.iter().map(|(_, d)| d).collect();
        domain_sets.dedup();
        let texts: HashMap<&Vec<u32>, (Set, HashMap<u32, AtomText>)> = domain_sets
            .into_iter()
            .map(|domains| {
                let visible = plan.visible(domains);
                let mut atoms: Vec<u32> = needed
                    .iter()
                    .filter(|(_, d)| d == domains)
                    .flat_map(|(da, _)| by_dst[da].iter().copied())
                    .collect();
                atoms.sort_unstable();
                atoms.dedup();
                let made = super::par_map(&atoms, |&a| {
                    (a, AtomText::new(plan, policy.atoms.set(a), &visible))
                });
                (domains, (visible, made.into_iter().collect()))
            })
            .collect();
        let make = |(da, domains): &(u32, Vec<u32>)| {
            let (visible, texts) = &texts[domains];
            let sources: Vec<u32> = by_dst[da]
                .iter()
                .copied()
                .filter(|sa| texts[sa].count() > 0)
                .collect();
            let block = host_block(plan, info, prep, *da, &sources, visible, texts);
            // The atom's chain name, and the domains when the plan has several.
            let name = format!(
                "to_{}{}",
                atom_label(info, *da),
                domains_suffix(plan, domains)
            );
            ((*da, domains.clone()), block.map(|b| (name, b)))
        };
        let mut blocks = HashMap::default();
        // Batches bound what is held at once when blocks are written as they are made; the
        // next batch is made (on both cores) while the last one is written.
        let batch = if emit.is_some() {
            64
        } else {
            needed.len().max(1)
        };
        type Made = Vec<((u32, Vec<u32>), Option<(String, String)>)>;
        let make = &make;
        std::thread::scope(|scope| -> Result<(), OutputError> {
            let mut pending: Option<std::thread::ScopedJoinHandle<'_, Made>> = None;
            for chunk in needed.chunks(batch).map(Some).chain([None]) {
                let next = chunk.map(|c| scope.spawn(move || super::par_map(c, make)));
                if let Some(done) = pending.take() {
                    let done = done.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
                    for (key, made) in done {
                        let Some((name, text)) = made else {
                            continue;
                        };
                        let text = match emit.as_mut() {
                            Some(emit) => {
                                emit(&name, text)?;
                                String::new()
                            }
                            None => text,
                        };
                        blocks.insert(key, (name, text));
                    }
                }
                pending = next;
            }
            Ok(())
        })?;
        Ok(HostBlocks {
            blocks,
            sources: HashMap::default(),
        })
    }
}

/// The suffix of a block's name for the domains its hosts receive from, when the plan has
/// several.
fn domains_suffix(plan: &Plan, domains: &[u32]) -> String {
    let mut out = String::new();
    if plan.domains.count > 1 {
        for d in domains {
            out.push_str(&format!("_d{d}"));
        }
    }
    out
}

/// The rules a host's input chain starts classification with when sources are classified
/// by a shared block: clear the class bits, then the source verdict maps.
const SOURCE_LOOKUPS: [&str; 3] = [
    "meta mark set meta mark and 0x0000ffff",
    "ip saddr vmap @src_v4",
    "ip6 saddr vmap @src_v6",
];

/// A hash of a pair's pieces, to tell rows apart without hashing their sets again.
fn fingerprint(pieces: &[PairPiece]) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(pieces)
}

/// One entry of a fingerprinted row or column: (index, fingerprint, pieces).
type Keyed<'a> = (usize, u64, &'a Vec<PairPiece>);

/// A source atom's row toward the hosts' destination atoms, (destination index, fingerprint,
/// pieces), hashed by its fingerprints and compared whole.
struct RowKey<'a> {
    hash: u64,
    row: &'a [Keyed<'a>],
}

impl<'a> RowKey<'a> {
    fn new(row: &'a [Keyed<'a>]) -> RowKey<'a> {
        let hash = row.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, (i, fp, _)| {
            (h ^ (*i as u64)).wrapping_mul(0x0100_0000_01b3) ^ fp.rotate_left(17)
        });
        RowKey { hash, row }
    }
}

impl std::hash::Hash for RowKey<'_> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl PartialEq for RowKey<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash
            && self.row.len() == other.row.len()
            && self
                .row
                .iter()
                .zip(other.row)
                .all(|(a, b)| a.0 == b.0 && a.1 == b.1 && a.2 == b.2)
    }
}

impl Eq for RowKey<'_> {}

/// `--nft-blocks shared`: the blocks when written once for every host. Sources are then
/// classified once per set of domains, by a block every host includes (`sources`: a verdict
/// map of source addresses jumping to a one-rule chain per class that writes the class into
/// bits 16-31 of the mark, as routers do with destinations); the block of a destination atom
/// is one lookup of (source class . protocol . port). Source atoms the plan treats alike
/// toward every destination the hosts have share a class. Scattered hosts make a class's
/// addresses many runs; they are now written once, not once per block that names them.
/// `None`, before anything is written, when a set of domains has more classes than the mark
/// can number: each block then classifies its own sources.
fn classified_blocks(
    plan: &Plan,
    info: &PlanInfo,
    prep: &Prepared,
    needed: &[(u32, Vec<u32>)],
    by_dst: &HashMap<u32, Vec<u32>>,
    emit: &mut BlockSink,
    max_classes: usize,
) -> Result<Option<HostBlocks>, OutputError> {
    let policy = &info.policy;
    let mut domain_sets: Vec<&Vec<u32>> = needed.iter().map(|(_, d)| d).collect();
    domain_sets.sort_unstable();
    domain_sets.dedup();
    // (source atom, a fingerprint of its pieces, the pieces).
    type Column = Vec<(u32, u64, Vec<PairPiece>)>;
    struct Classified<'a> {
        domains: &'a Vec<u32>,
        visible: Set,
        das: Vec<u32>,
        columns: Vec<Column>,
    }
    let mut made: Vec<Classified> = Vec::new();
    for domains in domain_sets {
        let visible = plan.visible(domains);
        let das: Vec<u32> = needed
            .iter()
            .filter(|(_, d)| d == domains)
            .map(|(da, _)| *da)
            .collect();
        // Each destination's column: the source atoms the hosts can receive from, with
        // their pieces toward it, in address order.
        let columns: Vec<Column> = super::par_map(&das, |da| {
            let mut col: Column = by_dst[da]
                .iter()
                .filter(|&&sa| policy.atoms.set(sa).intersects(&visible))
                .filter_map(|&sa| {
                    let pieces = pair_pieces(plan, &policy.pairs[&(sa, *da)]);
                    (!pieces.is_empty()).then(|| (sa, fingerprint(&pieces), pieces))
                })
                .collect();
            col.sort_unstable_by_key(|(sa, _, _)| (atom_start(info, *sa), *sa));
            col
        });
        made.push(Classified {
            domains,
            visible,
            das,
            columns,
        });
    }
    // Classes first, for every set of domains: a refusal must come before any block is
    // written.
    let mut classes_of = Vec::with_capacity(made.len());
    for m in &made {
        let mut rows: HashMap<u32, Vec<Keyed>> = HashMap::default();
        for (i, col) in m.columns.iter().enumerate() {
            for (sa, fp, pieces) in col {
                rows.entry(*sa).or_default().push((i, *fp, pieces));
            }
        }
        let mut sources: Vec<u32> = rows.keys().copied().collect();
        sources.sort_unstable_by_key(|&a| (atom_start(info, a), a));
        // Rows are told apart by their pieces' fingerprints first (made on both cores with
        // the columns), and compared whole only when those agree.
        let mut class_of: HashMap<RowKey, usize> = HashMap::default();
        let mut classes: Vec<Vec<u32>> = Vec::new();
        let mut member: HashMap<u32, usize> = HashMap::default();
        for &sa in &sources {
            let c = *class_of.entry(RowKey::new(&rows[&sa])).or_insert_with(|| {
                classes.push(Vec::new());
                classes.len() - 1
            });
            classes[c].push(sa);
            member.insert(sa, c);
        }
        if classes.len() > max_classes {
            return Ok(None);
        }
        classes_of.push((sources, classes, member));
    }
    let mut out = HostBlocks {
        blocks: HashMap::default(),
        sources: HashMap::default(),
    };
    for (m, (sources, classes, member)) in made.iter().zip(&classes_of) {
        let firsts: Vec<u32> = classes.iter().map(|c| c[0]).collect();
        let numbers = class_numbers(info, &firsts)?;
        let chain_of = |c: usize| format!("cls_{}", atom_label(info, classes[c][0]));
        // Each class's number and names, for its chain and every block's elements.
        let labels: Vec<(u32, String)> = classes
            .iter()
            .map(|members| (numbers[&members[0]], class_names(prep, members)))
            .collect();
        // The sources block: a chain per class, then the verdict maps.
        let texts = super::par_map(sources, |&sa| {
            AtomText::new(plan, policy.atoms.set(sa), &m.visible)
        });
        let mut text = String::new();
        for (c, (number, names)) in labels.iter().enumerate() {
            render_chain(
                &mut text,
                &format!("source class of {names}"),
                &chain_of(c),
                &[format!(
                    "meta mark set meta mark and {MARK_KEEP} or 0x{number:08x}"
                )],
            );
        }
        let mut maps = VerdictMaps::default();
        // Which families each class has addresses in, for its ICMP lookups.
        let mut fams = vec![[false; 2]; classes.len()];
        for (sa, t) in sources.iter().zip(&texts) {
            let c = member[sa];
            for (f, have) in fams[c].iter_mut().enumerate() {
                *have |= !t.ranges[f].is_empty();
            }
            maps.add_texts(Some(prep), *sa, t, &chain_of(c));
        }
        maps.render(&mut text, "src", "saddr");
        text.truncate(text.trim_end_matches('\n').len());
        let suffix = domains_suffix(plan, m.domains);
        let name = format!("sources{suffix}");
        emit(&name, text)?;
        out.sources.insert(m.domains.clone(), name);
        // A block per destination atom: what each class may do there.
        let indices: Vec<usize> = (0..m.das.len()).collect();
        let blocks = super::par_map(&indices, |&i| {
            let da = m.das[i];
            let mut groups: Vec<(usize, &Vec<PairPiece>)> = m.columns[i]
                .iter()
                .map(|(sa, _, p)| (member[sa], p))
                .collect();
            if groups.is_empty() {
                return None;
            }
            groups.sort_unstable_by_key(|g| g.0);
            groups.dedup_by_key(|g| g.0);
            let dlabel = atom_label(info, da);
            let block_fams: Vec<bool> = [true, false]
                .into_iter()
                .enumerate()
                .filter(|&(f, _)| groups.iter().any(|(c, _)| fams[*c][f]))
                .map(|(_, v4)| v4)
                .collect();
            let mut text = String::new();
            let mut rules = Vec::new();
            for verdict in verdicts_of(groups.iter().flat_map(|(_, p)| p.iter())) {
                let elements = class_elements(
                    prep,
                    groups.iter().map(|(c, pieces)| {
                        (labels[*c].0, labels[*c].1.as_str(), pieces.as_slice())
                    }),
                    verdict,
                );
                let then = class_verdict(plan, verdict);
                class_lookups(
                    &mut text,
                    &mut rules,
                    &format!("to_{dlabel}"),
                    &verdict.tag(plan),
                    elements,
                    &block_fams,
                    &then,
                );
            }
            Some(finish_block(text, prep, da, &dlabel, &rules))
        });
        for (da, block) in m.das.iter().zip(blocks) {
            let Some(text) = block else {
                continue;
            };
            let name = format!("to_{}{suffix}", atom_label(info, *da));
            emit(&name, text)?;
            out.blocks
                .insert((*da, m.domains.clone()), (name, String::new()));
        }
    }
    Ok(Some(out))
}

/// The block of one destination atom on hosts: the verdict maps of its source classes, a
/// chain per class with the (protocol . port) sets of what the class may reach, and the
/// atom's chain `to_ATOM` that looks the source up. `None` when nothing may reach it.
fn host_block(
    plan: &Plan,
    info: &PlanInfo,
    prep: &Prepared,
    da: u32,
    sources: &[u32],
    visible: &Set,
    texts: &HashMap<u32, AtomText>,
) -> Option<String> {
    let policy = &info.policy;
    // Source atoms the policy treats alike toward this atom form one class.
    let mut classes: BTreeMap<Vec<PairPiece>, Vec<u32>> = BTreeMap::new();
    for &sa in sources {
        let pieces = pair_pieces(plan, &policy.pairs[&(sa, da)]);
        if !pieces.is_empty() {
            classes.entry(pieces).or_default().push(sa);
        }
    }
    let mut classes: Vec<(Vec<u32>, Vec<PairPiece>)> = classes
        .into_iter()
        .map(|(pieces, mut atoms)| {
            atoms.sort_unstable_by_key(|&a| atom_start(info, a));
            (atoms, pieces)
        })
        .collect();
    classes.sort_unstable_by_key(|(atoms, _)| atom_start(info, atoms[0]));
    if classes.is_empty() {
        return None;
    }
    // Two encodings decide in one lookup after the address's chain: sources classified by a
    // verdict map first (elements: ranges + pieces + a chain per class), or one set of
    // (source range . protocol . port) (elements: ranges × pieces). The second is smaller
    // where each class is a few ranges (tiers laid out contiguously), the first where classes
    // are scattered over many ranges; the block uses whichever has fewer elements.
    let (mut direct, mut classified) = (0usize, 0usize);
    for (atoms, pieces) in &classes {
        let ranges: usize = atoms.iter().map(|a| texts[a].count()).sum();
        let n: usize = pieces
            .iter()
            .map(|p| space::service_pieces(&p.0).len())
            .sum();
        direct += ranges * n;
        classified += ranges + n + 4;
    }
    if direct <= classified {
        return Some(host_block_direct(plan, info, prep, da, &classes, visible));
    }
    let dlabel = atom_label(info, da);
    let mut out = String::new();
    let mut maps = VerdictMaps::default();
    for (atoms, pieces) in &classes {
        let chain = format!("from_{}_to_{dlabel}", atom_label(info, atoms[0]));
        let mut rules = Vec::new();
        let fams: Vec<bool> = [true, false]
            .into_iter()
            .enumerate()
            .filter(|&(f, _)| atoms.iter().any(|a| !texts[a].ranges[f].is_empty()))
            .map(|(_, v4)| v4)
            .collect();
        for verdict in verdicts_of(pieces) {
            let mut ports = String::new();
            for (svc, flow, _) in pieces.iter().filter(|p| p.2 == verdict) {
                let comment = &prep.comments[*flow];
                for (proto, lo, hi) in space::service_pieces(svc) {
                    if proto == Proto::Icmp {
                        for &v4 in &fams {
                            rules.push(format!(
                                "{} {}{comment}",
                                icmp_match(v4),
                                verdict.text(plan)
                            ));
                        }
                    } else {
                        let _ = writeln!(
                            ports,
                            "\t\t\t{} . {}{comment},",
                            proto.name(),
                            space::port_text(lo, hi)
                        );
                    }
                }
            }
            if !ports.is_empty() {
                let set = format!("{chain}_{}ports", verdict.tag(plan));
                render_set(&mut out, "set", &set, "inet_proto . inet_service", &ports);
                rules.insert(
                    0,
                    format!("meta l4proto . th dport @{set} {}", verdict.text(plan)),
                );
            }
        }
        let names: Vec<String> = atoms
            .iter()
            .flat_map(|a| prep.names.get(a).cloned().unwrap_or_default())
            .take(3)
            .collect();
        render_chain(
            &mut out,
            &format!("sources in {}", names.join(", ")),
            &chain,
            &rules,
        );
        for &a in atoms {
            maps.add_texts(Some(prep), a, &texts[&a], &chain);
        }
    }
    let lookups = maps.render(&mut out, &format!("src_{dlabel}"), "saddr");
    Some(finish_block(out, prep, da, &dlabel, &lookups))
}

/// The block of one destination atom as one set per family and verdict of (source range .
/// protocol . port), and one of source ranges for ICMP, looked up from the atom's chain
/// `to_ATOM`: for classes of few ranges (see `host_block`).
fn host_block_direct(
    plan: &Plan,
    info: &PlanInfo,
    prep: &Prepared,
    da: u32,
    classes: &[(Vec<u32>, Vec<PairPiece>)],
    visible: &Set,
) -> String {
    let policy = &info.policy;
    let dlabel = atom_label(info, da);
    let mut out = String::new();
    let mut rules = Vec::new();
    for v4 in [true, false] {
        let fam = plan.family(v4).intersect(visible);
        let (ip, addr, tag) = if v4 {
            ("ip", "ipv4_addr", "v4")
        } else {
            ("ip6", "ipv6_addr", "v6")
        };
        // Every source atom with its pieces, in address order.
        let mut atoms: Vec<(u32, &Vec<PairPiece>)> = classes
            .iter()
            .flat_map(|(atoms, pieces)| atoms.iter().map(move |&a| (a, pieces)))
            .filter(|(a, _)| policy.atoms.set(*a).intersects(&fam))
            .collect();
        atoms.sort_unstable_by_key(|(a, _)| atom_start(info, *a));
        for verdict in verdicts_of(classes.iter().flat_map(|(_, p)| p)) {
            let (mut ports, mut icmps) = (String::new(), String::new());
            for (sa, pieces) in &atoms {
                let addrs = ranges(&policy.atoms.set(*sa).intersect(&fam));
                let mut named = [false, false];
                for (svc, flow, _) in pieces.iter().filter(|p| p.2 == verdict) {
                    let comment = &prep.comments[*flow];
                    for (proto, lo, hi) in space::service_pieces(svc) {
                        let icmp = proto == Proto::Icmp;
                        let (text, done) = if icmp {
                            (&mut icmps, &mut named[1])
                        } else {
                            (&mut ports, &mut named[0])
                        };
                        if !*done {
                            *done = true;
                            names_line(text, prep, *sa);
                        }
                        for a in &addrs {
                            if icmp {
                                let _ = writeln!(text, "\t\t\t{a}{comment},");
                            } else {
                                let _ = writeln!(
                                    text,
                                    "\t\t\t{a} . {} . {}{comment},",
                                    proto.name(),
                                    space::port_text(lo, hi)
                                );
                            }
                        }
                    }
                }
            }
            let name = format!("from_{dlabel}_{}", verdict.tag(plan));
            if !ports.is_empty() {
                let set = format!("{name}ports_{tag}");
                render_set(
                    &mut out,
                    "set",
                    &set,
                    &format!("{addr} . inet_proto . inet_service"),
                    &ports,
                );
                rules.push(format!(
                    "{ip} saddr . meta l4proto . th dport @{set} {}",
                    verdict.text(plan)
                ));
            }
            if !icmps.is_empty() {
                let set = format!("{name}icmp_{tag}");
                render_set(&mut out, "set", &set, addr, &icmps);
                rules.push(format!(
                    "{} {ip} saddr @{set} {}",
                    icmp_match(v4),
                    verdict.text(plan)
                ));
            }
        }
    }
    finish_block(out, prep, da, &dlabel, &rules)
}

/// A host block's last part, the atom's chain `to_ATOM` with its rules, and the block without
/// trailing blank lines.
fn finish_block(
    mut out: String,
    prep: &Prepared,
    da: u32,
    dlabel: &str,
    rules: &[String],
) -> String {
    let of = prep
        .names
        .get(&da)
        .map_or_else(|| "addresses".to_string(), |n| n.join(", "));
    render_chain(
        &mut out,
        &format!("addresses of {of}"),
        &format!("to_{dlabel}"),
        rules,
    );
    out.truncate(out.trim_end_matches('\n').len());
    out
}

#[derive(Template)]
#[template(path = "nftables/host.nft")]
struct HostView<'a> {
    header: String,
    maps: &'a str,
    blocks: Vec<&'a str>,
    /// With `--nft-blocks shared`: the block files to include (`blocks/NAME.nft`), instead
    /// of `blocks`.
    includes: Vec<String>,
    /// Sources are classified by a shared block, into bits 16-31 of the mark.
    classified: bool,
    vrrp: Vec<RuleView>,
    lookups: Vec<String>,
    /// `egress filtered`: the output chain's lookups (none: the chain drops all but replies).
    egress: Option<Vec<String>>,
}

struct RuleView {
    comment: String,
    text: String,
}

/// What a host that filters egress may send: from each of its interface addresses (VIPs send
/// nothing), every destination and service the policy permits, as one (source . destination
/// . protocol . port) set and one (source . destination) set for ICMP per family, written into
/// `sets`; returns the output chain's lookups.
fn egress_filter(
    plan: &Plan,
    info: &PlanInfo,
    prep: &Prepared,
    h: usize,
    sets: &mut String,
) -> Vec<String> {
    let policy = &info.policy;
    let visible = plan.visible(&plan.host_domains(h));
    let own = plan.host_set(h);
    let mut srcs = policy.atoms.split(&own);
    srcs.sort_unstable_by_key(|(a, _)| atom_start(info, *a));
    let mut dsts: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for &(sa, da) in policy.pairs.keys() {
        if srcs.iter().any(|(a, _)| *a == sa) {
            dsts.entry(sa).or_default().push(da);
        }
    }
    let mut rules = Vec::new();
    for v4 in [true, false] {
        let fam = plan.family(v4).intersect(&visible);
        let (ip, addr, tag) = if v4 {
            ("ip", "ipv4_addr", "v4")
        } else {
            ("ip6", "ipv6_addr", "v6")
        };
        let (mut ports, mut icmps) = (String::new(), String::new());
        for (sa, part) in &srcs {
            let from = ranges(&part.intersect(&fam));
            let mut das = dsts.get(sa).cloned().unwrap_or_default();
            das.sort_unstable_by_key(|&a| atom_start(info, a));
            for da in das {
                let to = ranges(&policy.atoms.set(da).intersect(&fam));
                if from.is_empty() || to.is_empty() {
                    continue;
                }
                let pieces = pair_pieces(plan, &policy.pairs[&(*sa, da)]);
                for (svc, flow, _) in pieces
                    .iter()
                    .filter(|p| matches!(p.2, Verdict::Accept | Verdict::LogAccept(_)))
                {
                    let comment = &prep.comments[*flow];
                    for (proto, lo, hi) in space::service_pieces(svc) {
                        for (a, b) in from.iter().flat_map(|a| to.iter().map(move |b| (a, b))) {
                            if proto == Proto::Icmp {
                                let _ = writeln!(icmps, "\t\t\t{a} . {b}{comment},");
                            } else {
                                let _ = writeln!(
                                    ports,
                                    "\t\t\t{a} . {b} . {} . {}{comment},",
                                    proto.name(),
                                    space::port_text(lo, hi)
                                );
                            }
                        }
                    }
                }
            }
        }
        if !ports.is_empty() {
            let set = format!("egress_ports_{tag}");
            render_set(
                sets,
                "set",
                &set,
                &format!("{addr} . {addr} . inet_proto . inet_service"),
                &ports,
            );
            rules.push(format!(
                "{ip} saddr . {ip} daddr . meta l4proto . th dport @{set} accept"
            ));
        }
        if !icmps.is_empty() {
            let set = format!("egress_icmp_{tag}");
            render_set(sets, "set", &set, &format!("{addr} . {addr}"), &icmps);
            rules.push(format!(
                "{} {ip} saddr . {ip} daddr @{set} accept",
                icmp_match(v4)
            ));
        }
    }
    rules
}

/// A host's ruleset: its own addresses, by destination atom, jump to the block of that atom
/// (one small verdict map), which classifies the source (one verdict map) and decides by
/// (protocol . port) (one set lookup).
pub fn host_ruleset(
    plan: &Plan,
    info: &PlanInfo,
    prep: &Prepared,
    blocks: &HostBlocks,
    h: usize,
    shared: bool,
) -> Result<String, OutputError> {
    let host = &plan.hosts[h];
    let mut used: Vec<&str> = Vec::new();
    let mut includes: Vec<String> = Vec::new();
    let mut map = VerdictMaps::default();
    let domains = plan.host_domains(h);
    let mut parts = info.policy.atoms.split(&plan.host_local_set(h));
    parts.sort_unstable_by_key(|(a, _)| atom_start(info, *a));
    for (da, part) in parts {
        let Some((name, block)) = blocks.blocks.get(&(da, domains.clone())) else {
            continue;
        };
        map.add(
            plan,
            None,
            da,
            &part,
            &format!("to_{}", atom_label(info, da)),
        );
        if shared {
            includes.push(include_path(name));
        } else {
            used.push(block);
        }
    }
    let mut maps = String::new();
    let mut lookups: Vec<String> = Vec::new();
    // Shared, sources classified once: the sources block comes first, and the input chain
    // classifies the source before the host's own address picks its block.
    let classifier = blocks
        .sources
        .get(&domains)
        .filter(|_| !includes.is_empty());
    if let Some(name) = classifier {
        includes.insert(0, include_path(name));
        lookups.extend(SOURCE_LOOKUPS.iter().map(|l| l.to_string()));
    }
    lookups.extend(map.render(&mut maps, "dst", "daddr"));
    let egress = plan.tiers[host.tier]
        .egress
        .then(|| egress_filter(plan, info, prep, h, &mut maps));
    maps.truncate(maps.trim_end_matches('\n').len());
    let mut vrrp = Vec::new();
    for v in hostrules::vrrp_peers(plan, h) {
        let (ip, peers, local) = (
            if v.v4 { "ip" } else { "ip6" },
            ranges(&v.peers),
            ranges(&v.local),
        );
        let group = if v.v4 { "224.0.0.18" } else { "ff02::12" };
        vrrp.push(RuleView {
            comment: format!("VRRP between the members of vip {}", plan.vips[v.vip].name),
            text: format!(
                "{ip} saddr {{ {} }} {ip} daddr {{ {}, {group} }} meta l4proto vrrp accept comment \"netc: vip {}\"",
                peers.join(", "),
                local.join(", "),
                plan.vips[v.vip].name
            ),
        });
    }
    HostView {
        header: header(
            plan,
            &format!(
                "nftables {} filter of host {}, tier {}",
                if egress.is_some() {
                    "input and output"
                } else {
                    "input"
                },
                host.name,
                plan.tiers[host.tier].name
            ),
            "#",
        ),
        maps: &maps,
        blocks: used,
        includes,
        classified: classifier.is_some(),
        vrrp,
        lookups,
        egress,
    }
    .render()
    .map(super::with_final_newline)
    .map_err(|e| template_error("host", e))
}

// ---- routers ----

/// The class number of each destination atom at a router, in bits 16-31 of the mark. Numbers
/// come from a hash of where the atom starts (probing on a collision), so that a change of
/// the plan renumbers only the atoms it changes, and golden files stay quiet.
fn class_numbers(info: &PlanInfo, atoms: &[u32]) -> Result<HashMap<u32, u32>, OutputError> {
    if atoms.len() > MAX_CLASSES {
        return Err(OutputError(format!(
            "nftables: a router would need {} destination classes, more than the {MAX_CLASSES} the packet mark's 16 bits can number (E110: split the plan's routing domain, or group hosts into fewer tiers)",
            atoms.len()
        )));
    }
    let mut order: Vec<u32> = atoms.to_vec();
    order.sort_unstable_by_key(|&a| atom_start(info, a));
    let mut taken = vec![false; MAX_CLASSES + 1];
    let mut out = HashMap::default();
    for a in order {
        let k = atom_start(info, a);
        // FNV-1a of the start key.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in k.hi.to_le_bytes().iter().chain(k.lo.to_le_bytes().iter()) {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
        let mut n = (h % MAX_CLASSES as u64) as usize + 1;
        while taken[n] {
            n = n % MAX_CLASSES + 1;
        }
        taken[n] = true;
        out.insert(a, (n as u32) << 16);
    }
    Ok(out)
}

/// What every router of one routing domain holds, restricted to what its routers can
/// receive (its addresses and the internet's): the destination and source verdict maps, the
/// destination classes' marking chains, and a chain per source atom with its sets.
struct RouterBody {
    text: String,
    lookups: Vec<String>,
}

impl RouterBody {
    fn new(
        plan: &Plan,
        info: &PlanInfo,
        prep: &Prepared,
        domain: u32,
    ) -> Result<RouterBody, OutputError> {
        let policy = &info.policy;
        let visible = plan.visible(&[domain]);
        // Destinations by source atom, sources in address order (atom numbers change when
        // the plan does; where an atom starts changes only when that atom does).
        let mut by_src: BTreeMap<(space::Key, u32), Vec<u32>> = BTreeMap::new();
        let mut dsts: Vec<u32> = Vec::new();
        for &(sa, da) in policy.pairs.keys() {
            if !policy.atoms.set(sa).intersects(&visible)
                || !policy.atoms.set(da).intersects(&visible)
            {
                continue;
            }
            by_src
                .entry((atom_start(info, sa), sa))
                .or_default()
                .push(da);
            dsts.push(da);
        }
        dsts.sort_unstable_by_key(|&a| atom_start(info, a));
        dsts.dedup();
        let by_src: Vec<(u32, Vec<u32>)> = by_src.into_iter().map(|((_, sa), d)| (sa, d)).collect();
        // Each source atom's row, split in what allows permit and what denies take away, made
        // on every core. Atoms whose allow rows are equal share one class chain; an atom
        // that denies cut into gets a chain of its own with its deny lookups, which then goes
        // to its class's chain. A host carved out of its tier by a deny thus costs its deny
        // elements, not a copy of its tier's row.
        let rows = super::par_map(&by_src, |(sa, dsts)| {
            let mut dsts = dsts.clone();
            dsts.sort_unstable_by_key(|&a| atom_start(info, a));
            let mut allow = Vec::new();
            let mut deny = Vec::new();
            for da in dsts {
                let rules = &policy.pairs[&(*sa, da)];
                let (a, d) = split_pieces(plan, rules);
                if !a.is_empty() {
                    allow.push((da, a));
                }
                if !d.is_empty() {
                    deny.push((da, d));
                }
            }
            let fps = |row: &Row| -> Vec<u64> { row.iter().map(|(_, p)| fingerprint(p)).collect() };
            let (allow_fp, deny_fp) = (fps(&allow), fps(&deny));
            (allow, deny, allow_fp, deny_fp)
        });
        // Destination atoms whose columns are equal (every source's allow and deny pieces
        // toward them alike: a host that a deny names as a source, say) share one class: the
        // rows keep the first of them, in address order.
        let rep_of: HashMap<u32, u32> = {
            // (source row, and 1 for allows, 0 for denies; fingerprint; pieces).
            type Column<'a> = Vec<Keyed<'a>>;
            let mut columns: HashMap<u32, Column> = HashMap::default();
            for (i, (allow, deny, allow_fp, deny_fp)) in rows.iter().enumerate() {
                for ((da, pieces), fp) in allow.iter().zip(allow_fp) {
                    columns
                        .entry(*da)
                        .or_default()
                        .push((2 * i + 1, *fp, pieces));
                }
                for ((da, pieces), fp) in deny.iter().zip(deny_fp) {
                    columns.entry(*da).or_default().push((2 * i, *fp, pieces));
                }
            }
            let mut first: HashMap<RowKey, u32> = HashMap::default();
            dsts.iter()
                .filter_map(|da| {
                    let col = columns.get(da)?;
                    Some((*da, *first.entry(RowKey::new(col)).or_insert(*da)))
                })
                .collect()
        };
        let mut allow_fps: Vec<Vec<u64>> = Vec::with_capacity(rows.len());
        let rows: Vec<(Row, Row)> = rows
            .into_iter()
            .map(|(allow, deny, allow_fp, _)| {
                let is_rep = |da: &u32| rep_of.get(da) == Some(da);
                let (allow, fps): (Row, Vec<u64>) = allow
                    .into_iter()
                    .zip(allow_fp)
                    .filter(|((da, _), _)| is_rep(da))
                    .unzip();
                allow_fps.push(fps);
                (
                    allow,
                    deny.into_iter().filter(|(da, _)| is_rep(da)).collect(),
                )
            })
            .collect();
        let reps: Vec<u32> = dsts
            .iter()
            .copied()
            .filter(|da| rep_of.get(da) == Some(da))
            .collect();
        let numbers = class_numbers(info, &reps)?;
        // Classes in the address order of their first atom (by_src is in that order).
        let keys: Vec<Vec<Keyed>> = rows
            .iter()
            .zip(&allow_fps)
            .map(|((allow, _), fps)| {
                allow
                    .iter()
                    .zip(fps)
                    .map(|((da, p), fp)| (*da as usize, *fp, p))
                    .collect()
            })
            .collect();
        let mut class_of: HashMap<RowKey, usize> = HashMap::default();
        let mut classes: Vec<(u32, &Row, Vec<u32>)> = Vec::new();
        let mut member_class = Vec::with_capacity(rows.len());
        for (((sa, _), (allow, _)), key) in by_src.iter().zip(&rows).zip(&keys) {
            let c = *class_of.entry(RowKey::new(key)).or_insert_with(|| {
                classes.push((*sa, allow, Vec::new()));
                classes.len() - 1
            });
            classes[c].2.push(*sa);
            member_class.push(c);
        }
        let made = super::par_map(&classes, |(first, row, members)| {
            let addrs = members
                .iter()
                .fold(Set::empty(), |acc, &m| acc.union(policy.atoms.set(m)));
            router_block(
                plan, info, prep, *first, members, &addrs, row, &numbers, &visible,
            )
        });
        let mut blocks = String::new();
        let mut class_chain: Vec<Option<String>> = Vec::with_capacity(classes.len());
        for ((first, _, _), block) in classes.iter().zip(made) {
            class_chain.push(
                block
                    .is_some()
                    .then(|| format!("from_{}", atom_label(info, *first))),
            );
            blocks.extend(block);
        }
        let mut src_maps = VerdictMaps::default();
        let mut used_dsts: Vec<u32> = Vec::new();
        for (((sa, _), (allow, deny)), c) in by_src.iter().zip(&rows).zip(member_class) {
            let addrs = policy.atoms.set(*sa).intersect(&visible);
            let chain = if deny.is_empty() {
                match &class_chain[c] {
                    Some(chain) => chain.clone(),
                    None => continue,
                }
            } else {
                blocks.push_str(&deny_block(
                    plan,
                    info,
                    prep,
                    *sa,
                    &addrs,
                    deny,
                    &numbers,
                    class_chain[c].as_deref(),
                ));
                format!("deny_{}", atom_label(info, *sa))
            };
            src_maps.add(plan, Some(prep), *sa, &addrs, &chain);
            used_dsts.extend(allow.iter().chain(deny).map(|(da, _)| *da));
        }
        // Every member of a used destination class is classified into it.
        let used_reps: std::collections::HashSet<u32> = used_dsts.iter().copied().collect();
        used_dsts.clear();
        for (&da, rep) in &rep_of {
            if used_reps.contains(rep) {
                used_dsts.push(da);
            }
        }
        used_dsts.sort_unstable_by_key(|&a| atom_start(info, a));
        used_dsts.dedup();
        let mut text = String::new();
        let mut dst_maps = VerdictMaps::default();
        let mut members: BTreeMap<(space::Key, u32), Vec<u32>> = BTreeMap::new();
        for &da in &used_dsts {
            let r = rep_of[&da];
            members
                .entry((atom_start(info, r), r))
                .or_default()
                .push(da);
            let chain = format!("dst_{}", atom_label(info, r));
            dst_maps.add(
                plan,
                Some(prep),
                da,
                &policy.atoms.set(da).intersect(&visible),
                &chain,
            );
        }
        for ((_, r), members) in &members {
            render_chain(
                &mut text,
                &format!("destination class of {}", class_names(prep, members)),
                &format!("dst_{}", atom_label(info, *r)),
                &[format!(
                    "meta mark set meta mark and {MARK_KEEP} or 0x{:08x}",
                    numbers[r]
                )],
            );
        }
        let mut lookups = vec![format!("meta mark set meta mark and {MARK_KEEP}")];
        lookups.extend(dst_maps.render(&mut text, "dst", "daddr"));
        lookups.extend(src_maps.render(&mut text, "src", "saddr"));
        text.push_str(&blocks);
        text.truncate(text.trim_end_matches('\n').len());
        Ok(RouterBody { text, lookups })
    }
}

/// A source atom's row: for each destination atom (in address order), pieces.
type Row = Vec<(u32, Vec<PairPiece>)>;

/// A pair's pieces split in two: what the allows permit, ignoring denies (disjoint, each
/// with the first allow that matches, logged allows apart); and what the denies take away
/// from it, with the first deny that matches (logged denies also where nothing is allowed,
/// so that the log sees them).
fn split_pieces(plan: &Plan, rules: &crate::policy::PairRules) -> (Vec<PairPiece>, Vec<PairPiece>) {
    let only_allows = crate::policy::PairRules {
        allows: rules.allows.clone(),
        denies: Vec::new(),
    };
    let allow = pair_pieces(plan, &only_allows);
    let allowed = allow.iter().fold(Set::empty(), |acc, p| acc.union(&p.0));
    let mut deny = Vec::new();
    let mut taken = Set::empty();
    for (f, svc) in &rules.denies {
        let logged = plan.flows[*f].log;
        let fresh = if logged {
            svc.difference(&taken)
        } else {
            svc.intersect(&allowed).difference(&taken)
        };
        if fresh.is_empty() {
            continue;
        }
        taken = taken.union(&fresh);
        let v = if logged {
            Verdict::LogDrop(*f)
        } else {
            Verdict::Drop
        };
        deny.push((fresh, *f, v));
    }
    (allow, deny)
}

/// The families (v4, v6) a set of addresses has at a router.
fn families(plan: &Plan, addrs: &Set, visible: &Set) -> Vec<bool> {
    [true, false]
        .into_iter()
        .filter(|&v4| addrs.intersects(&plan.family(v4).intersect(visible)))
        .collect()
}

/// The (class . protocol . port) and (class) ICMP sets of `verdict` for `groups` of (class
/// number, names, pieces), each element commented with its plan rule and grouped under the
/// names of its class: the element texts of the two sets.
fn class_elements<'a, N: AsRef<str>>(
    prep: &Prepared,
    groups: impl IntoIterator<Item = (u32, N, &'a [PairPiece])>,
    verdict: Verdict,
) -> (String, String) {
    let (mut ports, mut icmps) = (String::new(), String::new());
    for (number, names, list) in groups {
        let mut named = [false, false];
        for (svc, flow, _) in list.iter().filter(|p| p.2 == verdict) {
            let comment = &prep.comments[*flow];
            for (proto, lo, hi) in space::service_pieces(svc) {
                let (text, done) = if proto == Proto::Icmp {
                    (&mut icmps, &mut named[1])
                } else {
                    (&mut ports, &mut named[0])
                };
                if !*done {
                    *done = true;
                    let _ = writeln!(text, "\t\t\t# {}", super::safe_text(names.as_ref()));
                }
                if proto == Proto::Icmp {
                    let _ = writeln!(text, "\t\t\t0x{number:08x}{comment},");
                } else {
                    let _ = writeln!(
                        text,
                        "\t\t\t0x{number:08x} . {} . {}{comment},",
                        proto.name(),
                        space::port_text(lo, hi)
                    );
                }
            }
        }
    }
    (ports, icmps)
}

/// A router row as `class_elements` groups: each destination atom's class number and names.
fn row_groups<'a>(
    prep: &'a Prepared,
    groups: &'a [(u32, Vec<PairPiece>)],
    numbers: &'a HashMap<u32, u32>,
) -> impl Iterator<Item = (u32, String, &'a [PairPiece])> + 'a {
    groups
        .iter()
        .map(move |(da, list)| (numbers[da], atom_names(prep, *da), list.as_slice()))
}

/// What a class lookup that matches does: accepts (logged or not) and drops clear the class
/// bits first, so that the packet leaves as it came; a logged drop just logs and drops.
fn class_verdict(plan: &Plan, verdict: Verdict) -> String {
    match verdict {
        Verdict::LogDrop(_) => verdict.text(plan),
        _ => format!(
            "meta mark set meta mark and {MARK_KEEP} {}",
            verdict.text(plan)
        ),
    }
}

/// The sets (named `{prefix}_{tag}ports` and `{prefix}_{tag}icmp`) and rules of one
/// verdict's elements, `then` ending each rule.
#[allow(clippy::too_many_arguments)]
fn class_lookups(
    out: &mut String,
    rules: &mut Vec<String>,
    prefix: &str,
    tag: &str,
    (ports, icmps): (String, String),
    fams: &[bool],
    then: &str,
) {
    if !ports.is_empty() {
        let set = format!("{prefix}_{tag}ports");
        render_set(out, "set", &set, "mark . inet_proto . inet_service", &ports);
        rules.push(format!(
            "meta mark and {MARK_BITS} . meta l4proto . th dport @{set} {then}"
        ));
    }
    if !icmps.is_empty() {
        let set = format!("{prefix}_{tag}icmp");
        render_set(out, "set", &set, "mark", &icmps);
        for &v4 in fams {
            rules.push(format!(
                "{} meta mark and {MARK_BITS} @{set} {then}",
                icmp_match(v4)
            ));
        }
    }
}

/// The names of a class's atoms, for its chain's comment (at most three, then a count).
fn class_names(prep: &Prepared, members: &[u32]) -> String {
    let mut names: Vec<&str> = Vec::new();
    for m in members {
        for n in prep.names.get(m).into_iter().flatten() {
            if !names.contains(&n.as_str()) {
                names.push(n);
            }
        }
    }
    match names.len() {
        0 => "addresses".to_string(),
        1..=3 => names.join(", "),
        n => format!("{} and {} more", names[..3].join(", "), n - 3),
    }
}

/// The sets and the chain `from_{first}` of one source class at a router (atoms whose
/// allows are the same): for each verdict, one set of (destination class . protocol . port)
/// and one of destination classes for ICMP. `None` when the allows permit nothing.
#[allow(clippy::too_many_arguments)]
fn router_block(
    plan: &Plan,
    info: &PlanInfo,
    prep: &Prepared,
    first: u32,
    members: &[u32],
    addrs: &Set,
    groups: &Row,
    numbers: &HashMap<u32, u32>,
    visible: &Set,
) -> Option<String> {
    let label = atom_label(info, first);
    let fams = families(plan, addrs, visible);
    let mut out = String::new();
    let mut rules = Vec::new();
    for verdict in verdicts_of(groups.iter().flat_map(|(_, l)| l)) {
        let then = class_verdict(plan, verdict);
        let elements = class_elements(prep, row_groups(prep, groups, numbers), verdict);
        let prefix = format!("to_{label}");
        class_lookups(
            &mut out,
            &mut rules,
            &prefix,
            &verdict.tag(plan),
            elements,
            &fams,
            &then,
        );
    }
    if rules.is_empty() {
        return None;
    }
    render_chain(
        &mut out,
        &format!("sources in {}", class_names(prep, members)),
        &format!("from_{label}"),
        &rules,
    );
    Some(out)
}

/// The chain `deny_{atom}` of a source atom that denies cut into: its deny lookups (drop;
/// logged denies log, then drop), then on to its class's chain.
#[allow(clippy::too_many_arguments)]
fn deny_block(
    plan: &Plan,
    info: &PlanInfo,
    prep: &Prepared,
    sa: u32,
    addrs: &Set,
    groups: &Row,
    numbers: &HashMap<u32, u32>,
    class_chain: Option<&str>,
) -> String {
    let label = atom_label(info, sa);
    let fams = families(plan, addrs, addrs);
    let mut out = String::new();
    let mut rules = Vec::new();
    for verdict in verdicts_of(groups.iter().flat_map(|(_, l)| l)) {
        let elements = class_elements(prep, row_groups(prep, groups, numbers), verdict);
        let prefix = format!("deny_{label}");
        let (tag, then) = (verdict.tag(plan), verdict.text(plan));
        class_lookups(&mut out, &mut rules, &prefix, &tag, elements, &fams, &then);
    }
    if let Some(chain) = class_chain {
        rules.push(format!("goto {chain}"));
    }
    render_chain(
        &mut out,
        &format!("denies for sources in {}", class_names(prep, &[sa])),
        &format!("deny_{label}"),
        &rules,
    );
    out
}

#[derive(Template)]
#[template(path = "nftables/router.nft")]
struct RouterView<'a> {
    header: String,
    body: &'a str,
    lookups: &'a [String],
    dnat: Vec<String>,
    snat: Vec<String>,
}

/// Router `r`'s translations (`nat::rules`) as nftables rules: destination NAT on prerouting
/// (before the forward filter, which then decides on the translated packet), source NAT on
/// postrouting for packets leaving by the upstream interface.
fn nat_rules(plan: &Plan, r: usize) -> (Vec<String>, Vec<String>) {
    let text = |rule: &crate::nat::Rule| match rule {
        crate::nat::Rule::Dnat {
            public,
            ports,
            to,
            to_port,
            label,
        } => {
            let dport = ports.map_or(String::new(), |(p, (a, b))| {
                if a == b {
                    format!(" {} dport {a}", p.name())
                } else {
                    format!(" {} dport {a}-{b}", p.name())
                }
            });
            let port = to_port.map_or(String::new(), |p| format!(":{p}"));
            format!("ip daddr {public}{dport} dnat ip to {to}{port} comment \"{label}\"")
        }
        crate::nat::Rule::Snat {
            dev,
            sources,
            one,
            to,
            label,
        } => {
            let saddr = if *one {
                sources.join(", ")
            } else {
                format!("{{ {} }}", sources.join(", "))
            };
            let action = to.map_or("masquerade".to_string(), |a| format!("snat ip to {a}"));
            format!("oifname \"{dev}\" ip saddr {saddr} {action} comment \"{label}\"")
        }
    };
    let (pre, post) = crate::nat::rules(plan, r);
    (
        pre.iter().map(text).collect(),
        post.iter().map(text).collect(),
    )
}

fn router_ruleset(plan: &Plan, body: &RouterBody, r: usize) -> Result<String, OutputError> {
    // Sized up front: a large router's ruleset is megabytes, and a growing string would hold
    // its old and new buffers at once at every doubling.
    let mut out = String::with_capacity(body.text.len() + 8192);
    let (dnat, snat) = nat_rules(plan, r);
    RouterView {
        header: header(
            plan,
            &format!("nftables forward filter of router {}", plan.routers[r].name),
            "#",
        ),
        body: &body.text,
        lookups: &body.lookups,
        dnat,
        snat,
    }
    .render_into(&mut out)
    .map_err(|e| template_error("router", e))?;
    Ok(super::with_final_newline(out))
}

/// What the host and router rulesets share, worked out once per compile.
pub struct Prepared {
    /// The names of the endpoints each atom belongs to (for comments).
    names: BTreeMap<u32, Vec<String>>,
    /// ` comment "FILE:LINE"` for each flow.
    comments: Vec<String>,
}

impl Prepared {
    pub fn new(plan: &Plan, info: &PlanInfo) -> Prepared {
        Prepared {
            names: hostrules::atom_names(plan, &info.policy),
            comments: (0..plan.flows.len())
                .map(|f| format!(" comment \"{}\"", flow_ref(plan, f)))
                .collect(),
        }
    }
}

/// Where an atom starts: its lowest address (atoms are disjoint, so this names one).
fn atom_start(info: &PlanInfo, atom: u32) -> space::Key {
    info.policy.atoms.set(atom).first().unwrap_or_default()
}

/// An atom's name in chains and sets: the address it starts at (`10_20_10_11`,
/// `fd00_98_3__10`, `0` for the one that starts at `::`). Stable when other parts of the
/// plan change, unlike the atom's number.
fn atom_label(info: &PlanInfo, atom: u32) -> String {
    let k = atom_start(info, atom);
    let addr = if k.lo == 0 && !space::is_v4_key(k) {
        "0".to_string()
    } else {
        space::key_addr(k).to_string().replace(['.', ':'], "_")
    };
    // Atoms of another routing domain than 0 (a VRF that shares addresses with domain 0):
    // the domain in the name keeps names distinct.
    match space::key_domain(k) {
        0 => addr,
        d => format!("d{d}_{addr}"),
    }
}

impl Verdict {
    /// The set-name part of a logged rule: its stable identity, not its position.
    fn tag(self, plan: &Plan) -> String {
        match self {
            Verdict::Accept | Verdict::Drop => String::new(),
            Verdict::LogAccept(f) => format!("log_{}_", plan.flows[f].id()),
            Verdict::LogDrop(f) => format!("deny_{}_", plan.flows[f].id()),
        }
    }

    fn text(self, plan: &Plan) -> String {
        let prefix = |f: usize| plan.flows[f].id();
        match self {
            Verdict::Accept => "accept".into(),
            Verdict::Drop => "drop".into(),
            Verdict::LogAccept(f) => format!("log prefix \"netc {} \" accept", prefix(f)),
            Verdict::LogDrop(f) => format!("log prefix \"netc deny {} \" drop", prefix(f)),
        }
    }
}
