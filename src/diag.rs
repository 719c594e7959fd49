//! One diagnostic type for the whole pipeline: parse, resolve and check all report through it.
//! Rendering (miette, JSON) lives in `cli`; this module only holds data.

use serde::Serialize;
use std::path::PathBuf;

/// Index of a loaded source file in [`Sources`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct FileId(pub u32);

/// A byte range of one source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Span {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(file: FileId, start: usize, end: usize) -> Span {
        Span {
            file,
            start: start as u32,
            end: end as u32,
        }
    }

    /// The smallest span covering both (same file assumed).
    pub fn to(self, other: Span) -> Span {
        Span {
            file: self.file,
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
}

/// A loaded plan file.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as the user gave it (or as an include resolved it).
    pub name: String,
    pub path: PathBuf,
    pub text: String,
    line_starts: Vec<usize>,
}

/// Every file of a plan, root first.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    files: Vec<SourceFile>,
}

/// The largest char boundary at or before `offset` (clamped to the text).
fn floor_boundary(text: &str, offset: usize) -> usize {
    let mut i = offset.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// A resolved position, 1-based.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    pub file: String,
    pub line: usize,
    pub column: usize,
}

impl SourceFile {
    /// Where each line starts (byte offsets; the first is 0).
    pub fn line_starts(&self) -> &[usize] {
        &self.line_starts
    }
}

/// The bidirectional-text controls that make editors show text in another order than it is
/// read (the "Trojan Source" set).
pub const BIDI_CONTROLS: [char; 9] = [
    '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}',
    '\u{2069}',
];

/// Whether a character can hide or reorder text on a terminal or in an editor.
pub fn is_hiding(c: char) -> bool {
    c.is_control() || BIDI_CONTROLS.contains(&c)
}

/// `s` safe to print on a terminal or in a CI log: every control character (newlines and
/// tabs too) and every bidi control written as a `\u{..}` escape, so a name cannot move
/// the cursor, forge a line or start a workflow command.
pub fn printable(s: &str) -> String {
    if !s.chars().any(is_hiding) {
        return s.to_string();
    }
    s.chars()
        .map(|c| {
            if is_hiding(c) {
                format!("\\u{{{:x}}}", c as u32)
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// A path made [`printable`].
pub fn printable_path(p: &std::path::Path) -> String {
    printable(&p.display().to_string())
}

impl Sources {
    /// Add a file; its name is kept printable (see [`printable`]): it reaches every human
    /// output.
    pub fn add(&mut self, name: String, path: PathBuf, text: String) -> FileId {
        let name = printable(&name);
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        self.files.push(SourceFile {
            name,
            path,
            text,
            line_starts,
        });
        FileId(self.files.len() as u32 - 1)
    }

    pub fn file(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    pub fn files(&self) -> &[SourceFile] {
        &self.files
    }

    pub fn text(&self, span: Span) -> &str {
        let text = &self.file(span.file).text;
        let (start, end) = (
            floor_boundary(text, span.start as usize),
            floor_boundary(text, span.end as usize),
        );
        &text[start..end.max(start)]
    }

    pub fn location(&self, span: Span) -> Location {
        let file = self.file(span.file);
        let offset = floor_boundary(&file.text, span.start as usize);
        let line_idx = match file.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let column = file.text[file.line_starts[line_idx]..offset.min(file.text.len())]
            .chars()
            .count()
            + 1;
        Location {
            file: file.name.clone(),
            line: line_idx + 1,
            column,
        }
    }

    /// The whole line(s) a span starts on, without the trailing newline: what a rule "says".
    pub fn line_of(&self, span: Span) -> &str {
        let file = self.file(span.file);
        let span = Span {
            start: floor_boundary(&file.text, span.start as usize) as u32,
            end: floor_boundary(&file.text, span.end as usize) as u32,
            ..span
        };
        let start = file.text[..span.start as usize]
            .rfind('\n')
            .map(|i| i + 1)
            .unwrap_or(0);
        let end = file.text[span.end as usize..]
            .find('\n')
            .map(|i| i + span.end as usize)
            .unwrap_or(file.text.len());
        &file.text[start..end]
    }

    /// `file:line` of a span, for reasons and generated comments.
    pub fn file_line(&self, span: Span) -> String {
        let loc = self.location(span);
        format!("{}:{}", loc.file, loc.line)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

impl Label {
    pub fn new(span: Span, message: impl Into<String>) -> Label {
        Label {
            span,
            message: message.into(),
        }
    }
}

/// A problem found in a plan. `code` is stable: tests, `netc explain` and users' scripts rely on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    pub primary: Option<Label>,
    pub secondary: Vec<Label>,
    pub help: Option<String>,
    /// The reason given by the plan's `# netc-ack` comment, for an acknowledged warning.
    pub acknowledged: Option<String>,
}

impl Diagnostic {
    /// A diagnostic of `code`, with the severity its declaration gives it (`codes.rs`): a
    /// code is a value, so a misspelt one does not compile.
    pub fn new(code: &crate::codes::Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code: code.code,
            severity: code.severity,
            message: message.into(),
            primary: None,
            secondary: Vec::new(),
            help: None,
            acknowledged: None,
        }
    }

    pub fn with_primary(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.primary = Some(Label::new(span, message));
        self
    }

    pub fn with_secondary(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.secondary.push(Label::new(span, message));
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Sort diagnostics by position so output is stable whatever order the checks ran in.
pub fn sort(diags: &mut [Diagnostic]) {
    diags.sort_by(|a, b| {
        let ka = a.primary.as_ref().map(|l| l.span);
        let kb = b.primary.as_ref().map(|l| l.span);
        ka.cmp(&kb)
            .then(a.code.cmp(b.code))
            .then(a.message.cmp(&b.message))
    });
}

/// Serializable form of a diagnostic, with resolved positions.
#[derive(Debug, Serialize)]
pub struct JsonDiagnostic {
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    pub location: Option<Location>,
    pub labels: Vec<JsonLabel>,
    pub help: Option<String>,
    /// The reason of the plan's `# netc-ack` for this warning, when acknowledged.
    pub acknowledged: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct JsonLabel {
    pub location: Location,
    pub end: Location,
    pub text: String,
    pub message: String,
    pub primary: bool,
}

impl JsonDiagnostic {
    pub fn new(diag: &Diagnostic, sources: &Sources) -> JsonDiagnostic {
        let label = |l: &Label, primary: bool| JsonLabel {
            location: sources.location(l.span),
            end: sources.location(Span {
                start: l.span.end,
                ..l.span
            }),
            text: sources.text(l.span).to_string(),
            message: l.message.clone(),
            primary,
        };
        let mut labels: Vec<JsonLabel> = diag.primary.iter().map(|l| label(l, true)).collect();
        labels.extend(diag.secondary.iter().map(|l| label(l, false)));
        JsonDiagnostic {
            code: diag.code,
            severity: diag.severity,
            message: diag.message.clone(),
            location: diag.primary.as_ref().map(|l| sources.location(l.span)),
            labels,
            help: diag.help.clone(),
            acknowledged: diag.acknowledged.clone(),
        }
    }
}
