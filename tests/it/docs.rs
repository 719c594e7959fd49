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

/// The README's sample session is what netc prints: each `$ netc ...` line of its first code
/// block is run, and the lines shown under it must be the output's lines (`...` stands for
/// any lines; without it at the start or end, the sample starts or ends where the output does).
#[test]
fn readme_samples_are_the_tools_output() {
    let text = std::fs::read_to_string(root().join("README.md")).unwrap();
    let block: Vec<&str> = text
        .split("```")
        .nth(1)
        .expect("a code block")
        .lines()
        .skip(1)
        .collect();
    let mut samples: Vec<(Vec<String>, Vec<&str>)> = Vec::new();
    for line in block {
        if let Some(cmd) = line.strip_prefix("$ netc ") {
            // Words, single-quoted strings as one.
            let args: Vec<String> = cmd
                .split('\'')
                .enumerate()
                .flat_map(|(i, part)| {
                    if i % 2 == 1 {
                        vec![part.to_string()]
                    } else {
                        part.split_whitespace().map(str::to_string).collect()
                    }
                })
                .collect();
            samples.push((args, Vec::new()));
        } else if let Some(last) = samples.last_mut() {
            last.1.push(line);
        }
    }
    assert!(samples.len() >= 2, "{samples:?}");
    for (args, shown) in samples {
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let (_, out, err) = super::run_netc(&argv);
        let printed = if out.trim().is_empty() { err } else { out };
        let lines: Vec<&str> = printed.lines().collect();
        // Segments between `...` lines, each found in order.
        let segments: Vec<Vec<&str>> = shown
            .split(|l| l.trim() == "...")
            .map(|s| s.to_vec())
            .collect();
        let mut at = 0;
        for (i, seg) in segments.iter().enumerate() {
            if seg.is_empty() {
                continue;
            }
            let found = (at..=lines.len().saturating_sub(seg.len()))
                .find(|&k| lines[k..k + seg.len()] == seg[..])
                .unwrap_or_else(|| {
                    panic!(
                        "`netc {}`: README shows\n{}\nnetc prints\n{printed}",
                        args.join(" "),
                        seg.join("\n")
                    )
                });
            if i == 0 {
                assert_eq!(
                    found,
                    0,
                    "`netc {}`: the README's sample starts elsewhere\n{printed}",
                    args.join(" ")
                );
            }
            at = found + seg.len();
        }
        if segments.last().is_some_and(|s| !s.is_empty()) {
            assert_eq!(
                at,
                lines.len(),
                "`netc {}`: netc prints more than the README shows\n{printed}",
                args.join(" ")
            );
        }
    }
}
