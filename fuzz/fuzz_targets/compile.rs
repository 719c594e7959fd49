//! The whole pipeline: plans that check are compiled to every target and queried.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let c = netc::check_text("fuzz.netc", &text);
    let Some(info) = c.info.as_ref() else { return };
    let files = netc::targets::render(&c.plan, info, netc::targets::TargetKind::all(), &Default::default());
    netc::output::validate(&files).expect("generated paths are always plain and unique");
    let _ = netc::query::matrix::matrix(&c.plan, info);
    for t in c.plan.tiers.iter().take(2) {
        let _ = netc::query::ask(&c.plan, info, &t.name, "internet", None);
    }
});
