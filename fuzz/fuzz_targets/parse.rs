//! The lexer and parser on arbitrary text: never a panic, diagnostics always inside the text.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (_, diags) = netc::syntax::parser::parse(netc::diag::FileId(0), &text);
    for d in diags {
        if let Some(l) = d.primary {
            assert!(l.span.start <= l.span.end && l.span.end as usize <= text.len());
        }
    }
});
