//! Rendering diagnostics for people (miette) and machines (JSON). Only the command line uses
//! this module; the pipeline itself only produces `Diagnostic` values.

use crate::diag::{Diagnostic, JsonDiagnostic, Label, Severity, Sources};
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource};
use std::fmt;

/// A diagnostic bound to its source text, in the shape miette renders.
struct Report {
    diag: Diagnostic,
    source: Option<NamedSource<String>>,
    labels: Vec<LabeledSpan>,
    related: Vec<Report>,
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
        let name = crate::codes::find(self.diag.code).map_or("", |c| c.name);
        Some(Box::new(format!("netc::{}::{name}", self.diag.code)))
    }

    fn severity(&self) -> Option<miette::Severity> {
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

fn report(diag: &Diagnostic, sources: &Sources) -> Report {
    let Some(primary) = &diag.primary else {
        return Report {
            diag: diag.clone(),
            source: None,
            labels: Vec::new(),
            related: Vec::new(),
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
            };
            related.push(Report {
                diag: note,
                source: Some(NamedSource::new(other.name.clone(), other.text.clone())),
                labels: vec![labeled(s, true)],
                related: Vec::new(),
            });
        }
    }
    Report {
        diag: diag.clone(),
        source: Some(NamedSource::new(file.name.clone(), file.text.clone()).with_language("netc")),
        labels,
        related,
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
    for d in diags {
        let r = report(d, sources);
        let _ = handler.render_report(&mut out, &r);
        out.push('\n');
    }
    out
}

pub fn json(diags: &[Diagnostic], sources: &Sources) -> String {
    let items: Vec<JsonDiagnostic> = diags
        .iter()
        .map(|d| JsonDiagnostic::new(d, sources))
        .collect();
    serde_json::to_string_pretty(&items).expect("diagnostics serialize")
}

/// `2 errors, 1 warning`
pub fn summary(diags: &[Diagnostic]) -> String {
    let errors = diags.iter().filter(|d| d.is_error()).count();
    let warnings = diags.len() - errors;
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    format!(
        "{}, {}",
        plural(errors, "error"),
        plural(warnings, "warning")
    )
}
