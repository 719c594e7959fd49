//! Writing generated trees: one transaction per compile, and nothing outside the output
//! directory ever read, written or deleted.
//!
//! A compile builds the whole new tree in a private staging directory beside `--out`
//! (`.NAME.netc-stage-PID`, created fresh, so nothing in it was placed there by anyone
//! else), then swaps it with the output directory in one `renameat2(RENAME_EXCHANGE)`, and
//! removes the old tree. A reader, a kill -9 or an error at any moment sees the old tree or
//! the new one, never a mix (where the file system cannot exchange, the old tree is renamed
//! aside and the new one into place: for an instant there is no tree, never a mixed one).
//! Files whose content did not change are hard links of the old ones (same inode, same
//! mtime). A run of some targets (`--target`) carries the other targets' files (and their
//! state, such as `bind/serials`) over untouched.
//!
//! The output directory is netc's: it must be new, empty, or hold a manifest
//! (`.netc-manifest`) of what netc wrote there (so `--out ~` is refused); regular files netc
//! did not write are carried over as they are, and a symbolic link anywhere inside it stops
//! the compile before anything changes. Files are only ever read without
//! following symbolic links, and only regular files. Two compiles into one directory are
//! refused (an exclusive lock on the directory). `--check` compares instead of writing.

use crate::targets::{OutputFile, TargetKind};
use std::collections::{BTreeSet, HashSet};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Component, Path, PathBuf};

/// The list of files netc wrote last time, so that files a plan no longer produces go away.
pub const MANIFEST: &str = ".netc-manifest";
/// The most a compile writes unless told otherwise (`--max-output-bytes`): a limit, so that a
/// small hostile plan cannot fill the disk.
pub const DEFAULT_MAX_OUTPUT: u64 = 4 << 30;

/// The most netc reads of one file it did not write itself in this run (a file under
/// `--out`, a drift directory's file, a RULESET argument) unless told otherwise
/// (`--max-input-bytes`): a 1 GiB sparse file must not cost 1 GB of memory.
pub const DEFAULT_MAX_INPUT: u64 = 256 << 20;
static MAX_INPUT: std::sync::atomic::AtomicU64 =
    std::sync::atomic::AtomicU64::new(DEFAULT_MAX_INPUT);

/// Set the input cap (once, from the command line).
pub fn set_max_input_bytes(n: u64) {
    MAX_INPUT.store(n, std::sync::atomic::Ordering::Relaxed);
}

pub fn max_input_bytes() -> u64 {
    MAX_INPUT.load(std::sync::atomic::Ordering::Relaxed)
}

/// Read `r` (named `what` in messages) whole, up to the input cap: more is the coded error
/// R004, found before the memory is spent.
pub fn read_capped(r: impl std::io::Read, what: &Path) -> Result<Vec<u8>, OutputError> {
    let cap = max_input_bytes();
    let mut buf = Vec::new();
    std::io::Read::read_to_end(&mut r.take(cap.saturating_add(1)), &mut buf)
        .map_err(|e| io(what, e))?;
    if buf.len() as u64 > cap {
        return Err(too_large(what));
    }
    Ok(buf)
}

fn too_large(what: &Path) -> OutputError {
    OutputError(format!(
        "[R004] {}: is larger than the input limit of {} bytes (not read; raise it with --max-input-bytes)",
        crate::diag::printable_path(what),
        max_input_bytes()
    ))
}

/// A file named on the command line, read whole up to the input cap (a regular file, or
/// `-` for standard input; a FIFO or device is refused, so nothing can hang the read).
pub fn read_input(path: &Path) -> Result<Vec<u8>, OutputError> {
    if path == Path::new("-") {
        return read_capped(std::io::stdin().lock(), Path::new("standard input"));
    }
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| io(path, e))?;
    let m = f.metadata().map_err(|e| io(path, e))?;
    if !m.is_file() {
        return Err(OutputError(format!(
            "{}: is not a regular file (not read)",
            crate::diag::printable_path(path)
        )));
    }
    if m.len() > max_input_bytes() {
        return Err(too_large(path));
    }
    read_capped(f, path)
}

/// Marks a staging directory while it is built.
const STAGE_MARK: &str = ".netc-stage";

pub use crate::targets::OutputError;

fn io(p: &Path, e: std::io::Error) -> OutputError {
    OutputError(format!("{}: {e}", p.display()))
}

/// Paths must be relative, plain (no `..`, no root) and unique without regard to case.
pub fn validate(files: &[OutputFile]) -> Result<(), OutputError> {
    let mut seen = BTreeSet::new();
    for f in files {
        validate_path(&f.path, &mut seen)?;
    }
    Ok(())
}

/// The output directory as given, without a trailing `/` (through which `lstat` would follow
/// a symbolic link), and never `/`.
fn normalize(out: &Path) -> Result<PathBuf, OutputError> {
    let mut p = PathBuf::new();
    for c in out.components() {
        p.push(c.as_os_str());
    }
    if p.as_os_str().is_empty() {
        p.push(".");
    }
    if p.parent().is_none() {
        return Err(OutputError(format!(
            "{}: refusing to use this as the output directory; give a directory of its own",
            out.display()
        )));
    }
    Ok(p)
}

fn check_dir(out: &Path) -> Result<(), OutputError> {
    match std::fs::symlink_metadata(out) {
        Ok(m) if m.file_type().is_symlink() => Err(OutputError(format!(
            "{}: the output directory is a symbolic link; give its target instead",
            out.display()
        ))),
        Ok(m) if !m.is_dir() => Err(OutputError(format!(
            "{}: exists and is not a directory",
            out.display()
        ))),
        _ => Ok(()),
    }
}

/// A regular file at `out/rel`, reached through real directories only: `None` when it does
/// not exist, `Err` when a symbolic link or something other than a regular file is in the way.
/// What a run left in `out` that the targets ask for back (`Target::reads_back`): each path
/// that is a regular file, and the regular files directly in each path that is a directory,
/// by path relative to `out`. Nothing is followed through a link; what cannot be read
/// safely is left out (the target then starts afresh).
pub fn read_back(out: &Path, paths: &[&str]) -> std::collections::BTreeMap<PathBuf, String> {
    let mut found = std::collections::BTreeMap::new();
    let mut take = |rel: PathBuf| {
        if let Ok(Some(t)) = read_safe(out, &rel) {
            found.insert(rel, String::from_utf8_lossy(&t).into_owned());
        }
    };
    for p in paths {
        let rel = PathBuf::from(p);
        let is_dir = std::fs::symlink_metadata(out.join(&rel)).is_ok_and(|m| m.is_dir());
        if !is_dir {
            take(rel);
            continue;
        }
        let Ok(entries) = std::fs::read_dir(out.join(&rel)) else {
            continue;
        };
        let mut names: Vec<_> = entries.flatten().map(|e| e.file_name()).collect();
        names.sort();
        for n in names {
            let file = rel.join(n);
            if std::fs::symlink_metadata(out.join(&file)).is_ok_and(|m| m.is_file()) {
                take(file);
            }
        }
    }
    found
}

pub fn read_safe(out: &Path, rel: &Path) -> Result<Option<Vec<u8>>, OutputError> {
    let mut cur = out.to_path_buf();
    let parts: Vec<_> = rel.components().collect();
    for (i, c) in parts.iter().enumerate() {
        let Component::Normal(part) = c else {
            return Err(OutputError(format!(
                "`{}`: not a plain relative path",
                rel.display()
            )));
        };
        cur.push(part);
        let m = match std::fs::symlink_metadata(&cur) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(&cur, e)),
        };
        let last = i + 1 == parts.len();
        if m.file_type().is_symlink() {
            return Err(OutputError(format!(
                "{}: is a symbolic link inside the output directory (not followed)",
                cur.display()
            )));
        }
        if last && !m.is_file() || !last && !m.is_dir() {
            return Err(OutputError(format!(
                "{}: is not a {} (not read)",
                cur.display(),
                if last { "regular file" } else { "directory" }
            )));
        }
    }
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(&cur)
        .map_err(|e| io(&cur, e))?;
    if !f.metadata().is_ok_and(|m| m.is_file()) {
        return Err(OutputError(format!(
            "{}: is not a regular file (not read)",
            cur.display()
        )));
    }
    if f.metadata().is_ok_and(|m| m.len() > max_input_bytes()) {
        return Err(too_large(&cur));
    }
    read_capped(f, &cur).map(Some)
}

/// The paths the manifest of `out` lists (plain relative paths only).
fn previous(out: &Path) -> Vec<PathBuf> {
    read_safe(out, Path::new(MANIFEST))
        .ok()
        .flatten()
        .map(|t| {
            String::from_utf8_lossy(&t)
                .lines()
                .map(PathBuf::from)
                .filter(|p| {
                    !p.as_os_str().is_empty()
                        && p.components().all(|c| matches!(c, Component::Normal(_)))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// One generated path: plain, relative, no device names, unique without regard to case.
fn validate_path(path: &Path, seen: &mut BTreeSet<String>) -> Result<(), OutputError> {
    let plain = path.components().all(|c| matches!(c, Component::Normal(_)));
    if !plain || path.as_os_str().is_empty() {
        return Err(OutputError(format!(
            "refusing to write `{}`: not a plain relative path",
            path.display()
        )));
    }
    for part in path.iter() {
        let s = part.to_string_lossy();
        let stem = s.split('.').next().unwrap_or("").to_ascii_uppercase();
        if [
            "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "LPT1", "LPT2",
        ]
        .contains(&stem.as_str())
        {
            return Err(OutputError(format!(
                "refusing to write `{}`: `{s}` is a reserved device name",
                path.display()
            )));
        }
        if s.starts_with(".netc-") {
            return Err(OutputError(format!(
                "refusing to write `{}`: names starting with `.netc-` are netc's own",
                path.display()
            )));
        }
    }
    if !seen.insert(path.to_string_lossy().to_lowercase()) {
        return Err(OutputError(format!(
            "two generated files differ only by case: `{}`; rename one of the objects",
            path.display()
        )));
    }
    Ok(())
}

/// Every file and symbolic link under `dir` (relative paths), without following links.
fn walk(dir: &Path, rel: &Path, out: &mut Vec<(PathBuf, bool)>) -> Result<(), OutputError> {
    let here = dir.join(rel);
    let entries = std::fs::read_dir(&here).map_err(|e| io(&here, e))?;
    for e in entries {
        let e = e.map_err(|e| io(&here, e))?;
        let t = e.file_type().map_err(|err| io(&e.path(), err))?;
        let r = rel.join(e.file_name());
        if t.is_dir() {
            walk(dir, &r, out)?;
        } else {
            out.push((r, t.is_symlink()));
        }
    }
    Ok(())
}

/// Regular files (and links) under the directories netc owns in `out` (`nftables/`,
/// `firewalld/`, ...) that its manifest does not list: planted or left by hand. A compile
/// removes them, `--check` reports them, `verify` refuses to call a tree with them equal.
pub fn unlisted(out: &Path) -> Result<Vec<PathBuf>, OutputError> {
    let out = normalize(out)?;
    if std::fs::symlink_metadata(&out).is_err() {
        return Ok(Vec::new());
    }
    let listed: HashSet<PathBuf> = previous(&out).into_iter().collect();
    let mut found = Vec::new();
    walk(&out, Path::new(""), &mut found)?;
    let mut v: Vec<PathBuf> = found
        .into_iter()
        .map(|(rel, _)| rel)
        .filter(|rel| crate::targets::owned_dir(rel) && !listed.contains(rel))
        .collect();
    v.sort();
    Ok(v)
}

/// Take an exclusive lock on the output directory, or say who holds it.
fn lock(out: &Path) -> Result<std::fs::File, OutputError> {
    for _ in 0..5 {
        let f = std::fs::File::open(out).map_err(|e| io(out, e))?;
        // SAFETY: flock on a file descriptor we own; no memory is involved.
        let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if r != 0 {
            return Err(OutputError(format!(
                "{}: another netc compile is writing this directory; run one at a time",
                out.display()
            )));
        }
        // The directory may have been swapped by the run that held the lock before: lock
        // the one at this path.
        use std::os::unix::fs::MetadataExt;
        let (a, b) = (
            f.metadata().map_err(|e| io(out, e))?,
            std::fs::symlink_metadata(out).map_err(|e| io(out, e))?,
        );
        if a.ino() == b.ino() && a.dev() == b.dev() {
            return Ok(f);
        }
    }
    Err(OutputError(format!(
        "{}: the directory keeps changing under netc; is another compile running?",
        out.display()
    )))
}

/// Swap two directories atomically (Linux `renameat2(RENAME_EXCHANGE)`).
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let ca = CString::new(a.as_os_str().as_bytes())?;
    let cb = CString::new(b.as_os_str().as_bytes())?;
    // SAFETY: both strings are NUL-terminated and live across the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            ca.as_ptr(),
            libc::AT_FDCWD,
            cb.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Writes a generated tree as one transaction (see the module doc): files are staged as they
/// come (memory holds one batch, not the tree), and only `commit` puts the new tree in place.
/// `abort`, an error, or dropping it leaves the output directory as it was.
pub struct Staged {
    out: PathBuf,
    stage: PathBuf,
    _lock: std::fs::File,
    /// The targets of this run; `None`: all of them.
    kinds: Option<Vec<TargetKind>>,
    /// Regular files in the output directory that netc did not write: carried over.
    foreign: Vec<PathBuf>,
    seen: BTreeSet<String>,
    files: Vec<PathBuf>,
    changed: usize,
    made: HashSet<PathBuf>,
    done: bool,
    written: u64,
    limit: u64,
    /// The output directory did not exist: an aborted run leaves none.
    created: bool,
    summary: Summary,
}

/// What a compile changed (`netc compile --format json`).
#[derive(Debug, Default, serde::Serialize)]
pub struct Summary {
    /// Files the plan produces.
    pub files: usize,
    /// Files written because they are new or differ.
    pub written: Vec<PathBuf>,
    /// Files removed because the plan no longer produces them.
    pub removed: Vec<PathBuf>,
}

fn over_limit(limit: u64) -> OutputError {
    OutputError(format!(
        "the generated files would exceed {limit} bytes (the output limit); nothing was changed. A plan this large may need --max-output-bytes, a target with sets (nftables) instead of ufw, or, for many hosts on nftables, --nft-blocks shared (each block hosts share written once)"
    ))
}

impl Staged {
    /// At most `limit` bytes of generated text (default `DEFAULT_MAX_OUTPUT`).
    pub fn with_limit(mut self, limit: u64) -> Staged {
        self.limit = limit;
        self
    }

    /// Begin writing every target's files into `out`.
    pub fn begin(out: &Path) -> Result<Staged, OutputError> {
        Staged::begin_for(out, None)
    }

    /// Begin writing the files of `kinds` (`None`: every target); the other targets' files
    /// are carried over as they are.
    pub fn begin_for(out: &Path, kinds: Option<&[TargetKind]>) -> Result<Staged, OutputError> {
        let out = normalize(out)?;
        check_dir(&out)?;
        let created = std::fs::symlink_metadata(&out).is_err();
        std::fs::create_dir_all(&out).map_err(|e| io(&out, e))?;
        let canonical = std::fs::canonicalize(&out).map_err(|e| io(&out, e))?;
        let (Some(parent), Some(name)) = (canonical.parent(), canonical.file_name()) else {
            return Err(OutputError(format!(
                "{}: refusing to use the root directory as the output directory",
                out.display()
            )));
        };
        let lock = lock(&out)?;
        // Everything in the directory must be netc's.
        let listed: HashSet<PathBuf> = previous(&out).into_iter().collect();
        let mut found = Vec::new();
        walk(&out, Path::new(""), &mut found)?;
        let mut foreign = Vec::new();
        for (rel, link) in &found {
            if rel == Path::new(MANIFEST) && !link {
                continue;
            }
            if *link {
                return Err(OutputError(format!(
                    "{}: is a symbolic link inside the output directory; netc writes only real files there",
                    out.join(rel).display()
                )));
            }
            if !listed.contains(rel) {
                // A directory netc never wrote (no manifest) is not taken over: `--out ~`.
                if read_safe(&out, Path::new(MANIFEST))
                    .ok()
                    .flatten()
                    .is_none()
                {
                    return Err(OutputError(format!(
                        "{}: netc did not write this file, and {} holds no {MANIFEST}: give a new or empty directory",
                        out.join(rel).display(),
                        out.display()
                    )));
                }
                foreign.push(rel.clone());
            }
        }
        // Stale staging directories of killed runs (we hold the lock: no other run stages).
        let prefix = format!(".{}.netc-stage-", name.to_string_lossy());
        if let Ok(entries) = std::fs::read_dir(parent) {
            for e in entries.flatten() {
                let n = e.file_name().to_string_lossy().into_owned();
                let p = e.path();
                // Ours, and its run is gone (killed before or after its exchange).
                let pid: Option<i32> = n.strip_prefix(&prefix).and_then(|x| x.parse().ok());
                // SAFETY: kill with signal 0 only asks whether the process exists.
                let gone = pid.is_some_and(|pid| unsafe { libc::kill(pid, 0) } != 0);
                let ours = gone && e.file_type().is_ok_and(|t| t.is_dir());
                if ours {
                    let _ = std::fs::remove_dir_all(&p);
                }
            }
        }
        let stage = parent.join(format!("{prefix}{}", std::process::id()));
        std::fs::create_dir(&stage).map_err(|e| io(&stage, e))?;
        std::fs::write(stage.join(STAGE_MARK), "").map_err(|e| io(&stage, e))?;
        Ok(Staged {
            out,
            stage,
            _lock: lock,
            kinds: kinds.map(<[TargetKind]>::to_vec),
            foreign,
            seen: BTreeSet::new(),
            files: Vec::new(),
            changed: 0,
            made: HashSet::new(),
            done: false,
            written: 0,
            limit: DEFAULT_MAX_OUTPUT,
            created,
            summary: Summary::default(),
        })
    }

    fn dir_for(&mut self, rel: &Path) -> Result<PathBuf, OutputError> {
        let dest = self.stage.join(rel);
        let dir = dest
            .parent()
            .expect("joined path has a parent")
            .to_path_buf();
        if !self.made.contains(&dir) {
            std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
            self.made.insert(dir);
        }
        Ok(dest)
    }

    /// Stage one file: a hard link of the old one when nothing changed, else the new text.
    pub fn add(&mut self, f: OutputFile) -> Result<(), OutputError> {
        validate_path(&f.path, &mut self.seen)?;
        self.written += f.contents.len() as u64;
        if self.written > self.limit {
            return Err(over_limit(self.limit));
        }
        let dest = self.dir_for(&f.path)?;
        let old = read_safe(&self.out, &f.path)?;
        self.files.push(f.path.clone());
        if old.as_deref() == Some(f.contents.as_bytes())
            && std::fs::hard_link(self.out.join(&f.path), &dest).is_ok()
        {
            return Ok(());
        }
        self.changed += 1;
        self.summary.written.push(f.path.clone());
        write_new(&dest, f.contents.as_bytes())
    }

    /// Put the new tree in place. Returns how many files changed (written, or removed
    /// because the plan no longer produces them).
    pub fn commit(self) -> Result<usize, OutputError> {
        self.commit_summary()
            .map(|s| s.written.len() + s.removed.len())
    }

    /// The same, with what changed: every file written (new or different) and removed.
    pub fn commit_summary(mut self) -> Result<Summary, OutputError> {
        let now: BTreeSet<PathBuf> = self.files.iter().cloned().collect();
        let mut carried = Vec::new();
        for old in previous(&self.out) {
            if now.contains(&old) {
                continue;
            }
            let ours = self
                .kinds
                .as_ref()
                .is_none_or(|ks| ks.iter().any(|k| k.owns(&old)));
            if ours {
                // The plan no longer produces it: it is not in the new tree.
                if read_safe(&self.out, &old).ok().flatten().is_some() {
                    self.changed += 1;
                    self.summary.removed.push(old.clone());
                }
                continue;
            }
            // Another target's file: carried over as it is.
            if read_safe(&self.out, &old).ok().flatten().is_some() {
                let dest = self.dir_for(&old)?;
                std::fs::hard_link(self.out.join(&old), &dest)
                    .map_err(|e| io(&self.out.join(&old), e))?;
                carried.push(old);
            }
        }
        for rel in std::mem::take(&mut self.foreign) {
            if crate::targets::owned_dir(&rel) {
                // Under a directory netc owns, a file it did not write is not kept: a
                // planted `firewalld/H/zones/public.xml` would be installed with the rest.
                if !now.contains(&rel) {
                    self.changed += 1;
                    self.summary.removed.push(rel);
                }
                continue;
            }
            if !now.contains(&rel) {
                let dest = self.dir_for(&rel)?;
                std::fs::hard_link(self.out.join(&rel), &dest)
                    .map_err(|e| io(&self.out.join(&rel), e))?;
            }
        }
        let mut all: BTreeSet<&Path> = self.files.iter().map(PathBuf::as_path).collect();
        all.extend(carried.iter().map(PathBuf::as_path));
        // Sorted: the order back ends hand files over in is theirs to choose.
        let manifest: String = all.iter().map(|p| format!("{}\n", p.display())).collect();
        write_new(&self.stage.join(MANIFEST), manifest.as_bytes())?;
        std::fs::remove_file(self.stage.join(STAGE_MARK)).map_err(|e| io(&self.stage, e))?;
        match exchange(&self.stage, &self.out) {
            Ok(()) => {}
            Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::ENOSYS)) => {
                // No exchange on this file system: the old tree aside, the new one in.
                let aside = self.stage.with_extension("old");
                std::fs::rename(&self.out, &aside).map_err(|e| io(&self.out, e))?;
                if let Err(e) = std::fs::rename(&self.stage, &self.out) {
                    let _ = std::fs::rename(&aside, &self.out);
                    return Err(io(&self.out, e));
                }
                self.stage = aside;
            }
            Err(e) => return Err(io(&self.out, e)),
        }
        self.done = true;
        // The old tree, now at the staging path (links inside it are removed, not followed).
        let _ = std::fs::remove_dir_all(&self.stage);
        self.summary.files = self.files.len();
        Ok(std::mem::take(&mut self.summary))
    }

    pub fn abort(self) {}

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_dir_all(&self.stage);
            if self.created {
                // Only if still empty: never more than what this run made.
                let _ = std::fs::remove_dir(&self.out);
            }
        }
    }
}

/// Create a new file (never through an existing name or link) with `bytes`.
fn write_new(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(path)
        .map_err(|e| io(path, e))?;
    f.write_all(bytes).map_err(|e| io(path, e))
}

/// Write every file under `out` (every target's). Nothing changes when a path is invalid or
/// `out` unusable.
pub fn write(out: &Path, files: &[OutputFile]) -> Result<usize, OutputError> {
    validate(files)?;
    let mut staged = Staged::begin(out)?;
    for f in files {
        staged.add(f.clone())?;
    }
    staged.commit()
}

/// Compares generated files with `out` as they come, for `--check`.
pub struct Checker {
    out: PathBuf,
    kinds: Option<Vec<TargetKind>>,
    seen: BTreeSet<String>,
    files: Vec<PathBuf>,
    diff: String,
    /// Each differing file with its lines added and removed (`--check --stat`).
    pub stat: Vec<(PathBuf, usize, usize)>,
}

impl Checker {
    pub fn new(out: &Path) -> Result<Checker, OutputError> {
        Checker::new_for(out, None)
    }

    pub fn new_for(out: &Path, kinds: Option<&[TargetKind]>) -> Result<Checker, OutputError> {
        let out = normalize(out)?;
        check_dir(&out)?;
        Ok(Checker {
            out,
            kinds: kinds.map(<[TargetKind]>::to_vec),
            seen: BTreeSet::new(),
            files: Vec::new(),
            diff: String::new(),
            stat: Vec::new(),
        })
    }

    pub fn add(&mut self, f: OutputFile) -> Result<(), OutputError> {
        validate_path(&f.path, &mut self.seen)?;
        let name = f.path.display().to_string();
        match read_safe(&self.out, &f.path) {
            Err(e) => {
                // Never read through a link: say so instead of showing what it points at.
                self.diff.push_str(&format!(
                    "--- a/{name}\n+++ b/{name}\n(not compared: {e})\n"
                ));
            }
            Ok(old) => {
                let old = old
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                if old != f.contents {
                    let text = similar::TextDiff::from_lines(&old, &f.contents);
                    let (mut added, mut removed) = (0, 0);
                    for change in text.iter_all_changes() {
                        match change.tag() {
                            similar::ChangeTag::Insert => added += 1,
                            similar::ChangeTag::Delete => removed += 1,
                            similar::ChangeTag::Equal => {}
                        }
                    }
                    self.stat.push((f.path.clone(), added, removed));
                    self.diff.push_str(
                        &text
                            .unified_diff()
                            .context_radius(3)
                            .header(&format!("a/{name}"), &format!("b/{name}"))
                            .to_string(),
                    );
                }
            }
        }
        self.files.push(f.path);
        Ok(())
    }

    /// The unified diff of everything (empty when up to date), and the number of files.
    pub fn finish(self) -> (String, usize) {
        let (diff, n, _) = self.finish_stat();
        (diff, n)
    }

    /// The same, with each differing file's lines added and removed.
    pub fn finish_stat(mut self) -> (String, usize, Vec<(PathBuf, usize, usize)>) {
        let now: BTreeSet<&Path> = self.files.iter().map(PathBuf::as_path).collect();
        for old in previous(&self.out) {
            let ours = self
                .kinds
                .as_ref()
                .is_none_or(|ks| ks.iter().any(|k| k.owns(&old)));
            if ours
                && !now.contains(old.as_path())
                && std::fs::symlink_metadata(self.out.join(&old)).is_ok()
            {
                self.diff.push_str(&format!("--- a/{0}\n+++ /dev/null\n(would be removed: the plan no longer generates {0})\n", old.display()));
                let lines = read_safe(&self.out, &old)
                    .ok()
                    .flatten()
                    .map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count());
                self.stat.push((old.clone(), 0, lines));
            }
        }
        for rel in unlisted(&self.out).unwrap_or_default() {
            if now.contains(rel.as_path()) {
                continue;
            }
            self.diff.push_str(&format!(
                "--- a/{0}\n+++ /dev/null\n(would be removed: netc did not write {0}, and nothing may be added under a directory it owns)\n",
                crate::diag::printable_path(&rel)
            ));
            self.stat.push((rel, 0, 0));
        }
        (self.diff, self.files.len(), self.stat)
    }
}

/// Write one file atomically into an existing directory (reports, not generated trees): a
/// fresh temporary file (never through an existing name or link), renamed over the old one.
pub fn write_one(dir: &Path, file: &OutputFile) -> Result<(), OutputError> {
    validate(std::slice::from_ref(file))?;
    let path = dir.join(&file.path);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let tmp = dir.join(format!(
        ".{}.netc-tmp-{}-{nanos}",
        file.path.display(),
        std::process::id()
    ));
    write_new(&tmp, file.contents.as_bytes())?;
    std::fs::rename(&tmp, &path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(&path, e)
    })
}

impl crate::targets::FileSink for Staged {
    fn add(&mut self, f: OutputFile) -> Result<(), OutputError> {
        Staged::add(self, f)
    }
}

impl crate::targets::FileSink for Checker {
    fn add(&mut self, f: OutputFile) -> Result<(), OutputError> {
        Checker::add(self, f)
    }
}
