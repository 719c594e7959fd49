//! Rendering diagnostics for people (miette) and machines (JSON). Only the command line uses
//! this module; the pipeline itself only produces `Diagnostic` values.

use crate::diag::{Diagnostic, JsonDiagnostic, Label, Severity, Sources};
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource};
use std::fmt;

/// Context longer than this is cut to a window of `WINDOW` bytes on each side of the span.
const MAX_CONTEXT: usize = 2000;
const WINDOW: usize = 160;

/// A file's text shared by every report that quotes it, with its line index, so that a large
/// plan with many findings is neither copied nor rescanned once per finding.
#[derive(Clone)]
struct Shared {
    text: std::sync::Arc<str>,
    line_starts: std::sync::Arc<Vec<usize>>,
}

impl Shared {
    fn of(file: &crate::diag::SourceFile, cache: &mut Vec<(*const u8, Shared)>) -> Shared {
        let text = file.text.as_str();
        if let Some((_, s)) = cache.iter().find(|(p, _)| *p == text.as_ptr()) {
            return s.clone();
        }
        // The line index is the one the sources already keep.
        let s = Shared {
            text: std::sync::Arc::from(text),
            line_starts: std::sync::Arc::new(file.line_starts().to_vec()),
        };
        cache.push((text.as_ptr(), s.clone()));
        s
    }

    fn line_of(&self, offset: usize) -> usize {
        self.line_starts
            .partition_point(|&s| s <= offset)
            .saturating_sub(1)
    }
}

impl miette::SourceCode for Shared {
    fn read_span<'a>(
        &'a self,
        span: &miette::SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let len = self.text.len();
        if span.offset() > len {
            return Err(miette::MietteError::OutOfBounds);
        }
        let end = (span.offset() + span.len()).min(len);
        let first = self.line_of(span.offset()).saturating_sub(before);
        // A span ending right after a line end belongs to that line.
        let last_line = self.line_of(if !span.is_empty() {
            end.saturating_sub(1)
        } else {
            end
        });
        let last = (last_line + after).min(self.line_starts.len() - 1);
        let from = self.line_starts[first];
        let to = self
            .line_starts
            .get(last + 1)
            .map_or(len, |&next| next.saturating_sub(1))
            .max(from);
        // A very long line (a minified or hostile plan) is shown as a window around the span,
        // not whole for every diagnostic: each report stays a few hundred bytes.
        let (from, to) = if to - from > MAX_CONTEXT {
            let floor = |mut i: usize| {
                while !self.text.is_char_boundary(i) {
                    i -= 1;
                }
                i
            };
            let a = floor(span.offset().saturating_sub(WINDOW).max(from));
            let b = floor((end.min(span.offset() + MAX_CONTEXT) + WINDOW).min(to));
            (a, b.max(a))
        } else {
            (from, to)
        };
        let data = &self.text.as_bytes()[from..to];
        // The header shows where the span itself starts: its line and column.
        let span_line = self.line_of(span.offset());
        let line_start = self.line_starts[span_line];
        let column = self
            .text
            .get(line_start..span.offset())
            .map_or(0, |t| t.chars().count());
        Ok(Box::new(miette::MietteSpanContents::new(
            data,
            miette::SourceSpan::new(from.into(), to - from),
            first,
            column,
            last - first + 1,
        )))
    }
}

/// A diagnostic bound to its source text, in the shape miette renders.
struct Report {
    diag: Diagnostic,
    source: Option<NamedSource<Shared>>,
    labels: Vec<LabeledSpan>,
    related: Vec<Report>,
    /// A location of another diagnostic, in another file: shown as advice, without a code,
    /// so that one mistake does not read as two errors.
    note: bool,
}

impl fmt::Debug for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.diag.message)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.diag.message)
    }
}

impl std::error::Error for Report {}

impl miette::Diagnostic for Report {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        if self.note {
            return None;
        }
        let name = crate::codes::find(self.diag.code).map_or("", |c| c.name);
        Some(Box::new(format!("netc::{}::{name}", self.diag.code)))
    }

    fn severity(&self) -> Option<miette::Severity> {
        if self.note {
            return Some(miette::Severity::Advice);
        }
        Some(match self.diag.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.diag
            .help
            .as_ref()
            .map(|h| Box::new(h.clone()) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            None
        } else {
            Some(Box::new(self.labels.iter().cloned()))
        }
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        if self.related.is_empty() {
            None
        } else {
            Some(Box::new(
                self.related.iter().map(|r| r as &dyn miette::Diagnostic),
            ))
        }
    }
}

fn labeled(label: &Label, primary: bool) -> LabeledSpan {
    let span = (
        label.span.start as usize,
        (label.span.end - label.span.start) as usize,
    );
    if primary {
        LabeledSpan::new_primary_with_span(Some(label.message.clone()), span)
    } else {
        LabeledSpan::new_with_span(Some(label.message.clone()), span)
    }
}

fn report(diag: &Diagnostic, sources: &Sources, cache: &mut Vec<(*const u8, Shared)>) -> Report {
    let Some(primary) = &diag.primary else {
        return Report {
            diag: diag.clone(),
            source: None,
            labels: Vec::new(),
            related: Vec::new(),
            note: false,
        };
    };
    let file = sources.file(primary.span.file);
    let mut labels = vec![labeled(primary, true)];
    let mut related = Vec::new();
    for s in &diag.secondary {
        if s.span.file == primary.span.file {
            labels.push(labeled(s, false));
        } else {
            // A label in another file is shown as a note with its own excerpt.
            let other = sources.file(s.span.file);
            let note = Diagnostic {
                code: diag.code,
                severity: diag.severity,
                message: s.message.clone(),
                primary: Some(s.clone()),
                secondary: Vec::new(),
                help: None,
                acknowledged: None,
            };
            related.push(Report {
                diag: note,
                source: Some(NamedSource::new(
                    other.name.clone(),
                    Shared::of(other, cache),
                )),
                labels: vec![labeled(s, true)],
                related: Vec::new(),
                note: true,
            });
        }
    }
    Report {
        diag: diag.clone(),
        source: Some(
            NamedSource::new(file.name.clone(), Shared::of(file, cache)).with_language("netc"),
        ),
        labels,
        related,
        note: false,
    }
}

/// Human rendering; `color` only when writing to a terminal that wants it.
pub fn human(diags: &[Diagnostic], sources: &Sources, color: bool, width: usize) -> String {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(width)
        .with_links(false);
    let mut out = String::new();
    let mut cache = Vec::new();
    // Acknowledged warnings are listed, one line each with their reason, after the others.
    let (acknowledged, diags): (Vec<&Diagnostic>, Vec<&Diagnostic>) =
        diags.iter().partition(|d| d.acknowledged.is_some());
    // Errors first when there are too many to show: they are what stops the plan.
    let mut order = diags.clone();
    if diags.len() > MAX_SHOWN {
        order.sort_by_key(|d| !d.is_error());
    }
    for d in order.iter().take(MAX_SHOWN) {
        let r = report(d, sources, &mut cache);
        let _ = handler.render_report(&mut out, &r);
        out.push('\n');
    }
    if diags.len() > MAX_SHOWN {
        out.push_str(&format!(
            "... and {} more diagnostics not shown (`--format json` lists every one)\n\n",
            diags.len() - MAX_SHOWN
        ));
    }
    if !acknowledged.is_empty() {
        out.push_str("acknowledged warnings:\n");
        for d in acknowledged {
            let at = d
                .primary
                .as_ref()
                .map(|l| sources.file_line(l.span))
                .unwrap_or_default();
            out.push_str(&format!(
                "  {at} {} {}: {}\n    reason: {}\n",
                d.code,
                crate::codes::find(d.code).map_or("", |c| c.name),
                d.message,
                d.acknowledged.as_deref().unwrap_or_default()
            ));
        }
        out.push('\n');
    }
    out
}

/// Diagnostics rendered for people at most (a limit: each quotes the plan).
pub const MAX_SHOWN: usize = 250;

/// Diagnostics as a `netc-check/1` document: the plan, the counts, every diagnostic with
/// resolved positions (`schemas/netc-check.schema.json`).
pub fn json(plan: &str, diags: &[Diagnostic], sources: &Sources) -> String {
    let items: Vec<JsonDiagnostic> = diags
        .iter()
        .map(|d| JsonDiagnostic::new(d, sources))
        .collect();
    let errors = diags.iter().filter(|d| d.is_error()).count();
    let acknowledged = diags.iter().filter(|d| d.acknowledged.is_some()).count();
    serde_json::to_string_pretty(&serde_json::json!({
        "schema": "netc-check/1",
        "plan": plan,
        "errors": errors,
        "warnings": diags.len() - errors - acknowledged,
        "acknowledged": acknowledged,
        "diagnostics": items,
    }))
    .expect("diagnostics serialize")
}

/// A path as a SARIF URI reference: relative paths stay relative (to the directory netc ran
/// in, as code scanning expects paths relative to the repository), absolute ones become
/// `file://` URIs; bytes other than unreserved characters and `/` are percent-encoded.
fn sarif_uri(path: &str) -> String {
    let mut out = String::new();
    if path.starts_with('/') {
        out.push_str("file://");
    }
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Diagnostics as a SARIF 2.1.0 log: one run of tool `netc`, one rule per code that occurs
/// (its name, summary and `netc explain` text), one result per diagnostic with its primary
/// label as location and the other labels as related locations.
pub fn sarif(diags: &[Diagnostic], sources: &Sources) -> String {
    use serde_json::json;
    let mut codes: Vec<&str> = diags.iter().map(|d| d.code).collect();
    codes.sort_unstable();
    codes.dedup();
    let rules: Vec<serde_json::Value> = codes
        .iter()
        .map(|c| {
            let info = crate::codes::find(c);
            json!({
                "id": c,
                "name": info.map_or(*c, |i| i.name),
                "shortDescription": { "text": info.map_or("", |i| i.summary) },
                "fullDescription": { "text": info.map_or("", |i| i.doc) },
                "help": { "text": format!("netc explain {c}") },
                "defaultConfiguration": {
                    "level": if c.starts_with('E') { "error" } else { "warning" }
                },
            })
        })
        .collect();
    let region = |label: &crate::diag::Label| {
        let (start, end) = (
            sources.location(label.span),
            sources.location(crate::diag::Span {
                start: label.span.end,
                ..label.span
            }),
        );
        json!({
            "physicalLocation": {
                "artifactLocation": { "uri": sarif_uri(&start.file) },
                "region": {
                    "startLine": start.line,
                    "startColumn": start.column,
                    "endLine": end.line.max(start.line),
                    "endColumn": if end.line > start.line { end.column } else { end.column.max(start.column) },
                },
            },
            "message": { "text": label.message },
        })
    };
    let results: Vec<serde_json::Value> = diags
        .iter()
        .map(|d| {
            let mut text = d.message.clone();
            if let Some(help) = &d.help {
                text.push_str(&format!(" (help: {help})"));
            }
            let mut r = json!({
                "suppressions": d.acknowledged.iter().map(|why| json!({
                    "kind": "inSource", "justification": why,
                })).collect::<Vec<_>>(),
                "ruleId": d.code,
                "ruleIndex": codes.iter().position(|c| *c == d.code).unwrap_or(0),
                "level": if d.is_error() { "error" } else { "warning" },
                "message": { "text": text },
                "locations": d.primary.iter().map(region).collect::<Vec<_>>(),
            });
            if !d.secondary.is_empty() {
                r["relatedLocations"] = d
                    .secondary
                    .iter()
                    .enumerate()
                    .map(|(i, l)| {
                        let mut loc = region(l);
                        loc["id"] = json!(i + 1);
                        loc
                    })
                    .collect::<Vec<_>>()
                    .into();
            }
            r
        })
        .collect();
    sarif_log(rules, results)
}

/// A SARIF 2.1.0 log of one run of netc.
fn sarif_log(rules: Vec<serde_json::Value>, results: Vec<serde_json::Value>) -> String {
    serde_json::to_string_pretty(&serde_json::json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "netc",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    }))
    .expect("SARIF serializes")
}

/// The access a change opens and closes as a SARIF 2.1.0 log: rule `opened-access` (a
/// warning at each rule of the new plan that opens it), rule `closed-access` (a note, at the
/// old plan's rules when `old_located`: the old plan is a file of the working tree). Access
/// that no rule of the plan opens (a firewall kind's stock rules, a path no firewall is on)
/// is located at the first line of `plan_file`, as code scanning needs a location.
pub fn diff_sarif(d: &crate::query::diff::Diff, old_located: bool, plan_file: &str) -> String {
    use serde_json::json;
    let rules = vec![
        json!({
            "id": "opened-access",
            "name": "opened-access",
            "shortDescription": { "text": "the change lets packets through that the old plan did not" },
            "help": { "text": "netc diff OLD NEW shows each opened access with an example packet" },
            "defaultConfiguration": { "level": "warning" },
        }),
        json!({
            "id": "closed-access",
            "name": "closed-access",
            "shortDescription": { "text": "the change stops packets that the old plan let through" },
            "help": { "text": "netc diff OLD NEW shows each closed access with an example packet" },
            "defaultConfiguration": { "level": "note" },
        }),
    ];
    let mut results = Vec::new();
    for (index, (id, level, verb, list)) in [
        ("opened-access", "warning", "opens", &d.opened),
        ("closed-access", "note", "closes", &d.closed),
    ]
    .into_iter()
    .enumerate()
    {
        for c in list {
            let mut text = format!("the change {verb} {} -> {}: {}", c.src, c.dst, c.services);
            if c.configured_only {
                text.push_str(" (configured only: no path of the plan delivers it)");
            }
            if let Some(p) = &c.example {
                text.push_str(&format!(", e.g. {p}"));
            }
            let at = |file: &str, line: usize, text: &str| {
                json!({
                    "physicalLocation": {
                        "artifactLocation": { "uri": sarif_uri(file) },
                        "region": { "startLine": line },
                    },
                    "message": { "text": text },
                })
            };
            let mut locations: Vec<serde_json::Value> = c
                .rules
                .iter()
                .filter(|_| index == 0 || old_located)
                .map(|r| at(&r.file, r.line, &r.text))
                .collect();
            if locations.is_empty() {
                locations.push(at(plan_file, 1, "no rule of the plan decides this access"));
            }
            results.push(json!({
                "ruleId": id,
                "ruleIndex": index,
                "level": level,
                "message": { "text": text },
                "locations": locations,
            }));
        }
    }
    sarif_log(rules, results)
}

/// `2 errors, 1 warning`
pub fn summary(diags: &[Diagnostic]) -> String {
    let errors = diags.iter().filter(|d| d.is_error()).count();
    let acknowledged = diags.iter().filter(|d| d.acknowledged.is_some()).count();
    let warnings = diags.len() - errors - acknowledged;
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    let acked = if acknowledged > 0 {
        format!(" ({acknowledged} acknowledged)")
    } else {
        String::new()
    };
    format!(
        "{}, {}{acked}",
        plural(errors, "error"),
        plural(warnings, "warning")
    )
}
