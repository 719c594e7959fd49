//! Writing generated files: all or nothing, each file replaced atomically (written to a
//! temporary file in the same directory, then renamed over the old one: a reader sees the old
//! file or the new one, never a mix; durability across a power cut is left to the caller), stale files of an
//! earlier run removed, and nothing ever written outside the output directory.
//! `--check` compares instead of writing.

use crate::targets::OutputFile;
use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

/// The list of files netc wrote last time, so that files a plan no longer produces go away.
pub const MANIFEST: &str = ".netc-manifest";

#[derive(Debug)]
pub struct OutputError(pub String);

impl std::fmt::Display for OutputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Paths must be relative, plain (no `..`, no root) and unique without regard to case.
pub fn validate(files: &[OutputFile]) -> Result<(), OutputError> {
    let mut seen = BTreeSet::new();
    for f in files {
        validate_path(&f.path, &mut seen)?;
    }
    Ok(())
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

fn previous(out: &Path) -> Vec<PathBuf> {
    std::fs::read_to_string(out.join(MANIFEST))
        .map(|t| {
            t.lines()
                .map(PathBuf::from)
                .filter(|p| p.components().all(|c| matches!(c, Component::Normal(_))))
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
    }
    if !seen.insert(path.to_string_lossy().to_lowercase()) {
        return Err(OutputError(format!(
            "two generated files differ only by case: `{}`; rename one of the objects",
            path.display()
        )));
    }
    Ok(())
}

const STAGING: &str = ".netc-staging";

/// Writes a generated tree: files are staged as they come (memory holds one batch, not the
/// tree), and only `commit` moves them into place, each by a rename; `abort` (or any error
/// before `commit`) leaves the output directory as it was.
pub struct Staged {
    out: PathBuf,
    staging: PathBuf,
    seen: BTreeSet<String>,
    files: Vec<PathBuf>,
    to_move: Vec<PathBuf>,
    /// Staging directories already made (one `mkdir -p` per directory, not per file).
    made: std::collections::HashSet<PathBuf>,
}

impl Staged {
    pub fn begin(out: &Path) -> Result<Staged, OutputError> {
        check_dir(out)?;
        let io = |p: &Path, e: std::io::Error| OutputError(format!("{}: {e}", p.display()));
        std::fs::create_dir_all(out).map_err(|e| io(out, e))?;
        let staging = out.join(STAGING);
        if std::fs::symlink_metadata(&staging).is_ok() {
            std::fs::remove_dir_all(&staging).map_err(|e| io(&staging, e))?;
        }
        std::fs::create_dir(&staging).map_err(|e| io(&staging, e))?;
        Ok(Staged {
            out: out.to_path_buf(),
            staging,
            seen: BTreeSet::new(),
            files: Vec::new(),
            to_move: Vec::new(),
            made: std::collections::HashSet::new(),
        })
    }

    pub fn add(&mut self, f: OutputFile) -> Result<(), OutputError> {
        validate_path(&f.path, &mut self.seen)?;
        self.files.push(f.path.clone());
        if std::fs::read(self.out.join(&f.path)).is_ok_and(|old| old == f.contents.as_bytes()) {
            return Ok(());
        }
        let staged = self.staging.join(&f.path);
        let io = |p: &Path, e: std::io::Error| OutputError(format!("{}: {e}", p.display()));
        let dir = staged.parent().expect("joined path has a parent");
        if !self.made.contains(dir) {
            std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
            self.made.insert(dir.to_path_buf());
        }
        std::fs::write(&staged, f.contents.as_bytes()).map_err(|e| io(&staged, e))?;
        self.to_move.push(f.path);
        Ok(())
    }

    /// Move the staged files into place, remove files an earlier run wrote that this one did
    /// not, and record the manifest. Returns how many files changed.
    pub fn commit(self) -> Result<usize, OutputError> {
        let io = |p: &Path, e: std::io::Error| OutputError(format!("{}: {e}", p.display()));
        let result = (|| {
            // Directories checked (and made) once each, not once per file.
            let mut ready: std::collections::HashSet<PathBuf> = std::collections::HashSet::new();
            for rel in &self.to_move {
                let dest = self.out.join(rel);
                let dir = dest.parent().expect("joined path has a parent");
                if !ready.contains(dir) {
                    // Every directory on the way must be a real directory inside `out`.
                    let mut cur = self.out.clone();
                    for part in rel.parent().into_iter().flat_map(|p| p.iter()) {
                        cur.push(part);
                        if std::fs::symlink_metadata(&cur).is_ok_and(|m| m.file_type().is_symlink())
                        {
                            return Err(OutputError(format!(
                                "{}: is a symbolic link inside the output directory",
                                cur.display()
                            )));
                        }
                    }
                    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
                    ready.insert(dir.to_path_buf());
                }
                std::fs::rename(self.staging.join(rel), &dest).map_err(|e| io(&dest, e))?;
            }
            let mut changed = self.to_move.len();
            let now: BTreeSet<&Path> = self.files.iter().map(PathBuf::as_path).collect();
            for old in previous(&self.out) {
                if !now.contains(old.as_path()) {
                    let _ = std::fs::remove_file(self.out.join(&old));
                    changed += 1;
                }
            }
            // Sorted: the order back ends hand files over in is theirs to choose.
            let manifest: String = now.iter().map(|p| format!("{}\n", p.display())).collect();
            let tmp = self.out.join(format!("{MANIFEST}.netc-tmp"));
            std::fs::write(&tmp, manifest)
                .and_then(|_| std::fs::rename(&tmp, self.out.join(MANIFEST)))
                .map_err(|e| io(&self.out, e))?;
            Ok(changed)
        })();
        let _ = std::fs::remove_dir_all(&self.staging);
        result
    }

    pub fn abort(self) {
        let _ = std::fs::remove_dir_all(&self.staging);
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// Write every file under `out`. Nothing is written when a path is invalid or `out` unusable.
pub fn write(out: &Path, files: &[OutputFile]) -> Result<usize, OutputError> {
    validate(files)?;
    let mut staged = Staged::begin(out)?;
    for f in files {
        if let Err(e) = staged.add(f.clone()) {
            staged.abort();
            return Err(e);
        }
    }
    staged.commit()
}

/// Compares generated files with `out` as they come, for `--check`.
pub struct Checker {
    out: PathBuf,
    seen: BTreeSet<String>,
    files: Vec<PathBuf>,
    diff: String,
}

impl Checker {
    pub fn new(out: &Path) -> Result<Checker, OutputError> {
        check_dir(out)?;
        Ok(Checker {
            out: out.to_path_buf(),
            seen: BTreeSet::new(),
            files: Vec::new(),
            diff: String::new(),
        })
    }

    pub fn add(&mut self, f: OutputFile) -> Result<(), OutputError> {
        validate_path(&f.path, &mut self.seen)?;
        let old = std::fs::read_to_string(self.out.join(&f.path)).unwrap_or_default();
        if old != f.contents {
            let name = f.path.display().to_string();
            let text = similar::TextDiff::from_lines(&old, &f.contents);
            self.diff.push_str(
                &text
                    .unified_diff()
                    .context_radius(3)
                    .header(&format!("a/{name}"), &format!("b/{name}"))
                    .to_string(),
            );
        }
        self.files.push(f.path);
        Ok(())
    }

    /// The unified diff of everything (empty when up to date), and the number of files.
    pub fn finish(mut self) -> (String, usize) {
        let now: BTreeSet<&Path> = self.files.iter().map(PathBuf::as_path).collect();
        for old in previous(&self.out) {
            if !now.contains(old.as_path()) && self.out.join(&old).exists() {
                self.diff.push_str(&format!("--- a/{0}\n+++ /dev/null\n(would be removed: the plan no longer generates {0})\n", old.display()));
            }
        }
        (self.diff, self.files.len())
    }
}

/// A unified diff of what `write` would change; empty when `out` is up to date.
pub fn check(out: &Path, files: &[OutputFile]) -> Result<String, OutputError> {
    validate(files)?;
    let mut checker = Checker::new(out)?;
    for f in files {
        checker.add(f.clone())?;
    }
    Ok(checker.finish().0)
}

/// Write one file atomically into an existing directory (reports, not generated trees).
pub fn write_one(dir: &Path, file: &OutputFile) -> Result<(), OutputError> {
    validate(std::slice::from_ref(file))?;
    let path = dir.join(&file.path);
    let tmp = dir.join(format!(".{}.netc-tmp", file.path.display()));
    std::fs::write(&tmp, &file.contents)
        .and_then(|_| std::fs::rename(&tmp, &path))
        .map_err(|e| OutputError(format!("{}: {e}", path.display())))
}
