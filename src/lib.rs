//! netc, the network plan compiler.
//!
//! The pipeline runs one way: `syntax` (text to tree) → `resolve` (tree to model, `ir`) →
//! `check` (model to findings and a [`check::PlanInfo`]) → `query` and `targets` (which need
//! the `PlanInfo`, so an unchecked plan cannot be compiled). `cli` sits on top.

pub mod atoms;
pub mod check;
pub mod cli;
pub mod codes;
pub mod diag;
pub mod exec;
pub mod export;
pub mod generate;
pub mod ir;
pub mod memory;
pub mod names;
pub mod nat;
pub mod output;
pub mod platform;
pub mod policy;
pub mod query;
pub mod reach;
pub mod readback;
pub mod render;
pub mod report;
pub mod resolve;
pub mod space;
pub mod syntax;
pub mod targets;
pub mod topology;

use std::path::PathBuf;

/// A plan loaded, resolved and checked, with everything found on the way.
pub struct Checked {
    pub plan: ir::Plan,
    pub diags: Vec<diag::Diagnostic>,
    /// Present only when the plan has no errors.
    pub info: Option<check::PlanInfo>,
}

impl Checked {
    pub fn has_errors(&self) -> bool {
        self.diags.iter().any(|d| d.is_error())
    }

    /// The plan as a valid one, when it has no errors; the plan and its findings otherwise.
    pub fn valid(self) -> Result<Valid, Box<Checked>> {
        match self.info {
            Some(info) if !self.diags.iter().any(|d| d.is_error()) => Ok(Valid {
                plan: self.plan,
                info,
                warnings: self.diags,
            }),
            info => Err(Box::new(Checked { info, ..self })),
        }
    }
}

/// A plan without errors, with what the checks learnt of it: the only form of a plan that
/// queries, listings, diffs and targets take, so a plan's info cannot be paired with another
/// plan.
pub struct Valid {
    pub plan: ir::Plan,
    pub info: check::PlanInfo,
    pub warnings: Vec<diag::Diagnostic>,
}

/// Run the front and middle of the pipeline on the plan made of `roots` (files or directories).
pub fn load_and_check(roots: &[PathBuf]) -> Result<Checked, syntax::load::LoadError> {
    let loaded = syntax::load(roots)?;
    let name = roots
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" ");
    let label = roots
        .iter()
        .map(|p| {
            p.canonicalize()
                .ok()
                .and_then(|c| c.file_name().map(|n| n.to_string_lossy().into_owned()))
                .unwrap_or_else(|| p.display().to_string())
        })
        .collect::<Vec<_>>()
        .join(" ");
    let mut checked = check_loaded(name, loaded);
    checked.plan.label = label;
    Ok(checked)
}

/// The same from text, for tests and the fuzzer: one file named `name`.
pub fn check_text(name: &str, text: &str) -> Checked {
    let mut loaded = syntax::Loaded::default();
    let file = loaded
        .sources
        .add(name.to_string(), PathBuf::from(name), text.to_string());
    let (ast, diags) = syntax::parser::parse(file, text);
    loaded.files.push((file, ast));
    loaded.diags = diags;
    check_loaded(name.to_string(), loaded)
}

fn check_loaded(name: String, loaded: syntax::Loaded) -> Checked {
    let (plan, mut diags) = resolve::resolve(name, loaded);
    let resolve_errors = diags.iter().any(|d| d.is_error());
    let (info, check_diags) = check::run(&plan, resolve_errors);
    diags.extend(check_diags);
    // Checks that ask the finished analysis questions, as a user would.
    if let Some(info) = &info {
        check::name_servers::check(&plan, info, &mut diags);
    }
    check::acknowledged::apply(&plan.sources, &mut diags);
    diag::sort(&mut diags);
    Checked { plan, diags, info }
}
