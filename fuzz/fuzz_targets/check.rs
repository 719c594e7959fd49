//! Resolve and every check on arbitrary plans, and both renderings of their diagnostics.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let c = netc::check_text("fuzz.netc", &text);
    let _ = netc::render::json(&c.diags, &c.plan.sources);
    let _ = netc::render::human(&c.diags, &c.plan.sources, false, 80);
});
