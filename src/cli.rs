//! The command line. Exit status: 0 success, 1 a plan error or a negative answer, 2 the command
//! itself could not run (bad flag, missing file, unwritable output).

use crate::{codes, render};
use clap::{Parser, Subcommand, ValueEnum};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(name = "netc", version, about = "netc, the network plan compiler")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Also allow `include` from this directory (includes stay under the plan's own
    /// directory otherwise); repeatable
    #[arg(long, global = true, value_name = "DIR")]
    pub include_from: Vec<PathBuf>,
    /// Also allow VIP checks to run this program (an absolute path, or a directory ending in
    /// `/`); repeatable. Checks run on every VIP member, so the allow-list lives outside the
    /// plan, e.g. `--allow-check-program /usr/local/bin/check_patroni`
    #[arg(long, global = true, value_name = "PATH")]
    pub allow_check_program: Vec<String>,
    /// The most netc reads of one file it did not write in this run (a file under --out, a
    /// drift directory's file, a RULESET), in bytes; more is the error R004, e.g.
    /// `--max-input-bytes 1073741824`
    #[arg(long, global = true, default_value_t = crate::output::DEFAULT_MAX_INPUT)]
    pub max_input_bytes: u64,
    /// The most memory netc may hold, in bytes; more ends it with the error R006 (nothing is
    /// changed), e.g. `--max-memory 8589934592` for a plan of a million flows
    #[arg(long, global = true, default_value_t = crate::memory::DEFAULT_MAX_MEMORY)]
    pub max_memory: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiagFormat {
    Human,
    Json,
    /// SARIF 2.1.0, for code scanning (GitHub shows the findings on the plan's lines)
    Sarif,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check a plan: every error and warning in one run
    Check {
        /// Plan files or directories of .netc files, e.g. `netc check network/plan`; with
        /// --in, files of that plan (as a pre-commit hook passes the files that changed)
        #[arg(required = true)]
        plan: Vec<PathBuf>,
        /// Check the whole plan PLAN (a directory or root file) that the given files belong
        /// to, e.g. `netc check --in network/plan network/plan/flows.netc`: a file of a split
        /// plan alone would miss the names its other files declare
        #[arg(long = "in", value_name = "PLAN")]
        within: Option<PathBuf>,
        /// `human` (on stderr, with excerpts of the plan), `json` (a netc-check/1 document) or `sarif`, e.g. `--format sarif > netc.sarif`
        #[arg(long, value_enum, default_value = "human")]
        format: DiagFormat,
        /// Exit 1 on warnings too, not only on errors (also `-D warnings`), e.g. `netc check
        /// --deny-warnings plan/` in CI
        #[arg(long)]
        deny_warnings: bool,
        /// `-D warnings`: the same as --deny-warnings, e.g. `netc check -D warnings plan/`
        #[arg(short = 'D', value_name = "warnings", value_parser = ["warnings"])]
        deny: Option<String>,
    },
    /// Compile the plan into configs under --out (or compare with --check)
    Compile {
        /// Plan files or directories of .netc files, e.g. `netc compile fixtures/datalyptica
        /// --out generated`
        #[arg(required = true)]
        plan: Vec<PathBuf>,
        /// The directory of the generated configs, e.g. `--out generated` (only files netc wrote there are replaced)
        #[arg(long)]
        out: PathBuf,
        /// Targets to render (default: all), comma separated, e.g. `--target nftables,bind`
        #[arg(long, value_enum, value_delimiter = ',')]
        target: Vec<crate::targets::TargetKind>,
        /// Write nothing; exit 1 with a unified diff when --out differs from the plan (the
        /// golden-file gate), e.g. `netc compile plan --out generated --check`
        #[arg(long)]
        check: bool,
        /// With --check: each differing file with its lines added and removed, not the diff,
        /// e.g. `--check --stat`
        #[arg(long, requires = "check")]
        stat: bool,
        /// With --check: only the names of the differing files, e.g. `--check --name-only |
        /// xargs git add`
        #[arg(long, requires = "check", conflicts_with = "stat")]
        name_only: bool,
        /// Refuse to write more than this many bytes in all (a limit against runaway plans),
        /// e.g. `--max-output-bytes 100000000`
        #[arg(long, default_value_t = crate::output::DEFAULT_MAX_OUTPUT)]
        max_output_bytes: u64,
        /// `text`, or `json`: what was written and removed, as data (netc-compile/1; with
        /// --check, netc-compile-check/1), e.g. `--format json | jq .written`
        #[arg(long, value_enum, default_value = "text")]
        format: OutFormat,
        /// nftables host rulesets: `inline` (each host file holds everything, `nft -f FILE`),
        /// or `shared` (the blocks hosts of one class share are written once, under
        /// nftables/blocks/, and included: `nft -I DIR -f FILE`), e.g. `--nft-blocks shared`
        #[arg(long, value_enum, default_value = "inline")]
        nft_blocks: crate::targets::NftBlocks,
    },
    /// Print a synthetic plan of the given size (for benchmarks)
    Generate(GenArgs),
    /// Print a shell completion script, e.g. `netc completions bash > /etc/bash_completion.d/netc`
    Completions {
        /// The shell: bash, zsh, fish, elvish or powershell, e.g. `netc completions zsh`
        shell: clap_complete::Shell,
    },
    /// Print netc's man page (roff), e.g. `netc man > netc.1 && man -l netc.1`
    Man,
    /// The topology as a graph (Graphviz DOT, or SVG through `dot`)
    Graph {
        /// The plan: a .netc file or a directory of them, e.g. `fixtures/datalyptica`
        plan: PathBuf,
        /// `dot`, or `svg` (through Graphviz `dot`), e.g. `--format svg > plan.svg`
        #[arg(long, value_enum, default_value = "dot")]
        format: GraphFormat,
    },
    /// One self-contained HTML report: topology, reachability matrix, address plan, DNS, VIPs, findings
    Report {
        /// The plan: a .netc file or a directory of them, e.g. `fixtures/datalyptica`
        plan: PathBuf,
        /// The HTML file to write, or `-` for standard output, e.g. `-o report.html`
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Print the resolved model
    Export {
        /// The plan: a .netc file or a directory of them, e.g. `fixtures/datalyptica`
        #[arg(required = true)]
        plan: Vec<PathBuf>,
        /// `json`, the only format (a netc-export/1 document), e.g. `netc export plan | jq
        /// '.plan.hosts[].name'`
        #[arg(long, value_enum, default_value = "json")]
        format: ExportFormat,
    },
    /// Explain a diagnostic code (E030, overlapping-subnets); `netc explain` lists them all
    Explain {
        /// A code or its name, e.g. `E030` or `overlapping-subnets`; none: list every code
        code: Option<String>,
        /// `text`, or `json` (a netc-explain/1 document), e.g. `netc explain --format json`
        #[arg(long, value_enum, default_value = "text")]
        format: OutFormat,
    },
    /// Ask `can SRC reach DST on SERVICE`: exit 0 yes or partly, 1 no, 2 bad question
    Query {
        /// The plan: a .netc file or a directory of them, e.g. `fixtures/datalyptica`
        plan: PathBuf,
        /// e.g. 'can processing reach catalog on postgres'
        question: String,
        /// `text`, or `json` (docs/json.md), e.g. `--format json | jq .`
        #[arg(long, value_enum, default_value = "text")]
        format: OutFormat,
    },
    /// Every tier, network and the internet that can reach DST, with the services
    WhoCanReach {
        /// The plan: a .netc file or a directory of them, e.g. `fixtures/datalyptica`
        plan: PathBuf,
        /// What is reached: a tier, host, VIP, network, VLAN, router, `internet`, an address or a CIDR, e.g. `catalog`
        dst: String,
        /// Only these services, e.g. `--on postgres` or `--on tcp/5432,udp/53` (default: any)
        #[arg(long)]
        on: Option<String>,
        /// `text`, or `json` (docs/json.md), e.g. `--format json | jq .`
        #[arg(long, value_enum, default_value = "text")]
        format: OutFormat,
    },
    /// Every tier, network and the internet that SRC can reach, with the services
    WhatCanReach {
        /// The plan: a .netc file or a directory of them, e.g. `fixtures/datalyptica`
        plan: PathBuf,
        /// The source: a tier, host, VIP, network, VLAN, router, `internet`, an address or a
        /// CIDR, e.g. `netc what-can-reach plan bastion` (as who-can-reach takes its
        /// destination) or `--from internet`
        #[arg(
            required_unless_present = "from",
            conflicts_with = "from",
            value_name = "SRC"
        )]
        src: Option<String>,
        /// The source, as a flag (the same as SRC), e.g. `--from internet`
        #[arg(long)]
        from: Option<String>,
        /// Only these services, e.g. `--on postgres` or `--on tcp/5432,udp/53` (default: any)
        #[arg(long)]
        on: Option<String>,
        /// `text`, or `json` (docs/json.md), e.g. `--format json | jq .`
        #[arg(long, value_enum, default_value = "text")]
        format: OutFormat,
    },
    /// The region by region table (tiers, VIPs, routers, networks, the internet) of permitted services
    Matrix {
        /// The plan: a .netc file or a directory of them, e.g. `fixtures/datalyptica`
        plan: PathBuf,
        /// `text`, `csv` or `json` (a netc-matrix/1 document), e.g. `--format csv > matrix.csv`
        #[arg(long, value_enum, default_value = "text")]
        format: MatrixFormat,
    },
    /// Load every compiled nftables ruleset of --out into a private network namespace, read it
    /// back from the kernel (`nft -j list ruleset`) and prove it equal to the plan's policy
    /// for its host or router; exit 0 equal, 1 different, 2 could not run
    Verify {
        /// The plan: a .netc file or a directory of them, e.g. `fixtures/datalyptica`
        plan: PathBuf,
        /// The directory of the generated configs, e.g. `--out generated` (only files netc wrote there are replaced)
        #[arg(long)]
        out: PathBuf,
        /// `text`, or `json` (docs/json.md), e.g. `--format json | jq .`
        #[arg(long, value_enum, default_value = "text")]
        format: OutFormat,
    },
    /// Compare what a live host or router runs (a saved `nft -j list ruleset`, or `-` for
    /// standard input; an `iptables-save` file, with `ip6tables-save` as a second file, as
    /// ufw hosts run; or a copy of a firewalld host's `/etc/firewalld` directory, which the
    /// real firewalld is run on in a private namespace) with what the plan says it must;
    /// tables netc did not write are evaluated too. Exit 0 equal, 1 drift, 2 could not read
    Drift {
        /// The plan: a .netc file or a directory of them, e.g. `fixtures/datalyptica`
        plan: PathBuf,
        /// The host or router the ruleset comes from, e.g. `--host core`
        #[arg(long)]
        host: String,
        /// `nft -j list ruleset` output, `iptables-save` output (`-`: standard input), or a
        /// firewalld configuration directory, e.g. `ssh core nft -j list ruleset | netc drift
        /// plan --host core -` or `netc drift plan --host db1 ./db1-etc-firewalld`
        ruleset: PathBuf,
        /// With an `iptables-save` file: the host's `ip6tables-save` output, e.g. `netc drift
        /// plan --host db1 v4.rules v6.rules`
        ruleset6: Option<PathBuf>,
        /// `text`, or `json` (docs/json.md), e.g. `--format json | jq .`
        #[arg(long, value_enum, default_value = "text")]
        format: OutFormat,
    },
    /// The access a change of plan opens and closes
    Diff {
        /// The old plan (with --git: the plan, compared with itself at REV), e.g. `netc diff
        /// old/plan new/plan` or `netc diff --git origin/main plan`
        old: PathBuf,
        /// The new plan (not with --git), e.g. `netc diff main/plan plan`
        new: Option<PathBuf>,
        /// Compare PLAN as it is with PLAN at git revision REV (a pull request's base), without
        /// a second checkout, e.g. `--git origin/main`
        #[arg(long, value_name = "REV")]
        git: Option<String>,
        /// Exit 1 when the new plan opens any access, reachable or configured (the CI gate),
        /// e.g. `netc diff --git origin/main plan --fail-on-new-access`
        #[arg(long)]
        fail_on_new_access: bool,
        /// With --fail-on-new-access: fail only on reachable access, not on access a firewall
        /// accepts but no path of the plan delivers, e.g. `--fail-on-new-access --reachable-only`
        #[arg(long, requires = "fail_on_new_access")]
        reachable_only: bool,
        /// Exit 1 on any change of access, opened or closed (as `git diff --exit-code`), e.g.
        /// `netc diff old new --exit-code`
        #[arg(long)]
        exit_code: bool,
        /// `text`, `json` (netc-diff/1), `html` or `sarif`, e.g. `--format html > change.html`
        #[arg(long, value_enum, default_value = "text")]
        format: DiffFormat,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    Text,
    Json,
    Html,
    /// SARIF 2.1.0: opened access at the rules of the new plan that open it (code scanning
    /// shows it on the pull request's lines), closed access as notes
    Sarif,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    Dot,
    Svg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MatrixFormat {
    Text,
    Csv,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    Json,
}

/// Run the command line; returns the exit status.
pub fn main() -> i32 {
    // A closed pipe (`netc compile --check | head`) ends netc quietly, as it ends grep and
    // diff, instead of a panic on the next write.
    // SAFETY: restoring the default disposition of one signal, before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    crate::exec::install_signal_handling();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    run(cli).code()
}

pub fn run(cli: Cli) -> Status {
    crate::syntax::load::allow_includes_from(cli.include_from);
    crate::output::set_max_input_bytes(cli.max_input_bytes);
    crate::memory::set_limit(cli.max_memory);
    crate::resolve::check_program::allow(cli.allow_check_program);
    match cli.command {
        Command::Check {
            plan,
            format,
            deny_warnings,
            deny,
            within,
        } => match within {
            None => check(&plan, format, deny_warnings || deny.is_some()),
            Some(whole) => check_within(&whole, &plan, format, deny_warnings || deny.is_some()),
        },
        Command::Export {
            plan,
            format: ExportFormat::Json,
        } => export(&plan),
        Command::Compile {
            plan,
            out,
            target,
            check,
            stat,
            name_only,
            max_output_bytes,
            format,
            nft_blocks,
        } => {
            let shape = match (stat, name_only) {
                (true, _) => CheckShape::Stat,
                (_, true) => CheckShape::Names,
                _ => CheckShape::Diff,
            };
            compile(
                &plan,
                &out,
                &target,
                check.then_some(shape),
                max_output_bytes,
                format,
                nft_blocks,
            )
        }
        Command::Explain { code, format } => explain(code.as_deref(), format),
        Command::Verify { plan, out, format } => verify(&plan, &out, format),
        Command::Drift {
            plan,
            host,
            ruleset,
            ruleset6,
            format,
        } => drift(&plan, &host, &ruleset, ruleset6.as_deref(), format),
        Command::Graph { plan, format } => graph(&plan, format),
        Command::Report { plan, output } => report(&plan, &output),
        Command::Generate(args) => generate(args),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "netc", &mut std::io::stdout());
            Status::Ok
        }
        Command::Man => {
            use clap::CommandFactory;
            let cmd = Cli::command();
            let mut out = std::io::stdout().lock();
            // One page: the command, its commands (described below, not in pages of their
            // own), exit status and examples, then a section per command with its arguments.
            let page = clap_mangen::Man::new(cmd.clone());
            let head = page
                .render_title(&mut out)
                .and_then(|_| page.render_name_section(&mut out))
                .and_then(|_| page.render_synopsis_section(&mut out))
                .and_then(|_| page.render_description_section(&mut out))
                .and_then(|_| page.render_options_section(&mut out));
            if head.is_err() {
                return Status::Failed;
            }
            let roff = |t: &str| {
                t.replace('\\', "\\\\")
                    .replace('-', "\\-")
                    .replace('\n', " ")
            };
            let _ = writeln!(out, ".SH COMMANDS");
            for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
                let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
                let _ = writeln!(
                    out,
                    ".TP\n\\fBnetc {}\\fR\n{} (see NETC {} below)",
                    sub.get_name(),
                    roff(&about),
                    sub.get_name().to_uppercase()
                );
            }
            let _ = write!(out, "{}", MAN_EXTRA);
            if page.render_version_section(&mut out).is_err() {
                return Status::Failed;
            }
            for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
                let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
                let _ = writeln!(
                    out,
                    ".SH \"NETC {}\"\n{}",
                    sub.get_name().to_uppercase(),
                    about.replace('\\', "\\\\").replace('\n', " ")
                );
                // Named `netc NAME` for the synopsis (clap names take static strings; this
                // runs once per process).
                let name: &'static str =
                    Box::leak(format!("netc {}", sub.get_name()).into_boxed_str());
                let page = clap_mangen::Man::new(sub.clone().name(name));
                if page.render_synopsis_section(&mut out).is_err()
                    || page.render_options_section(&mut out).is_err()
                {
                    return Status::Failed;
                }
            }
            Status::Ok
        }
        Command::Query {
            plan,
            question,
            format,
        } => query(&plan, &question, format),
        Command::WhoCanReach {
            plan,
            dst,
            on,
            format,
        } => listing(&plan, None, Some(&dst), on.as_deref(), format),
        Command::WhatCanReach {
            plan,
            src,
            from,
            on,
            format,
        } => {
            let from = src.or(from).unwrap_or_default();
            listing(&plan, Some(&from), None, on.as_deref(), format)
        }
        Command::Matrix { plan, format } => matrix(&plan, format),
        Command::Diff {
            old,
            new,
            git,
            fail_on_new_access,
            reachable_only,
            exit_code,
            format,
        } => {
            let gate = fail_on_new_access.then_some(!reachable_only);
            match (git, new) {
                (Some(rev), None) => diff_git(&rev, &old, gate, exit_code, format),
                (None, Some(new)) => diff(&old, &new, gate, exit_code, format),
                (Some(_), Some(_)) => {
                    usage_error("with --git REV, give one plan: it is compared with itself at REV")
                }
                (None, None) => {
                    usage_error("give the old and the new plan (or --git REV and one plan)")
                }
            }
        }
    }
}

fn color_stderr() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
}

/// The width text answers on standard output are wrapped to: `COLUMNS` when set, else the
/// terminal's when standard output is one; `None` (no wrapping) when it is a pipe or a file,
/// so that answers stay one line per fact for grep.
fn stdout_width() -> Option<usize> {
    if let Some(c) = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()) {
        return Some(c);
    }
    if !std::io::stdout().is_terminal() {
        return None;
    }
    terminal_columns(libc::STDOUT_FILENO)
}

/// The width of the terminal `fd` is, if it is one at least 20 columns wide.
fn terminal_columns(fd: libc::c_int) -> Option<usize> {
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one winsize into the struct passed; the fd may be anything,
    // and a failure (not a terminal) leaves the struct as it was.
    let ok = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut size) } == 0;
    (ok && size.ws_col >= 20).then_some(usize::from(size.ws_col))
}

/// Lines longer than `width` broken at spaces, each continuation indented four columns past
/// its line's own indentation (a word longer than the room stays whole).
fn wrap_lines(text: &str, width: Option<usize>) -> String {
    let Some(width) = width.filter(|&w| w >= 20) else {
        return text.to_string();
    };
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for line in text.split_inclusive('\n') {
        let body = line.strip_suffix('\n').unwrap_or(line);
        if body.chars().count() <= width {
            out.push_str(line);
            continue;
        }
        let indent = body.len() - body.trim_start_matches(' ').len();
        let cont = " ".repeat((indent + 4).min(width / 2));
        let mut current = " ".repeat(indent);
        let mut len = indent;
        let mut first = true;
        for word in body.trim_start_matches(' ').split(' ') {
            let w = word.chars().count();
            let empty = if first {
                len == indent
            } else {
                len == cont.len()
            };
            if !empty && len + 1 + w > width {
                out.push_str(current.trim_end());
                out.push('\n');
                current = cont.clone();
                len = cont.len();
                first = false;
            } else if !empty {
                current.push(' ');
                len += 1;
            }
            current.push_str(word);
            len += w;
        }
        out.push_str(current.trim_end());
        if line.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

/// The width diagnostics are wrapped to: `COLUMNS` when set, else the width of the terminal
/// standard error is, else 100.
fn width() -> usize {
    if let Some(c) = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()) {
        return c;
    }
    terminal_columns(libc::STDERR_FILENO).unwrap_or(100)
}

/// The exit status of every command (the README has the table, as grep and diff have one):
/// 0 yes, clean, equal, no change; 1 no, findings, differences, changes; 2 the command could
/// not run (a bad flag or question, an unreadable file, a plan with errors where a valid plan
/// is needed, a tool that failed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok = 0,
    Findings = 1,
    Failed = 2,
}

impl Status {
    /// 1 when `found`, else 0.
    pub fn findings(found: bool) -> Status {
        if found {
            Status::Findings
        } else {
            Status::Ok
        }
    }

    pub fn code(self) -> i32 {
        self as i32
    }
}

fn usage_error(message: impl std::fmt::Display) -> Status {
    eprintln!("error: {message}");
    Status::Failed
}

/// A command that could not run, told as `usage_error` does, or as a `netc-error/1` document
/// on standard output when JSON was asked for (so a JSON reader always gets JSON).
fn fail(json: bool, message: impl std::fmt::Display) -> Status {
    if json {
        json_out(
            "netc-error/1",
            &serde_json::json!({ "error": message.to_string() }),
        );
        Status::Failed
    } else {
        usage_error(message)
    }
}

/// Load and check a plan for a command that needs a valid one. Errors are printed (to
/// stderr for people; as a `netc-check/1` document on stdout when `json`), and the command
/// cannot run: `Err(Status::Failed)`. Warnings are left to `netc check`.
pub fn load(plan: &[PathBuf], json: bool) -> Result<crate::Valid, Status> {
    let checked = crate::load_and_check(plan).map_err(|e| fail(json, e))?;
    match checked.valid() {
        Ok(valid) => Ok(valid),
        Err(rejected) => {
            let errors: Vec<crate::diag::Diagnostic> = rejected
                .diags
                .iter()
                .filter(|d| d.is_error())
                .cloned()
                .collect();
            if json {
                println!(
                    "{}",
                    render::json(&rejected.plan.name, &errors, &rejected.plan.sources)
                );
            } else {
                eprint!(
                    "{}",
                    render::human(&errors, &rejected.plan.sources, color_stderr(), width())
                );
                eprintln!(
                    "{}: {}",
                    rejected.plan.name,
                    render::summary(&rejected.diags)
                );
            }
            Err(Status::Failed)
        }
    }
}

/// `check --in PLAN FILE...`: the whole plan, once every FILE is known to be one of its
/// files (a file outside it is a mistake of the hook's configuration: exit 2).
fn check_within(
    whole: &std::path::Path,
    files: &[PathBuf],
    format: DiagFormat,
    deny: bool,
) -> Status {
    let checked = match crate::load_and_check(&[whole.to_path_buf()]) {
        Ok(c) => c,
        Err(e) => return usage_error(e),
    };
    let members: Vec<PathBuf> = checked
        .plan
        .sources
        .files()
        .iter()
        .filter_map(|f| f.path.canonicalize().ok())
        .collect();
    for f in files {
        match f.canonicalize() {
            Ok(c) if members.contains(&c) => {}
            _ => {
                return usage_error(format!(
                    "{} is not a file of the plan {} (its files: the .netc files of the \
                     directory and what they include)",
                    f.display(),
                    whole.display()
                ))
            }
        }
    }
    report_check(checked, format, deny)
}

fn check(plan: &[PathBuf], format: DiagFormat, deny_warnings: bool) -> Status {
    let checked = match crate::load_and_check(plan) {
        Ok(c) => c,
        Err(e) => return usage_error(e),
    };
    // One file of several in a directory, with names it does not declare: perhaps a file of
    // a split plan, checked alone.
    let mut note = None;
    if let [file] = plan {
        let undefined = checked.diags.iter().any(|d| d.code == "E011");
        let dir = file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        let siblings = std::fs::read_dir(dir).map_or(0, |r| {
            r.flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "netc"))
                .count()
        });
        if undefined && file.is_file() && siblings > 1 && format == DiagFormat::Human {
            note = Some(format!(
                "note: {} is one of {siblings} .netc files in {}; if they are one plan, check it \
                 whole: `netc check {}` (or `netc check --in {} {}`)",
                file.display(),
                dir.display(),
                dir.display(),
                dir.display(),
                file.display()
            ));
        }
    }
    let status = report_check(checked, format, deny_warnings);
    if let Some(note) = note {
        eprintln!("{note}");
    }
    status
}

/// Print a checked plan's diagnostics in `format`; the status of `netc check`.
fn report_check(checked: crate::Checked, format: DiagFormat, deny_warnings: bool) -> Status {
    let mut out = std::io::stdout().lock();
    match format {
        DiagFormat::Json => {
            let _ = writeln!(
                out,
                "{}",
                render::json(&checked.plan.name, &checked.diags, &checked.plan.sources)
            );
        }
        DiagFormat::Sarif => {
            let _ = writeln!(
                out,
                "{}",
                render::sarif(&checked.diags, &checked.plan.sources)
            );
        }
        DiagFormat::Human => {
            let text = render::human(
                &checked.diags,
                &checked.plan.sources,
                color_stderr(),
                width(),
            );
            eprint!("{text}");
            let p = &checked.plan;
            let n = |count: usize, what: &str| {
                format!("{count} {what}{}", if count == 1 { "" } else { "s" })
            };
            let _ = writeln!(
                out,
                "{}: {} ({}, {}, {}, {}, {})",
                crate::diag::printable(&p.name),
                render::summary(&checked.diags),
                n(p.vlans.len(), "vlan"),
                n(p.tiers.len(), "tier"),
                n(p.hosts.len(), "host"),
                n(p.vips.len(), "vip"),
                n(p.flows.len(), "flow")
            );
        }
    }
    // Acknowledged warnings are listed but never fail the run.
    let open_warnings = checked.diags.iter().any(|d| d.acknowledged.is_none());
    let code = Status::findings(checked.has_errors() || deny_warnings && open_warnings);
    // The process ends right after: freeing a large plan's model piece by piece would only
    // add to the command's time (~5% at 100,000 flows).
    std::mem::forget(checked);
    code
}

fn export(plan: &[PathBuf]) -> Status {
    let v = match load(plan, true) {
        Ok(v) => v,
        Err(status) => return status,
    };
    json_out("netc-export/1", &crate::export::export(&v.plan, &v.info));
    Status::Ok
}

fn explain(code: Option<&str>, format: OutFormat) -> Status {
    let json = format == OutFormat::Json;
    let sev = |c: &codes::Code| match c.severity {
        crate::diag::Severity::Error => "error",
        crate::diag::Severity::Warning => "warning",
    };
    let entry = |c: &codes::Code| {
        serde_json::json!({
            "code": c.code, "name": c.name, "severity": sev(c), "summary": c.summary, "doc": c.doc,
        })
    };
    match code {
        None if json => {
            let all: Vec<_> = codes::ALL.iter().map(entry).collect();
            json_out("netc-explain/1", &serde_json::json!({ "codes": all }));
            Status::Ok
        }
        None => {
            for c in codes::ALL {
                println!("{}  {:<30} {}", c.code, c.name, c.summary);
            }
            Status::Ok
        }
        Some(q) => match codes::find(q) {
            Some(c) if json => {
                json_out(
                    "netc-explain/1",
                    &serde_json::json!({ "codes": [entry(c)] }),
                );
                Status::Ok
            }
            Some(c) => {
                println!(
                    "{} {} ({}): {}\n\n{}",
                    c.code,
                    c.name,
                    sev(c),
                    c.summary,
                    c.doc
                );
                Status::Ok
            }
            None => fail(
                json,
                format!("no diagnostic code `{q}`; `netc explain` lists them"),
            ),
        },
    }
}

/// A JSON document on standard output: `{"schema": SCHEMA, ...value's fields}`. Every
/// document netc prints names its schema (`schemas/` in the repository, `docs/json.md`).
fn json_out<T: serde::Serialize>(schema: &'static str, value: &T) {
    #[derive(serde::Serialize)]
    struct Doc<'a, T: serde::Serialize> {
        schema: &'static str,
        #[serde(flatten)]
        body: &'a T,
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&Doc {
            schema,
            body: value
        })
        .expect("answers serialize")
    );
}

fn query(plan: &std::path::Path, question: &str, format: OutFormat) -> Status {
    let json = format == OutFormat::Json;
    let (src, dst, svc) = match crate::query::parse_question(question) {
        Ok(q) => q,
        Err(e) => return fail(json, e),
    };
    let v = match load(&[plan.to_path_buf()], json) {
        Ok(v) => v,
        Err(status) => return status,
    };
    let answer = match crate::query::ask(&v.plan, &v.info, &src, &dst, svc.as_deref()) {
        Ok(a) => a,
        Err(e) => return fail(json, e),
    };
    let explanation = crate::query::explain::explain(&v.plan, &v.info, &answer);
    match format {
        OutFormat::Json => json_out("netc-query/1", &explanation),
        OutFormat::Text => print!(
            "{}",
            wrap_lines(&crate::query::explain::human(&explanation), stdout_width())
        ),
    }
    Status::findings(answer.verdict == crate::query::Verdict::No)
}

fn listing(
    plan: &std::path::Path,
    from: Option<&str>,
    to: Option<&str>,
    on: Option<&str>,
    format: OutFormat,
) -> Status {
    use crate::query::matrix;
    let json = format == OutFormat::Json;
    let v = match load(&[plan.to_path_buf()], json) {
        Ok(v) => v,
        Err(status) => return status,
    };
    let (p, info) = (&v.plan, &v.info);
    let fixed = match crate::query::resolve_target(p, info, from.or(to).unwrap_or_default()) {
        Ok(t) => (t.text, t.target),
        Err(e) => return fail(json, e),
    };
    let svc = match crate::query::resolve_services(p, on.unwrap_or("any")) {
        Ok(s) => s.0,
        Err(e) => return fail(json, e),
    };
    let cells: Vec<matrix::Cell> = if from.is_some() {
        matrix::what_can_reach(p, info, &fixed.1, &fixed.0, &svc)
    } else {
        matrix::who_can_reach(p, info, &fixed.1, &fixed.0, &svc)
    };
    match format {
        OutFormat::Json => json_out(
            "netc-reach/1",
            &serde_json::json!({
                "direction": if from.is_some() { "from" } else { "to" },
                "endpoint": fixed.0,
                "services": crate::space::Services(svc.clone()),
                "cells": cells,
            }),
        ),
        OutFormat::Text if cells.is_empty() => println!("nothing"),
        OutFormat::Text => print!("{}", wrap_lines(&matrix::text(&cells), stdout_width())),
    }
    // As `query`: 0 something reaches, 1 nothing does.
    Status::findings(cells.iter().all(|c| c.permitted.is_empty()))
}

fn matrix(plan: &std::path::Path, format: MatrixFormat) -> Status {
    use crate::query::matrix;
    let v = match load(&[plan.to_path_buf()], format == MatrixFormat::Json) {
        Ok(v) => v,
        Err(status) => return status,
    };
    let cells = match matrix::matrix(&v.plan, &v.info) {
        Ok(c) => c,
        Err(e) => return fail(format == MatrixFormat::Json, e),
    };
    match format {
        MatrixFormat::Json => json_out("netc-matrix/1", &serde_json::json!({ "cells": cells })),
        MatrixFormat::Csv => print!("{}", matrix::csv(&cells)),
        MatrixFormat::Text => print!("{}", matrix::text(&cells)),
    }
    Status::Ok
}

/// How long one git or tar command of `diff --git` may take.
const GIT_LIMIT: std::time::Duration = std::time::Duration::from_secs(120);

/// `diff --git REV PLAN`: REV is resolved to a commit id first (`git rev-parse --verify
/// --end-of-options REV^{commit}`, so no REV is ever read as an option), the plan's files at
/// that commit are taken out of git (`git archive` of the id) into a fresh private temporary
/// directory, compared with the plan as it is, and removed. What is printed names the
/// revision as given only when it is a plain ref name, else by its commit id.
fn diff_git(
    rev: &str,
    plan: &std::path::Path,
    gate: Option<bool>,
    any_change: bool,
    format: DiffFormat,
) -> Status {
    use std::process::Command;
    crate::exec::sweep_stale();
    let json = matches!(format, DiffFormat::Json | DiffFormat::Sarif);
    let shown_plan = crate::diag::printable_path(plan);
    let Ok(abs) = plan.canonicalize() else {
        return fail(json, format!("{shown_plan}: no such plan"));
    };
    let dir = if abs.is_dir() {
        abs.clone()
    } else {
        abs.parent()
            .map(std::path::Path::to_path_buf)
            .unwrap_or_default()
    };
    let git = |args: &[&std::ffi::OsStr]| {
        crate::exec::run(
            Command::new("git").arg("-C").arg(&dir).args(args),
            None,
            GIT_LIMIT,
        )
    };
    let root = match git(&["rev-parse".as_ref(), "--show-toplevel".as_ref()]) {
        Ok(o) if o.success() => PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()),
        Ok(_) => return fail(json, format!("{shown_plan}: not in a git repository")),
        Err(e) => return fail(json, e),
    };
    let Ok(rel) = abs.strip_prefix(root.canonicalize().unwrap_or(root.clone())) else {
        return fail(json, "the plan is outside its git repository");
    };
    let spec = format!("{rev}^{{commit}}");
    let commit = match git(&[
        "rev-parse".as_ref(),
        "--verify".as_ref(),
        "--quiet".as_ref(),
        "--end-of-options".as_ref(),
        spec.as_ref(),
    ]) {
        Ok(o) if o.success() => String::from_utf8_lossy(&o.stdout).trim().to_string(),
        Ok(_) => {
            return fail(
                json,
                format!(
                    "`{}` names no commit of this repository (see `git branch` and `git log`)",
                    crate::diag::printable(rev)
                ),
            )
        }
        Err(e) => return fail(json, e),
    };
    if commit.len() < 40 || !commit.bytes().all(|b| b.is_ascii_hexdigit()) {
        return fail(json, "git rev-parse gave no commit id");
    }
    let plain_ref = !rev.is_empty()
        && !rev.starts_with('-')
        && rev
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._/-~^@".contains(&b));
    let label = if plain_ref {
        rev.to_string()
    } else {
        commit[..12].to_string()
    };
    let tmp = match crate::exec::TempDir::new("git") {
        Ok(t) => t,
        Err(e) => return fail(json, format!("temporary directory: {e}")),
    };
    let mut archive_args: Vec<&std::ffi::OsStr> = vec![
        "archive".as_ref(),
        "--format=tar".as_ref(),
        commit.as_ref(),
        "--".as_ref(),
    ];
    archive_args.push(rel.as_os_str());
    let tar = match crate::exec::run_capped(
        Command::new("git").arg("-C").arg(&root).args(&archive_args),
        None,
        GIT_LIMIT,
        crate::output::max_input_bytes() as usize,
    ) {
        Ok(o) if o.success() => o.stdout,
        Ok(o) => {
            return fail(
                json,
                format!("git archive {label} -- {}: {}", rel.display(), o.said()),
            )
        }
        Err(e) => return fail(json, e),
    };
    match crate::exec::run(
        Command::new("tar").arg("-x").arg("-C").arg(tmp.path()),
        Some(&tar),
        GIT_LIMIT,
    ) {
        Ok(o) if o.success() => {}
        Ok(o) => {
            return fail(
                json,
                format!("cannot unpack the plan at {label}: {}", o.said()),
            )
        }
        Err(e) => return fail(json, e),
    }
    let shown = Some((format!("{}/", tmp.path().display()), format!("{label}:")));
    diff_shown(&tmp.path().join(rel), plan, gate, any_change, format, shown)
}

fn diff(
    old: &std::path::Path,
    new: &std::path::Path,
    gate: Option<bool>,
    any_change: bool,
    format: DiffFormat,
) -> Status {
    diff_shown(old, new, gate, any_change, format, None)
}

/// `diff`, with `rename` (a path prefix and what to show instead) applied to what it prints.
fn diff_shown(
    old: &std::path::Path,
    new: &std::path::Path,
    gate: Option<bool>,
    any_change: bool,
    format: DiffFormat,
    rename: Option<(String, String)>,
) -> Status {
    let shown = |t: String| match &rename {
        Some((from, to)) => t.replace(from.as_str(), to),
        None => t,
    };
    let json = matches!(format, DiffFormat::Json | DiffFormat::Sarif);
    let load_one = |p: &std::path::Path| load(&[p.to_path_buf()], json);
    let (a, b) = match (load_one(old), load_one(new)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(s), _) | (_, Err(s)) => return s,
    };
    let d = crate::query::diff::diff(&a.plan, &a.info, &b.plan, &b.info);
    match format {
        DiffFormat::Json => println!(
            "{}",
            shown(
                serde_json::to_string_pretty(&serde_json::json!({
                    "schema": "netc-diff/1",
                    "opened": d.opened,
                    "closed": d.closed,
                }))
                .expect("answers serialize")
            )
        ),
        // Closed access is located at the old plan's rules only when the old plan is a
        // file of the working tree (not a revision taken out of git).
        DiffFormat::Sarif => println!(
            "{}",
            render::diff_sarif(
                &d,
                rename.is_none(),
                &b.plan
                    .sources
                    .files()
                    .first()
                    .map(|f| f.name.clone())
                    .unwrap_or_default()
            )
        ),
        DiffFormat::Text => print!("{}", shown(crate::query::diff::human(&d))),
        DiffFormat::Html => print!(
            "{}",
            shown(crate::report::diff_html(
                &old.display().to_string(),
                &new.display().to_string(),
                &d
            ))
        ),
    }
    let changed = !d.opened.is_empty() || !d.closed.is_empty();
    Status::findings(
        gate.is_some_and(|configured_too| d.opens(configured_too)) || any_change && changed,
    )
}

fn compile(
    plan: &[PathBuf],
    out: &std::path::Path,
    kinds: &[crate::targets::TargetKind],
    check_only: Option<CheckShape>,
    max_output: u64,
    format: OutFormat,
    nft_blocks: crate::targets::NftBlocks,
) -> Status {
    let json = format == OutFormat::Json;
    let checked = match load(plan, json) {
        Ok(v) => v,
        Err(status) => return status,
    };
    // The process ends with this command: freeing a large plan and its policy piece by piece
    // costs a tenth of a second per 20,000 hosts for nothing (as `report_check` does).
    let checked = std::mem::ManuallyDrop::new(checked);
    let info = &checked.info;
    // Only the targets asked for are written; the others' files stay as they are.
    let some = (!kinds.is_empty()).then_some(kinds);
    let kinds = if kinds.is_empty() {
        crate::targets::TargetKind::all().to_vec()
    } else {
        kinds.to_vec()
    };
    // What the targets left here last time and ask for back (zone serials and files), read
    // without following links.
    let wanted: Vec<&str> = kinds
        .iter()
        .flat_map(|k| k.target().reads_back().iter().copied())
        .collect();
    let ctx = crate::targets::Context {
        previous: crate::output::read_back(out, &wanted),
        today: today(),
        nft_blocks,
    };
    // Files are streamed from the back ends to the checker or the writer: a large plan never
    // holds all of its output in memory, and nothing is moved into place before all is made.
    let plan = &checked.plan;
    if let Some(shape) = check_only {
        let mut checker = match crate::output::Checker::new_for(out, some) {
            Ok(c) => c,
            Err(e) => return fail(json, e),
        };
        if let Err(e) = crate::targets::render_to(plan, info, &kinds, &ctx, &mut checker) {
            return fail(json, e);
        }
        let (diff, n, stat) = checker.finish_stat();
        if json {
            let differ: Vec<_> = stat
                .iter()
                .map(|(p, added, removed)| {
                    serde_json::json!({
                        "path": p.display().to_string(), "added": added, "removed": removed,
                    })
                })
                .collect();
            json_out(
                "netc-compile-check/1",
                &serde_json::json!({
                    "out": out.display().to_string(),
                    "files": n,
                    "up_to_date": diff.is_empty(),
                    "differ": differ,
                }),
            );
            return Status::findings(!diff.is_empty());
        }
        if diff.is_empty() {
            println!("{}: {n} files up to date", out.display());
            return Status::Ok;
        }
        match shape {
            CheckShape::Diff => print!("{diff}"),
            CheckShape::Names => {
                for (p, _, _) in &stat {
                    println!("{}", p.display());
                }
            }
            CheckShape::Stat => {
                let width = stat
                    .iter()
                    .map(|s| s.0.display().to_string().len())
                    .max()
                    .unwrap_or(0);
                for (p, added, removed) in &stat {
                    println!("{:<width$}  +{added} -{removed}", p.display().to_string());
                }
                println!("{} files differ", stat.len());
            }
        }
        eprintln!(
            "{}: generated configs differ from the plan; run `netc compile` without --check",
            out.display()
        );
        return Status::Findings;
    }
    let mut staged = match crate::output::Staged::begin_for(out, some) {
        Ok(s) => s.with_limit(max_output),
        Err(e) => return fail(json, e),
    };
    if let Err(e) = crate::targets::render_to(plan, info, &kinds, &ctx, &mut staged) {
        staged.abort();
        return fail(json, e);
    }
    match staged.commit_summary() {
        Ok(summary) => {
            match format {
                OutFormat::Json => json_out(
                    "netc-compile/1",
                    &serde_json::json!({
                    "out": out.display().to_string(),
                    "files": summary.files,
                    "written": summary.written,
                    "removed": summary.removed,
                    }),
                ),
                OutFormat::Text => {
                    println!(
                        "{}: {} files, {} changed",
                        crate::diag::printable_path(out),
                        summary.files,
                        summary.written.len() + summary.removed.len()
                    );
                    if summary.files == 0 {
                        let names: Vec<String> = kinds
                            .iter()
                            .map(|k| {
                                <crate::targets::TargetKind as clap::ValueEnum>::to_possible_value(
                                    k,
                                )
                                .map_or_else(String::new, |v| v.get_name().to_string())
                            })
                            .collect();
                        eprintln!(
                            "note: the plan gives {} nothing to write (no host, router, zone, VIP or switch of {})",
                            names.join(", "),
                            if names.len() == 1 { "that kind" } else { "those kinds" }
                        );
                    }
                }
            }
            Status::Ok
        }
        Err(e) => fail(json, e),
    }
}

#[derive(clap::Args, Debug)]
pub struct GenArgs {
    /// VLANs, e.g. `--vlans 100`
    #[arg(long, default_value_t = 20)]
    vlans: usize,
    /// Tiers, e.g. `--tiers 500`
    #[arg(long, default_value_t = 50)]
    tiers: usize,
    /// Hosts, e.g. `--hosts 20000`
    #[arg(long, default_value_t = 1000)]
    hosts: usize,
    /// Services, e.g. `--services 300`
    #[arg(long, default_value_t = 50)]
    services: usize,
    /// Flow rules, e.g. `--flows 100000`
    #[arg(long, default_value_t = 1000)]
    flows: usize,
    /// The seed of the generator: the same seed gives the same plan, e.g. `--seed 7`
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The firewall of the generated hosts (`none`: only the router filters), e.g.
    /// `--host-firewall none`
    #[arg(long, value_enum, default_value = "nftables")]
    host_firewall: GenFirewall,
    /// Also a DNS zone, a VIP per tier and a switch per VLAN, so every target has work, e.g.
    /// `netc generate --hosts 200 --infra`
    #[arg(long)]
    infra: bool,
    /// `scattered`: hosts at random addresses of their VLANs, tiers on one or two shared
    /// VLANs, overlapping outside networks, port ranges (the layout of real networks), e.g.
    /// `--layout scattered`
    #[arg(long, value_enum, default_value = "contiguous")]
    layout: GenLayout,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum GenLayout {
    Contiguous,
    Scattered,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum GenFirewall {
    Nftables,
    Firewalld,
    Ufw,
    None,
}

fn generate(a: GenArgs) -> Status {
    use crate::ir::FirewallKind;
    if a.hosts / a.vlans.max(1) >= 1000 {
        return usage_error("at most 999 hosts per VLAN: raise --vlans");
    }
    let opts = crate::generate::GenOptions {
        vlans: a.vlans,
        tiers: a.tiers,
        hosts: a.hosts,
        services: a.services,
        flows: a.flows,
        seed: a.seed,
        host_firewall: match a.host_firewall {
            GenFirewall::Nftables => FirewallKind::Nftables,
            GenFirewall::Firewalld => FirewallKind::Firewalld,
            GenFirewall::Ufw => FirewallKind::Ufw,
            GenFirewall::None => FirewallKind::None,
        },
        infra: a.infra,
        scattered: a.layout == GenLayout::Scattered,
    };
    print!("{}", crate::generate::generate(&opts));
    Status::Ok
}

fn graph(plan: &std::path::Path, format: GraphFormat) -> Status {
    let checked = match load(&[plan.to_path_buf()], false) {
        Ok(c) => c,
        Err(status) => return status,
    };
    let cells = match crate::query::matrix::matrix(&checked.plan, &checked.info) {
        Ok(c) => c,
        Err(e) => return usage_error(e),
    };
    let dot = crate::report::dot(&checked.plan, &cells);
    match format {
        GraphFormat::Dot => print!("{dot}"),
        GraphFormat::Svg => match crate::report::svg(&dot) {
            Ok(svg) => println!("{svg}"),
            Err(e) => return usage_error(e),
        },
    }
    Status::Ok
}

/// `netc report`: for a plan with errors too (its report shows the findings; exit 1).
fn report(plan: &std::path::Path, output: &std::path::Path) -> Status {
    let checked = match crate::load_and_check(&[plan.to_path_buf()]) {
        Ok(c) => c,
        Err(e) => return usage_error(e),
    };
    let (html, status) = match checked.valid() {
        Ok(v) => {
            let (svg, why) = match crate::query::matrix::matrix(&v.plan, &v.info)
                .map_err(|e| e.to_string())
                .and_then(|cells| crate::report::svg(&crate::report::dot(&v.plan, &cells)))
            {
                Ok(svg) => (svg, String::new()),
                Err(e) => {
                    eprintln!("warning: {e}; the report has no topology picture");
                    (String::new(), e.to_string())
                }
            };
            let html = crate::report::html(&v.plan, Some(&v.info), &v.warnings, &svg, &why);
            (html, Status::Ok)
        }
        Err(rejected) => {
            eprintln!(
                "{}: {}; the report lists them",
                rejected.plan.name,
                render::summary(&rejected.diags)
            );
            let html = crate::report::html(&rejected.plan, None, &rejected.diags, "", "");
            (html, Status::Findings)
        }
    };
    if output == std::path::Path::new("-") {
        print!("{html}");
        return status;
    }
    let file = crate::targets::OutputFile {
        path: PathBuf::from(output.file_name().unwrap_or_default()),
        contents: html,
    };
    let dir = output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    match crate::output::write_one(dir, &file) {
        Ok(()) => {
            println!("{}", output.display());
            status
        }
        Err(e) => usage_error(e),
    }
}

#[derive(serde::Serialize)]
struct Verified {
    file: String,
    point: String,
    equal: bool,
    differences: Vec<VerifiedDifference>,
    /// What the reader did not evaluate in this ruleset, and why.
    not_evaluated: Vec<String>,
}

#[derive(serde::Serialize)]
struct VerifiedDifference {
    #[serde(flatten)]
    packet: crate::readback::Difference,
    plan: String,
}

fn verify(plan: &std::path::Path, out: &std::path::Path, format: OutFormat) -> Status {
    crate::exec::sweep_stale();
    let json = format == OutFormat::Json;
    use crate::readback::{self, Point};
    let checked = match load(&[plan.to_path_buf()], json) {
        Ok(c) => c,
        Err(status) => return status,
    };
    let (p, info) = (&checked.plan, &checked.info);
    let mut points: Vec<(String, Point)> = Vec::new();
    for (h, host) in p.hosts.iter().enumerate() {
        match host.firewall {
            crate::ir::FirewallKind::Nftables => {
                points.push((format!("nftables/hosts/{}.nft", host.name), Point::Host(h)))
            }
            crate::ir::FirewallKind::Firewalld => {
                points.push((format!("firewalld/{}", host.name), Point::Host(h)))
            }
            crate::ir::FirewallKind::Ufw => {
                points.push((format!("ufw/{}", host.name), Point::Host(h)))
            }
            crate::ir::FirewallKind::None => {}
        }
    }
    for (r, router) in p.routers.iter().enumerate() {
        points.push((
            format!("nftables/routers/{}.nft", router.name),
            Point::Router(r),
        ));
    }
    // Files under netc's directories that it did not write would be installed with the rest:
    // a tree holding one is never "equal".
    let foreign: Vec<String> = match crate::output::unlisted(out) {
        Ok(v) => v.iter().map(|p| crate::diag::printable_path(p)).collect(),
        Err(e) => return fail(json, e),
    };
    let mut results = Vec::new();
    for (i, (rel, point)) in points.iter().enumerate() {
        // The ruleset as the kernel holds it: nftables files loaded by nft, firewalld's and
        // ufw's configurations by the real tools. `None`: the file is not in DIR.
        // A router's translations, read and compared apart from its filter.
        let nat_diffs = std::cell::RefCell::new(Vec::new());
        let nat_split = |json: String| -> Result<String, readback::ReadError> {
            match point {
                Point::Router(r) => match readback::nat::split(p, *r, &json)? {
                    Some((rest, d)) => {
                        nat_diffs.borrow_mut().extend(d);
                        Ok(rest)
                    }
                    None => Ok(json),
                },
                Point::Host(_) => Ok(json),
            }
        };
        let output = matches!(point, Point::Host(h) if p.tiers[p.hosts[*h].tier].egress);
        let read = || -> Result<Option<readback::Ruleset>, String> {
            if let Some((kind, host)) = rel.split_once('/').filter(|(k, _)| *k != "nftables") {
                if std::fs::symlink_metadata(out.join(rel)).is_err() {
                    return Ok(None);
                }
                let rs = if kind == "firewalld" {
                    readback::load_firewalld_in_namespace(out, host, i)
                        .and_then(|json| readback::Ruleset::from_json_output(&json, output))
                } else {
                    readback::load_ufw_in_namespace(out, host, i)
                        .and_then(|(v4, v6)| readback::from_iptables_save_output(&v4, &v6, output))
                };
                return rs.map(Some).map_err(|e| format!("{rel}: {e}"));
            }
            let Some(text) = crate::output::read_safe(out, std::path::Path::new(rel))
                .map_err(|e| e.to_string())?
            else {
                return Ok(None);
            };
            let text =
                crate::readback::inline_blocks(out, &text).map_err(|e| format!("{rel}: {e}"))?;
            readback::load_in_namespace(&text, i)
                .and_then(nat_split)
                .and_then(|json| readback::Ruleset::from_json_output(&json, output))
                .map(Some)
                .map_err(|e| format!("{rel}: {e}"))
        };
        let (diffs, not_evaluated) = match read() {
            Ok(Some(rs)) => {
                let mut diffs = nat_diffs.take();
                diffs.extend(readback::verify(p, info, *point, &rs, 20));
                (diffs, rs.unmodelled().to_vec())
            }
            Ok(None) => {
                results.push(Verified {
                    file: rel.clone(),
                    point: point_name(p, *point),
                    equal: false,
                    differences: vec![],
                    not_evaluated: vec![],
                });
                continue;
            }
            Err(e) => return fail(json, e),
        };
        results.push(Verified {
            file: rel.clone(),
            point: point_name(p, *point),
            equal: diffs.is_empty(),
            not_evaluated,
            differences: diffs
                .into_iter()
                .map(|(packet, plan)| VerifiedDifference { packet, plan })
                .collect(),
        });
    }
    let all_equal = results.iter().all(|r| r.equal) && foreign.is_empty();
    match format {
        OutFormat::Json => json_out(
            "netc-verify/1",
            &serde_json::json!({ "equal": all_equal, "points": results, "not_written_by_netc": foreign }),
        ),
        OutFormat::Text => {
            for f in &foreign {
                println!("{f}: not written by netc (not in its manifest), under a directory netc owns: it would be installed with the rest; compile again to remove it");
            }
            for r in &results {
                for u in &r.not_evaluated {
                    println!("{}: not evaluated: {u}", r.file);
                }
                if r.equal {
                    println!("{}: equal to the plan ({})", r.file, r.point);
                } else if r.differences.is_empty() {
                    println!("{}: missing ({} has no ruleset)", r.file, r.point);
                } else {
                    println!("{}: differs from the plan ({})", r.file, r.point);
                    for d in &r.differences {
                        println!(
                            "  {} -> {} {}: the ruleset {} it; {}",
                            d.packet.src,
                            d.packet.dst,
                            d.packet.service,
                            if d.packet.ruleset_accepts {
                                "accepts"
                            } else {
                                "drops"
                            },
                            d.plan
                        );
                    }
                }
            }
        }
    }
    Status::findings(!all_equal)
}

fn point_name(plan: &crate::ir::Plan, point: crate::readback::Point) -> String {
    match point {
        crate::readback::Point::Host(h) => format!("host {}", plan.hosts[h].name),
        crate::readback::Point::Router(r) => format!("router {}", plan.routers[r].name),
    }
}

/// Today as YYYYMMDD (UTC): from `SOURCE_DATE_EPOCH` when it is set (reproducible builds),
/// else from the clock.
fn today() -> u32 {
    let secs = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.trim().parse::<i64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64)
        });
    // Days to a civil date (Howard Hinnant's algorithm).
    let z = secs.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    u32::try_from(year * 10_000 + month * 100 + day).unwrap_or(0)
}

fn drift(
    plan: &std::path::Path,
    name: &str,
    ruleset: &std::path::Path,
    ruleset6: Option<&std::path::Path>,
    format: OutFormat,
) -> Status {
    crate::exec::sweep_stale();
    let json = format == OutFormat::Json;
    use crate::readback::{self, Point};
    let checked = match load(&[plan.to_path_buf()], json) {
        Ok(c) => c,
        Err(status) => return status,
    };
    let (p, info) = (&checked.plan, &checked.info);
    let point = if let Some(h) = p.hosts.iter().position(|h| h.name == name) {
        Point::Host(h)
    } else if let Some(r) = p.routers.iter().position(|r| r.name == name) {
        Point::Router(r)
    } else {
        return fail(
            json,
            format!("`{name}` is not a host or router of the plan"),
        );
    };
    // A directory is a firewalld configuration (a copy of the host's `/etc/firewalld`): the
    // real firewalld, run on it in a private namespace, says what it means.
    let is_dir = std::fs::symlink_metadata(ruleset).is_ok_and(|m| m.is_dir());
    let text = if is_dir {
        match readback::load_firewalld_config(ruleset, std::path::Path::new(""), 0) {
            Ok(t) => t,
            Err(e) => return fail(json, format!("{}: {e}", ruleset.display())),
        }
    } else {
        match crate::output::read_input(ruleset) {
            Ok(t) => String::from_utf8_lossy(&t).into_owned(),
            Err(e) => return fail(json, e),
        }
    };
    // `nft -j` output is JSON; anything else is read as iptables-save output. A host that
    // filters egress is read on the output hook too.
    let output = matches!(point, Point::Host(h) if p.tiers[p.hosts[h].tier].egress);
    let mut nat_diffs = Vec::new();
    let rs = if text.trim_start().starts_with('{') {
        let text = match point {
            Point::Router(r) => match readback::nat::split(p, r, &text) {
                Ok(Some((rest, d))) => {
                    nat_diffs = d;
                    rest
                }
                Ok(None) => text,
                Err(e) => return fail(json, format!("{}: {e}", ruleset.display())),
            },
            Point::Host(_) => text,
        };
        readback::Ruleset::from_json_output(&text, output)
    } else {
        let v6 = match ruleset6.map(crate::output::read_input).transpose() {
            Ok(t) => t
                .map(|t| String::from_utf8_lossy(&t).into_owned())
                .unwrap_or_default(),
            Err(e) => return fail(json, e),
        };
        readback::from_iptables_save_output(&text, &v6, output)
    };
    let rs = match rs {
        Ok(r) => r,
        Err(e) => return fail(json, format!("{}: {e}", ruleset.display())),
    };
    let mut diffs = nat_diffs;
    diffs.extend(readback::verify(p, info, point, &rs, 20));
    let foreign = rs.foreign_tables();
    match format {
        OutFormat::Json => json_out(
            "netc-drift/1",
            &serde_json::json!({
                "point": point_name(p, point),
                "equal": diffs.is_empty(),
                "foreign_tables": foreign,
                "not_evaluated": rs.unmodelled(),
                "differences": diffs
                    .iter()
                    .map(|(packet, plan)| VerifiedDifference { packet: packet.clone(), plan: plan.clone() })
                    .collect::<Vec<_>>(),
            }),
        ),
        OutFormat::Text => {
            if !foreign.is_empty() {
                println!(
                    "tables netc did not write (evaluated with netc's): {}",
                    foreign.join(", ")
                );
            }
            for u in rs.unmodelled() {
                println!("not evaluated: {u}");
            }
            if diffs.is_empty() {
                println!(
                    "{}: what it runs is what the plan says",
                    point_name(p, point)
                );
            } else {
                println!("{}: drift from the plan", point_name(p, point));
                for (d, plan) in &diffs {
                    let by = d
                        .dropped_by
                        .as_ref()
                        .map(|b| format!(" (by {b})"))
                        .unwrap_or_default();
                    println!(
                        "  {} -> {} {}: the host {} it{by}; {plan}",
                        d.src,
                        d.dst,
                        d.service,
                        if d.ruleset_accepts {
                            "accepts"
                        } else {
                            "drops"
                        },
                    );
                }
            }
        }
    }
    Status::findings(!diffs.is_empty())
}

/// How `compile --check` shows a difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CheckShape {
    Diff,
    Stat,
    Names,
}

/// The man page's exit status and examples (roff).
const MAN_EXTRA: &str = r#".SH "EXIT STATUS"
The same for every command, as grep and git diff:
.TP
.B 0
yes, clean, equal, no change.
.TP
.B 1
no, findings, drift, changes (for \fBdiff\fR: with \fB\-\-exit\-code\fR, or new access with \fB\-\-fail\-on\-new\-access\fR), and errors of the plan for \fBcheck\fR.
.TP
.B 2
the command could not run: a bad flag or question, a missing file, an unusable output directory, a plan with errors (other commands than \fBcheck\fR), a limit (R001\-R006).
.SH EXAMPLES
.nf
netc check fixtures/datalyptica
netc query fixtures/datalyptica 'can processing reach catalog on postgres'
netc compile fixtures/datalyptica \-\-out out
netc compile fixtures/datalyptica \-\-out out \-\-check
netc verify fixtures/datalyptica \-\-out out
netc diff \-\-git origin/main fixtures/datalyptica \-\-fail\-on\-new\-access
nft \-j list ruleset | netc drift fixtures/datalyptica \-\-host pg01 \-
.fi
"#;
