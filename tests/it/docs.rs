//! Every example in docs/ and grammar/ parses and checks, so the docs cannot rot.

use super::root;

/// ```netc blocks of a Markdown file, or the example section of the EBNF.
fn examples(path: &str) -> Vec<(usize, String)> {
    let text = std::fs::read_to_string(root().join(path)).unwrap();
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start_matches("(* ").trim();
        match &mut current {
            None if trimmed == "```netc" => current = Some((i + 1, String::new())),
            Some(_) if trimmed == "```" => out.push(current.take().unwrap()),
            Some((_, body)) => {
                body.push_str(line.strip_prefix("   ").unwrap_or(line));
                body.push('\n');
            }
            None => {}
        }
    }
    out
}

fn assert_examples_check(path: &str) {
    let ex = examples(path);
    assert!(!ex.is_empty(), "{path} has no ```netc examples");
    for (line, body) in ex {
        let c = netc::check_text(&format!("{path}:{line}"), &body);
        let errors: Vec<_> = c.diags.iter().filter(|d| d.is_error()).collect();
        assert!(
            errors.is_empty(),
            "{path}:{line}: {}",
            netc::render::human(&c.diags, &c.plan.sources, false, 100)
        );
    }
}

#[test]
fn language_guide_examples() {
    assert_examples_check("docs/language.md");
}

#[test]
fn grammar_examples() {
    assert_examples_check("grammar/netc.ebnf");
}

#[test]
fn query_doc_examples() {
    assert_examples_check("docs/queries.md");
}
