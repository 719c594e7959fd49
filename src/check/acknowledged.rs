//! Acknowledged warnings, and W088 stale-ack.
//!
//! A comment `# netc-ack W082: legacy ERP, INC-1234` acknowledges the warnings of that code
//! whose primary label starts on the comment's line (a trailing comment), or on the next line
//! with a statement (a comment on a line of its own). An acknowledged warning is still
//! reported, in a short list with its reason, and `--deny-warnings` does not count it.
//! An acknowledgement that matches no warning, names an unknown code or an error, or gives
//! no reason is W088, itself never acknowledged.

use crate::diag::{Diagnostic, FileId, Sources, Span};

/// One `# netc-ack` comment.
#[derive(Debug)]
struct Ack {
    span: Span,
    /// The 1-based line it acknowledges (0: none follows).
    line: usize,
    code: String,
    reason: String,
}

const MARK: &str = "netc-ack";

/// Where a line's comment starts (a `#` outside a string), if it has one.
fn comment_start(line: &str) -> Option<usize> {
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            '#' if !in_string => return Some(i),
            _ => {}
        }
    }
    None
}

fn scan(sources: &Sources) -> Vec<Ack> {
    let mut acks = Vec::new();
    for (i, file) in sources.files().iter().enumerate() {
        let id = FileId(i as u32);
        // Acks on lines of their own, waiting for the next line with a statement.
        let mut pending: Vec<usize> = Vec::new();
        let mut offset = 0;
        for (n, line) in file.text.split('\n').enumerate() {
            let comment = comment_start(line);
            let code_part = &line[..comment.unwrap_or(line.len())];
            let has_code = !code_part.trim().is_empty();
            if has_code {
                for a in pending.drain(..) {
                    let a: &mut Ack = &mut acks[a];
                    a.line = n + 1;
                }
            }
            if let Some(c) = comment {
                let text = line[c + 1..].trim_start();
                if let Some(rest) = text.strip_prefix(MARK) {
                    let rest = rest.trim();
                    let (code, reason) = match rest.split_once(':') {
                        Some((code, reason)) => (code.trim(), reason.trim()),
                        None => (rest.split_whitespace().next().unwrap_or(""), ""),
                    };
                    let start = offset + c;
                    acks.push(Ack {
                        span: Span::new(id, start, offset + line.trim_end().len()),
                        line: if has_code { n + 1 } else { 0 },
                        code: code.to_string(),
                        reason: reason.to_string(),
                    });
                    if !has_code {
                        pending.push(acks.len() - 1);
                    }
                }
            }
            offset += line.len() + 1;
        }
    }
    acks
}

/// Mark the warnings the plan's acknowledgements match, and add W088 for the stale ones.
pub fn apply(sources: &Sources, diags: &mut Vec<Diagnostic>) {
    let acks = scan(sources);
    if acks.is_empty() {
        return;
    }
    let mut used = vec![false; acks.len()];
    for d in diags
        .iter_mut()
        .filter(|d| !d.is_error() && d.code != "W088")
    {
        let Some(primary) = &d.primary else { continue };
        let line = sources.location(primary.span).line;
        for (i, a) in acks.iter().enumerate() {
            if a.span.file == primary.span.file
                && a.line == line
                && a.code.eq_ignore_ascii_case(d.code)
                && !a.reason.is_empty()
            {
                d.acknowledged = Some(a.reason.clone());
                used[i] = true;
            }
        }
    }
    for (a, used) in acks.iter().zip(used) {
        if used {
            continue;
        }
        let known = crate::codes::find(&a.code);
        let (message, label) = match known {
            _ if a.code.is_empty() => ("this acknowledgement names no code".to_string(), "no code"),
            None => (
                format!("`{}` is not a diagnostic code", a.code),
                "unknown code",
            ),
            Some(c) if c.severity == crate::diag::Severity::Error => (
                format!("{} is an error: errors cannot be acknowledged", c.code),
                "an error",
            ),
            Some(c) if c.code == "W088" => (
                "W088 cannot be acknowledged".to_string(),
                "not acknowledged",
            ),
            Some(_) if a.reason.is_empty() => (
                format!("this acknowledgement of {} gives no reason", a.code),
                "no reason",
            ),
            Some(c) => (
                format!(
                    "nothing to acknowledge: no {} warning on {}",
                    c.code,
                    if a.line == 0 {
                        "a following line".to_string()
                    } else {
                        format!("line {}", a.line)
                    }
                ),
                "acknowledges nothing",
            ),
        };
        diags.push(
            Diagnostic::new(&crate::codes::W088, message)
                .with_primary(a.span, label)
                .with_help(format!(
                    "write `# {MARK} CODE: reason` on the warning's line or the line before it, \
                     or remove this comment"
                )),
        );
    }
}

// The codes this file emits, declared here (listed in `codes::ALL`).
pub const W088: crate::codes::Code = crate::codes::code!("W088", "stale-ack", Warning, "an acknowledgement that acknowledges nothing",
        "What it does: reports a `# netc-ack CODE: reason` comment that no warning of that code\n\
         on its line matches, that names an unknown code or an error (errors cannot be\n\
         acknowledged), or that gives no reason.\n\
         Why: an acknowledgement outlives the warning it was written for; left in place it would\n\
         silently acknowledge the next warning of that code on the line.\n\
         Example:\n    allow web -> db : any   # netc-ack W082: legacy ERP, INC-1234\n    # W088 when the rule no longer draws W082");
