//! Back ends: one module per target, each turning `(&Plan, &PlanInfo)` into files. Data is
//! shaped in Rust into view structs; askama templates under `targets/` only lay it out.

pub mod bind;
pub mod eos;
pub mod firewalld;
pub mod guard;
pub mod hostrules;
pub mod ifupdown2;
pub mod ios;
pub mod junos;
pub mod keepalived;
pub mod nftables;
pub mod routes;
pub mod switch;
pub mod ufw;

use crate::check::PlanInfo;
use crate::ir::Plan;
use std::path::PathBuf;

/// One generated file, relative to the output directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputFile {
    pub path: PathBuf,
    pub contents: String,
}

/// What a back end may know besides the plan: what it left in the output directory on the
/// last run (zone serials, zone files), as it asked for with `Target::reads_back`.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Path relative to the output directory -> the file's text, for the paths the targets
    /// read back (`output::read_back`).
    pub previous: std::collections::BTreeMap<PathBuf, String>,
    /// Today as YYYYMMDD, for zones with date serials (`SOURCE_DATE_EPOCH` when set, else
    /// the clock; 0: unknown, and date serials count like the others).
    pub today: u32,
    /// How nftables host rulesets carry the blocks hosts share (`--nft-blocks`).
    pub nft_blocks: NftBlocks,
}

/// How nftables host rulesets carry the blocks that hosts of one destination class share.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum NftBlocks {
    /// Each host file holds its blocks: one self-contained file per host (`nft -f FILE`).
    #[default]
    Inline,
    /// Each block is written once, as `nftables/blocks/NAME.nft`, and host files include
    /// it: load with `nft -I NFTABLES_DIR -f hosts/HOST.nft`. For large fleets, where the
    /// same blocks would be repeated in thousands of files.
    Shared,
}

/// Why files could not be made or taken: a back end's refusal (a limit, a template), or the
/// sink's (the writer's I/O, an output limit). The back ends' own error type: `targets`
/// never depends on `output`, which takes files through `FileSink`.
#[derive(Debug)]
pub struct OutputError(pub String);

impl std::fmt::Display for OutputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where streamed files go (the output writer, a checker, or a vector).
pub type Sink<'a> = dyn FnMut(OutputFile) -> Result<(), OutputError> + 'a;

/// What takes the generated files one by one: the transactional writer (`output::Staged`)
/// and the golden-file checker (`output::Checker`), so that `compile` and `compile --check`
/// go through one path (`render_to`).
pub trait FileSink {
    fn add(&mut self, f: OutputFile) -> Result<(), OutputError>;
}

/// Every file of the chosen targets into `sink` (see `render_each`).
pub fn render_to(
    plan: &Plan,
    info: &PlanInfo,
    kinds: &[TargetKind],
    ctx: &Context,
    sink: &mut dyn FileSink,
) -> Result<(), OutputError> {
    render_each(plan, info, kinds, ctx, &mut |f| sink.add(f))
}

/// A back end: it hands its files to `sink` as they are made (a back end that writes a file
/// per host streams them, so that a large plan never holds all of its output in memory).
/// Adding one: a file here, a variant of `TargetKind`, its templates under `targets/`.
pub trait Target {
    /// Paths under the output directory (files, or directories of files) whose contents from
    /// the last run this back end wants in `Context::previous`. The back end never reads the
    /// disk itself.
    fn reads_back(&self) -> &'static [&'static str] {
        &[]
    }

    fn render_each(
        &self,
        plan: &Plan,
        info: &PlanInfo,
        ctx: &Context,
        sink: &mut Sink,
    ) -> Result<(), crate::targets::OutputError>;
}

/// A back end that makes all of its (few) files at once; it is a `Target` through this.
pub trait RenderAll {
    fn render(&self, plan: &Plan, info: &PlanInfo, ctx: &Context) -> Vec<OutputFile>;

    /// As `Target::reads_back`.
    fn reads_back(&self) -> &'static [&'static str] {
        &[]
    }
}

impl<T: RenderAll> Target for T {
    fn reads_back(&self) -> &'static [&'static str] {
        RenderAll::reads_back(self)
    }

    fn render_each(
        &self,
        plan: &Plan,
        info: &PlanInfo,
        ctx: &Context,
        sink: &mut Sink,
    ) -> Result<(), crate::targets::OutputError> {
        for f in self.render(plan, info, ctx) {
            sink(f)?;
        }
        Ok(())
    }
}

/// Every file of the chosen targets, streamed to `sink` (order: target by target).
pub fn render_each(
    plan: &Plan,
    info: &PlanInfo,
    kinds: &[TargetKind],
    ctx: &Context,
    sink: &mut Sink,
) -> Result<(), crate::targets::OutputError> {
    // Every file passes its format's guard before it goes anywhere.
    let mut guarded = |f: OutputFile| -> Result<(), crate::targets::OutputError> {
        guard::check(&f).map_err(crate::targets::OutputError)?;
        sink(f)
    };
    for k in kinds {
        k.target().render_each(plan, info, ctx, &mut guarded)?;
    }
    Ok(())
}

/// The hosts that run firewall `kind`, in plan order.
pub fn hosts_running(plan: &Plan, kind: crate::ir::FirewallKind) -> Vec<usize> {
    (0..plan.hosts.len())
        .filter(|&h| plan.hosts[h].firewall == kind)
        .collect()
}

/// Per-host files, rendered in batches on every core and handed to `sink` batch by batch,
/// in host order. The next batch renders while `sink` writes the last one. The first error
/// (in host order) ends the stream; hosts not yet rendered are then skipped.
pub fn stream_hosts(
    hosts: &[usize],
    per_host: impl Fn(usize) -> Result<Vec<OutputFile>, crate::targets::OutputError> + Sync,
    sink: &mut Sink,
) -> Result<(), crate::targets::OutputError> {
    let failed = std::sync::atomic::AtomicBool::new(false);
    let (per_host, failed) = (&per_host, &failed);
    type Batch = Vec<Result<Vec<OutputFile>, crate::targets::OutputError>>;
    std::thread::scope(|s| {
        let mut pending: Option<std::thread::ScopedJoinHandle<'_, Batch>> = None;
        for batch in hosts.chunks(256).map(Some).chain([None]) {
            let next = batch.map(|b| {
                s.spawn(move || {
                    par_map(b, |&h| {
                        if failed.load(std::sync::atomic::Ordering::Relaxed) {
                            return Ok(Vec::new());
                        }
                        per_host(h).inspect_err(|_| {
                            failed.store(true, std::sync::atomic::Ordering::Relaxed)
                        })
                    })
                })
            });
            if let Some(done) = pending.take() {
                for files in done.join().expect("render batch") {
                    for f in files? {
                        sink(f).inspect_err(|_| {
                            failed.store(true, std::sync::atomic::Ordering::Relaxed)
                        })?;
                    }
                }
            }
            pending = next;
        }
        Ok(())
    })
}

/// Collect what `render_each` streams (for back ends that stream).
pub fn collect(
    render_each: impl FnOnce(&mut Sink) -> Result<(), crate::targets::OutputError>,
) -> Result<Vec<OutputFile>, crate::targets::OutputError> {
    let mut files = Vec::new();
    render_each(&mut |f| {
        files.push(f);
        Ok(())
    })?;
    Ok(files)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum TargetKind {
    Nftables,
    Firewalld,
    Ufw,
    Bind,
    Keepalived,
    Ios,
    Eos,
    Junos,
    Ifupdown2,
    Routes,
}

impl TargetKind {
    /// Every target: the registry is the enum (its `--target` values), not a second list.
    pub fn all() -> &'static [TargetKind] {
        <TargetKind as clap::ValueEnum>::value_variants()
    }

    /// Whether a generated path is this target's (to carry the others' files over in a run
    /// of some targets).
    /// The top directory of the paths this target owns.
    pub fn top_dir(self) -> &'static str {
        match self {
            TargetKind::Nftables => "nftables",
            TargetKind::Firewalld => "firewalld",
            TargetKind::Ufw => "ufw",
            TargetKind::Bind => "bind",
            TargetKind::Keepalived => "keepalived",
            TargetKind::Routes => "routes",
            TargetKind::Ios | TargetKind::Eos | TargetKind::Junos | TargetKind::Ifupdown2 => {
                "switches"
            }
        }
    }

    pub fn owns(self, path: &std::path::Path) -> bool {
        let first = path.iter().next().and_then(|s| s.to_str()).unwrap_or("");
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        let switch = |e: &str| first == "switches" && ext == e;
        match self {
            TargetKind::Nftables => first == "nftables",
            TargetKind::Firewalld => first == "firewalld",
            TargetKind::Ufw => first == "ufw",
            TargetKind::Bind => first == "bind",
            TargetKind::Keepalived => first == "keepalived",
            TargetKind::Routes => first == "routes",
            TargetKind::Ios => switch("ios"),
            TargetKind::Eos => switch("eos"),
            TargetKind::Junos => switch("junos"),
            TargetKind::Ifupdown2 => switch("interfaces"),
        }
    }

    pub fn target(self) -> &'static dyn Target {
        match self {
            TargetKind::Nftables => &nftables::Nftables,
            TargetKind::Firewalld => &firewalld::Firewalld,
            TargetKind::Ufw => &ufw::Ufw,
            TargetKind::Bind => &bind::Bind,
            TargetKind::Keepalived => &keepalived::Keepalived,
            TargetKind::Routes => &routes::Routes,
            TargetKind::Ios => &ios::Ios,
            TargetKind::Eos => &eos::Eos,
            TargetKind::Junos => &junos::Junos,
            TargetKind::Ifupdown2 => &ifupdown2::Ifupdown2,
        }
    }
}

/// Render the chosen targets, sorted by path (a plan a target refuses: its error).
pub fn render(
    plan: &Plan,
    info: &PlanInfo,
    kinds: &[TargetKind],
    ctx: &Context,
) -> Result<Vec<OutputFile>, crate::targets::OutputError> {
    let mut files: Vec<OutputFile> = Vec::new();
    for k in kinds {
        // Through `render_each`: every file passes its guard here too.
        files.extend(collect(|sink| {
            render_each(plan, info, std::slice::from_ref(k), ctx, sink)
        })?);
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// The first lines of every generated file, in the file's comment syntax.
pub fn header(plan: &Plan, what: &str, comment: &str) -> String {
    format!(
        "{comment} Generated by netc from {} ({what}).\n{comment} Do not edit: change the plan and run `netc compile`.\n",
        safe_text(&plan.label)
    )
}

/// Free text (comments, descriptions) made safe for a one-line comment of any format: no
/// control characters, no line ends. Each target adds its own quoting on top.
pub fn safe_text(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// Text for a quoted string in formats that cannot escape: printable ASCII without quotes or
/// backslashes, at most `max` bytes.
pub fn quoted_ascii(s: &str, max: usize) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            // No `$` either: nft expands variables inside quoted strings.
            if c.is_ascii_graphic() && !matches!(c, '"' | '\\' | '\'' | '$') || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    out.truncate(max);
    out
}

/// `file:line` of a flow, for per-rule comments.
pub fn flow_ref(plan: &Plan, flow: usize) -> String {
    // The rule's stable identity and the start of its text: no file or line, so that a
    // comment added above a rule does not rewrite every file.
    // The rule's words only: its quoted comment (free text) stays out of rule strings.
    let f = &plan.flows[flow];
    let words = f.text.split('"').next().unwrap_or("");
    let text = words.split_whitespace().collect::<Vec<_>>().join(" ");
    quoted_ascii(&format!("{} {text}", f.id()), 100)
}

/// The flow as written, on one line, for comments.
pub fn flow_text(plan: &Plan, flow: usize) -> String {
    safe_text(
        &plan.flows[flow]
            .text
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// Text files end with a line end (askama drops the template's last one).
pub fn with_final_newline(mut s: String) -> String {
    if !s.ends_with('\n') {
        s.push('\n');
    }
    s
}

/// Map `f` over `items` on every core, in order (output stays deterministic). Each worker has
/// its own source cache.
pub fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    if items.len() < 64 || workers == 1 {
        return items.iter().map(&f).collect();
    }
    let chunk = items.len().div_ceil(workers);
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| {
                let f = &f;
                s.spawn(move || part.iter().map(f).collect::<Vec<R>>())
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("render worker"))
            .collect()
    })
}

/// Whether `path` (relative to `--out`) lies under a directory that netc owns: every file
/// there is netc's, and one it did not write is removed by a compile.
pub fn owned_dir(path: &std::path::Path) -> bool {
    let mut parts = path.iter();
    let first = parts.next().and_then(|s| s.to_str()).unwrap_or("");
    parts.next().is_some() && TargetKind::all().iter().any(|k| k.top_dir() == first)
}
