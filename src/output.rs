//! Writing generated files: all or nothing, each file replaced atomically (written to a
//! temporary file in the same directory, then renamed over the old one: a reader sees the old
//! file or the new one, never a mix; durability across a power cut is left to the caller), stale files of an
//! earlier run removed, and nothing ever written outside the output directory.
//! `--check` compares instead of writing.

use crate::targets::OutputFile;
use std::collections::BTreeSet;
use std::io::Write;
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
        let plain = f
            .path
            .components()
            .all(|c| matches!(c, Component::Normal(_)));
        if !plain || f.path.as_os_str().is_empty() {
            return Err(OutputError(format!(
                "refusing to write `{}`: not a plain relative path",
                f.path.display()
            )));
        }
        for part in f.path.iter() {
            let s = part.to_string_lossy();
            let stem = s.split('.').next().unwrap_or("").to_ascii_uppercase();
            if [
                "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "LPT1", "LPT2",
            ]
            .contains(&stem.as_str())
            {
                return Err(OutputError(format!(
                    "refusing to write `{}`: `{s}` is a reserved device name",
                    f.path.display()
                )));
            }
        }
        if !seen.insert(f.path.to_string_lossy().to_lowercase()) {
            return Err(OutputError(format!(
                "two generated files differ only by case: `{}`; rename one of the objects",
                f.path.display()
            )));
        }
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

/// Write every file under `out`. Nothing is written when a path is invalid or `out` unusable.
pub fn write(out: &Path, files: &[OutputFile]) -> Result<usize, OutputError> {
    validate(files)?;
    check_dir(out)?;
    let io = |p: &Path, e: std::io::Error| OutputError(format!("{}: {e}", p.display()));
    std::fs::create_dir_all(out).map_err(|e| io(out, e))?;
    let mut changed = 0;
    for f in files {
        let path = out.join(&f.path);
        if std::fs::read(&path).is_ok_and(|old| old == f.contents.as_bytes()) {
            continue;
        }
        let dir = path.parent().expect("joined path has a parent");
        // Every directory on the way must be a real directory inside `out`.
        let mut cur = out.to_path_buf();
        for part in f.path.parent().into_iter().flat_map(|p| p.iter()) {
            cur.push(part);
            if std::fs::symlink_metadata(&cur).is_ok_and(|m| m.file_type().is_symlink()) {
                return Err(OutputError(format!(
                    "{}: is a symbolic link inside the output directory",
                    cur.display()
                )));
            }
        }
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let tmp = dir.join(format!(
            ".{}.netc-tmp",
            path.file_name().unwrap_or_default().to_string_lossy()
        ));
        let mut file = std::fs::File::create(&tmp).map_err(|e| io(&tmp, e))?;
        file.write_all(f.contents.as_bytes())
            .map_err(|e| io(&tmp, e))?;
        drop(file);
        std::fs::rename(&tmp, &path).map_err(|e| io(&path, e))?;
        changed += 1;
    }
    let now: BTreeSet<&Path> = files.iter().map(|f| f.path.as_path()).collect();
    for old in previous(out) {
        if !now.contains(old.as_path()) {
            let _ = std::fs::remove_file(out.join(&old));
            changed += 1;
        }
    }
    let manifest: String = files
        .iter()
        .map(|f| format!("{}\n", f.path.display()))
        .collect();
    let tmp = out.join(format!("{MANIFEST}.netc-tmp"));
    std::fs::write(&tmp, manifest)
        .and_then(|_| std::fs::rename(&tmp, out.join(MANIFEST)))
        .map_err(|e| io(out, e))?;
    Ok(changed)
}

/// A unified diff of what `write` would change; empty when `out` is up to date.
pub fn check(out: &Path, files: &[OutputFile]) -> Result<String, OutputError> {
    validate(files)?;
    check_dir(out)?;
    let mut diff = String::new();
    for f in files {
        let path = out.join(&f.path);
        let old = std::fs::read_to_string(&path).unwrap_or_default();
        if old != f.contents {
            let name = f.path.display().to_string();
            let text = similar::TextDiff::from_lines(&old, &f.contents);
            diff.push_str(
                &text
                    .unified_diff()
                    .context_radius(3)
                    .header(&format!("a/{name}"), &format!("b/{name}"))
                    .to_string(),
            );
        }
    }
    let now: BTreeSet<&Path> = files.iter().map(|f| f.path.as_path()).collect();
    for old in previous(out) {
        if !now.contains(old.as_path()) && out.join(&old).exists() {
            diff.push_str(&format!(
                "--- a/{0}\n+++ /dev/null\n(would be removed: the plan no longer generates {0})\n",
                old.display()
            ));
        }
    }
    Ok(diff)
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
