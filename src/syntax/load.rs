//! Reading plan files and following `include`s. Limits keep hostile input bounded: file size,
//! include depth and count; directories, devices, invalid UTF-8 and NUL bytes are errors.

use super::ast::{File, Stmt};
use super::parser;
use crate::diag::{Diagnostic, FileId, Sources, Span};
use std::io::Read;
use std::path::{Path, PathBuf};

pub const INCLUDE_CYCLE: &crate::codes::Code = &crate::codes::E002;
pub const INCLUDE_ERROR: &crate::codes::Code = &crate::codes::E003;
pub const BAD_TEXT: &crate::codes::Code = &crate::codes::E004;

pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;
pub const MAX_INCLUDE_DEPTH: usize = 32;
pub const MAX_FILES: usize = 4096;
/// All the files of a plan together.
pub const MAX_PLAN_BYTES: u64 = 64 * 1024 * 1024;

/// Every file of a plan, parsed, in load order (root files first, each followed by what it
/// includes, depth first).
#[derive(Debug, Default)]
pub struct Loaded {
    pub sources: Sources,
    pub files: Vec<(FileId, File)>,
    pub diags: Vec<Diagnostic>,
}

/// Why a root file could not be read at all (exit status 2, not a plan error).
#[derive(Debug)]
pub struct LoadError {
    pub path: PathBuf,
    pub message: String,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {}",
            crate::diag::printable_path(&self.path),
            self.message
        )
    }
}

/// Directories includes may also read from, given on the command line (`--include-from`).
static INCLUDE_FROM: std::sync::OnceLock<Vec<PathBuf>> = std::sync::OnceLock::new();

/// Allow includes from these directories too (once per process, from the command line).
pub fn allow_includes_from(dirs: Vec<PathBuf>) {
    let _ = INCLUDE_FROM.set(dirs);
}

/// Load the plan named by `roots`: each a `.netc` file or a directory of them.
pub fn load(roots: &[PathBuf]) -> Result<Loaded, LoadError> {
    load_with(roots, INCLUDE_FROM.get().map_or(&[][..], Vec::as_slice))
}

/// The same, with includes allowed under `include_from` as well as under the plan's own
/// directories (the directory of each root file, each root directory).
pub fn load_with(roots: &[PathBuf], include_from: &[PathBuf]) -> Result<Loaded, LoadError> {
    let mut allowed: Vec<PathBuf> = Vec::new();
    for dir in roots
        .iter()
        .map(|r| {
            if r.is_dir() {
                r.clone()
            } else {
                r.parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(Path::new("."))
                    .to_path_buf()
            }
        })
        .chain(include_from.iter().cloned())
    {
        if let Ok(c) = dir.canonicalize() {
            allowed.push(c);
        }
    }
    let mut loader = Loader {
        loaded: Loaded::default(),
        seen: Vec::new(),
        stack: Vec::new(),
        allowed,
        total: 0,
    };
    for root in roots {
        let files = if root.is_dir() {
            let entries: Vec<PathBuf> = std::fs::read_dir(root)
                .map_err(|e| LoadError {
                    path: root.clone(),
                    message: e.to_string(),
                })?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "netc") && p.is_file())
                .collect();
            // An entry that is a link is read only when it leads to a file inside the plan's
            // directory; one leading outside is an outside include (E003), never read.
            let home = root.canonicalize().unwrap_or_else(|_| root.clone());
            let (inside, outside): (Vec<PathBuf>, Vec<PathBuf>) =
                entries.into_iter().partition(|p| {
                    !std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink())
                        || p.canonicalize().is_ok_and(|c| c.starts_with(&home))
                });
            let mut entries = inside;
            for path in outside {
                let file = loader.loaded.sources.add(
                    path.display().to_string(),
                    path.clone(),
                    String::new(),
                );
                loader.loaded.diags.push(
                    Diagnostic::new(
                        INCLUDE_ERROR,
                        format!(
                            "`{}` is a link that leads outside the plan's directory; it was not read",
                            crate::diag::printable_path(&path)
                        ),
                    )
                    .with_primary(Span::new(file, 0, 0), "this entry")
                    .with_help("a plan directory's files stay under it (links are resolved first); copy the file into the plan's directory"),
                );
            }
            entries.sort();
            if entries.is_empty() && loader.loaded.diags.is_empty() {
                return Err(LoadError {
                    path: root.clone(),
                    message: "no .netc files in this directory".into(),
                });
            }
            entries
        } else {
            vec![root.clone()]
        };
        for path in files {
            match read_text(&path) {
                Ok(bytes) if loader.total + bytes.len() as u64 > MAX_PLAN_BYTES => {
                    return Err(LoadError {
                        path,
                        message: format!(
                            "the plan would be larger than {} MiB in all",
                            MAX_PLAN_BYTES / 1024 / 1024
                        ),
                    })
                }
                Ok(bytes) => {
                    loader.total += bytes.len() as u64;
                    loader.add(path.display().to_string(), path, bytes, None)
                }
                Err(message) => return Err(LoadError { path, message }),
            }
        }
    }
    Ok(loader.loaded)
}

struct Loader {
    loaded: Loaded,
    /// Canonical paths already loaded: an include of one of them again is skipped.
    seen: Vec<PathBuf>,
    /// Canonical paths of the include chain being followed, to find cycles.
    stack: Vec<(PathBuf, String)>,
    /// Canonical directories includes may read from.
    allowed: Vec<PathBuf>,
    /// Bytes read so far.
    total: u64,
}

impl Loader {
    fn add(&mut self, name: String, path: PathBuf, bytes: Vec<u8>, from: Option<Span>) {
        let canonical = path.canonicalize().unwrap_or_else(|_| path.clone());
        if self.seen.contains(&canonical) {
            return;
        }
        self.seen.push(canonical.clone());
        let name_for_stack = name.clone();
        let (text, problem) = decode(bytes);
        if let Some((offset, message, help)) = problem {
            // A file that is not plan text is never quoted (it may hold anything): the error
            // points at the include, or at the file's start, and says where.
            let file = self.loaded.sources.add(name, path.clone(), String::new());
            let span = from.unwrap_or(Span::new(file, 0, 0));
            let label = if from.is_some() {
                "included here"
            } else {
                "in this file"
            };
            let before = &text.as_bytes()[..offset.min(text.len())];
            let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
            let column = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
            self.loaded.diags.push(
                Diagnostic::new(
                    BAD_TEXT,
                    format!(
                        "{message} ({}:{line}:{column}, byte {offset})",
                        path.display()
                    ),
                )
                .with_primary(span, label)
                .with_help(help),
            );
            return;
        }
        let file = self.loaded.sources.add(name, path.clone(), text);
        let (ast, diags) = parser::parse(file, &self.loaded.sources.file(file).text);
        self.loaded.diags.extend(diags);
        let includes: Vec<(String, Span)> = ast
            .stmts
            .iter()
            .filter_map(|s| match s {
                Stmt::Include(i) => Some((i.path.clone(), i.span)),
                _ => None,
            })
            .collect();
        self.loaded.files.push((file, ast));
        self.stack.push((canonical, name_for_stack));
        for (rel, span) in includes {
            self.include(&path, &rel, span);
        }
        self.stack.pop();
    }

    fn include(&mut self, from: &Path, rel: &str, span: Span) {
        let target = from.parent().unwrap_or(Path::new(".")).join(rel);
        let err = |message: String, help: &str| {
            Diagnostic::new(INCLUDE_ERROR, message)
                .with_primary(span, "included here")
                .with_help(help.to_string())
        };
        if self.stack.len() >= MAX_INCLUDE_DEPTH {
            self.loaded.diags.push(err(
                format!("includes nest deeper than {MAX_INCLUDE_DEPTH} files"),
                "flatten the include chain",
            ));
            return;
        }
        if self.loaded.sources.files().len() >= MAX_FILES {
            self.loaded.diags.push(err(
                format!("a plan may have at most {MAX_FILES} files"),
                "merge some files",
            ));
            return;
        }
        let canonical = target.canonicalize().unwrap_or_else(|_| target.clone());
        if target.exists() && !self.allowed.iter().any(|a| canonical.starts_with(a)) {
            self.loaded.diags.push(err(
                format!("`{rel}` is outside the plan's directory"),
                "includes stay under the plan's directory (links are resolved first); to include from another directory, name it on the command line with --include-from DIR",
            ));
            return;
        }
        if self.stack.iter().any(|(p, _)| *p == canonical) {
            let chain: Vec<String> = self
                .stack
                .iter()
                .skip_while(|(p, _)| *p != canonical)
                .map(|(_, name)| name.clone())
                .chain(std::iter::once(target.display().to_string()))
                .collect();
            self.loaded.diags.push(
                Diagnostic::new(
                    INCLUDE_CYCLE,
                    format!("include cycle: {}", chain.join(" -> ")),
                )
                .with_primary(span, "this include closes the cycle")
                .with_help("a file may not include itself, directly or through other files"),
            );
            return;
        }
        match read_text(&target) {
            Ok(bytes) if self.total + bytes.len() as u64 > MAX_PLAN_BYTES => {
                self.loaded.diags.push(err(
                    format!(
                        "the plan would be larger than {} MiB in all with `{rel}`",
                        MAX_PLAN_BYTES / 1024 / 1024
                    ),
                    "a plan this large is not a network plan; split it or remove generated files from it",
                ))
            }
            Ok(bytes) => {
                self.total += bytes.len() as u64;
                self.add(target.display().to_string(), target, bytes, Some(span))
            }
            Err(message) => self.loaded.diags.push(err(
                format!("cannot include `{rel}`: {message}"),
                "include paths are relative to the including file",
            )),
        }
    }
}

fn read_text(path: &Path) -> Result<Vec<u8>, String> {
    let meta = std::fs::metadata(path).map_err(|e| io_message(&e))?;
    if meta.is_dir() {
        return Err("is a directory, not a plan file".into());
    }
    if !meta.is_file() {
        return Err("is not a regular file (a device, socket or pipe)".into());
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(format!(
            "is larger than {} MiB",
            MAX_FILE_BYTES / 1024 / 1024
        ));
    }
    // Opened without blocking (a file swapped for a FIFO or a device after the check above
    // must not hang), and checked again once open.
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| io_message(&e))?;
    if !f.metadata().is_ok_and(|m| m.is_file()) {
        return Err("is not a regular file (a device, socket or pipe)".into());
    }
    let mut bytes = Vec::new();
    f.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io_message(&e))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(format!(
            "is larger than {} MiB",
            MAX_FILE_BYTES / 1024 / 1024
        ));
    }
    Ok(bytes)
}

fn io_message(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

type Problem = Option<(usize, String, &'static str)>;

/// Text of a file, and where it is not plan text (invalid UTF-8, NUL byte).
fn decode(bytes: Vec<u8>) -> (String, Problem) {
    match String::from_utf8(bytes) {
        Ok(text) => {
            let problem = text
                .find('\0')
                .map(|offset| {
                    (
                        offset,
                        "the file contains a NUL byte".to_string(),
                        "plan files are UTF-8 text",
                    )
                })
                .or_else(|| {
                    // A control character (a lone carriage return, ESC, a backspace) moves a
                    // terminal's cursor, and a bidi control reorders text in an editor: a live
                    // rule could hide behind text that looks like a comment. Tab, LF and the CR
                    // of a CR LF are the only ones a plan may hold.
                    text.char_indices()
                        .find(|&(i, c)| {
                            crate::diag::is_hiding(c)
                                && c != '\t'
                                && c != '\n'
                                && !(c == '\r' && text.as_bytes().get(i + 1) == Some(&b'\n'))
                        })
                        .map(|(offset, c)| {
                            let what = match c {
                                '\r' => "a carriage return that does not end a line".to_string(),
                                c if crate::diag::BIDI_CONTROLS.contains(&c) => {
                                    format!("the bidirectional-text control U+{:04X}", c as u32)
                                }
                                c => format!("the control character U+{:04X}", c as u32),
                            };
                            (
                                offset,
                                format!("the file contains {what}"),
                                "plan text holds no control characters but tab and line ends (LF or CR LF), and no bidi controls: they can hide or reorder text on a terminal or in an editor",
                            )
                        })
                });
            (text, problem)
        }
        Err(e) => {
            let offset = e.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
            (
                text,
                Some((
                    offset,
                    "the file is not valid UTF-8".to_string(),
                    "save the plan as UTF-8 text",
                )),
            )
        }
    }
}

// The codes this file emits, declared here (listed in `codes::ALL`).
pub const E002: crate::codes::Code = crate::codes::code!("E002", "include-cycle", Error, "files include each other in a cycle",
        "What it does: reports an include chain that comes back to a file already being read.\n\
         Why: the plan would be infinite.\n\
         Example:\n    # a.netc\n    include \"b.netc\"\n    # b.netc\n    include \"a.netc\"   # closes the cycle");
pub const E003: crate::codes::Code =
    crate::codes::code!("E003", "include-error", Error, "an included file cannot be read",
        "What it does: reports an include whose file is missing, a directory, a device, too large\n\
         or nested too deep.\n\
         Why: a plan must be complete to be checked.\n\
         Example:\n    include \"vlans.netc\"   # relative to the including file");
pub const E004: crate::codes::Code = crate::codes::code!(
    "E004",
    "bad-text",
    Error,
    "a plan file is not UTF-8 text",
    "What it does: reports invalid UTF-8, NUL bytes, control characters other than tab and\n\
         line ends (ESC, backspace, a lone CR) and bidi controls, at the first offending byte.\n\
         Why: plan files are text reviewed by people; binary content is a mistake or an attack.\n\
         Example: a file saved as UTF-16, or with a NUL byte pasted in."
);
