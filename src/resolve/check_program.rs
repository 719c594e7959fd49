//! Which programs a VIP's health check may run. keepalived runs checks itself, every few
//! seconds, on every member: a plan that could name any program would run it there. So:
//!
//! - keepalived runs every check as the unprivileged `keepalived_script` user
//!   (`enable_script_security`, `script_user keepalived_script` in every keepalived.conf
//!   netc writes; a host without that user refuses the config instead of running checks as
//!   root);
//! - the program must be on an allow-list that lives outside the plan: a few well-known check
//!   programs and directories of check scripts ([`DEFAULT_ALLOWED`]), plus what the command
//!   line adds (`--allow-check-program PATH`, or a directory ending in `/`), reviewed with
//!   the CI configuration, not with the plan;
//! - interpreters and program launchers (`sh`, `bash`, `python3`, `env`, `sudo`, ...) are
//!   refused wherever they are: they run whatever their arguments say;
//! - curl options that write or read local files (`-o`, `-K`, `-T`, ...) are refused.

use std::sync::OnceLock;

/// Check programs allowed without a flag: read-only probes of common services, and the
/// directories where packages and operators keep check scripts.
pub const DEFAULT_ALLOWED: &[&str] = &[
    "/usr/bin/pg_isready",
    "/usr/bin/curl",
    "/usr/bin/redis-cli",
    "/usr/bin/mysqladmin",
    "/usr/bin/dig",
    "/usr/lib/nagios/plugins/",
    "/usr/lib/monitoring-plugins/",
    "/usr/libexec/keepalived/",
    "/etc/keepalived/checks/",
];

static EXTRA: OnceLock<Vec<String>> = OnceLock::new();

/// Allow these programs (or directories, ending in `/`) too: once per process, from the
/// command line.
pub fn allow(programs: Vec<String>) {
    let _ = EXTRA.set(programs);
}

/// Programs that run their arguments as code, or start another program.
const INTERPRETERS: &[&str] = &[
    "sh",
    "bash",
    "dash",
    "zsh",
    "ksh",
    "mksh",
    "csh",
    "tcsh",
    "fish",
    "busybox",
    "env",
    "perl",
    "ruby",
    "node",
    "nodejs",
    "php",
    "lua",
    "tclsh",
    "wish",
    "awk",
    "gawk",
    "mawk",
    "nawk",
    "sed",
    "xargs",
    "find",
    "nohup",
    "timeout",
    "sudo",
    "su",
    "doas",
    "nice",
    "ionice",
    "setsid",
    "stdbuf",
    "chroot",
    "script",
    "expect",
    "watch",
    "flock",
    "runuser",
    "systemd-run",
    "nsenter",
    "unshare",
    "ip",
    "at",
    "batch",
    "crontab",
    "socat",
    "nc",
    "ncat",
    "netcat",
    "ssh",
    "scp",
    "rsync",
    "tee",
    "dd",
    "cp",
    "mv",
    "rm",
    "install",
    "ln",
    "chmod",
    "chown",
];

/// curl options that write a local file or read one as configuration or upload.
const CURL_FILE_OPTIONS: &[&str] = &[
    "-o",
    "-O",
    "-K",
    "-D",
    "-c",
    "-T",
    "-F",
    "--output",
    "--remote-name",
    "--remote-name-all",
    "--config",
    "--dump-header",
    "--cookie-jar",
    "--upload-file",
    "--form",
    "--trace",
    "--trace-ascii",
    "--libcurl",
    "--stderr",
    "--output-dir",
    "--create-dirs",
    "--netrc-file",
];

fn allowed(program: &str) -> bool {
    DEFAULT_ALLOWED
        .iter()
        .copied()
        .chain(EXTRA.get().into_iter().flatten().map(String::as_str))
        .any(|a| {
            if a.ends_with('/') {
                program.starts_with(a) && !program[a.len()..].contains('/')
            } else {
                program == a
            }
        })
}

/// Why a check command (its words, the program first: absolute, plain) may not run, as a
/// message, a label and a help line; `None` when it may.
pub fn refusal(words: &[&str]) -> Option<(String, &'static str, String)> {
    let program = words[0];
    let base = program.rsplit('/').next().unwrap_or(program);
    let interpreter = INTERPRETERS.contains(&base)
        || ["python", "perl", "ruby", "php", "lua", "pypy"]
            .iter()
            .any(|p| base.starts_with(p));
    if interpreter {
        return Some((
            format!("`{program}` runs whatever its arguments say: a check may not run an interpreter or a launcher"),
            "an interpreter",
            "name the check program itself (e.g. `/usr/bin/pg_isready -q`), or install a script under /etc/keepalived/checks/ and name that".into(),
        ));
    }
    if !allowed(program) {
        return Some((
            format!("`{program}` is not an allowed check program"),
            "not on the allow-list",
            format!(
                "checks run on every member, so their programs are allowed outside the plan: {} by default; add one with --allow-check-program {program} (or a directory ending in /)",
                DEFAULT_ALLOWED.join(", ")
            ),
        ));
    }
    if base == "curl" {
        if let Some(opt) = words[1..].iter().find(|w| {
            CURL_FILE_OPTIONS.iter().any(|o| {
                **w == *o
                    || (o.starts_with("--") && w.starts_with(&format!("{o}=")))
                    || (o.len() == 2
                        && !o.starts_with("--")
                        && w.starts_with('-')
                        && !w.starts_with("--")
                        && w[1..].contains(&o[1..]))
            })
        }) {
            return Some((
                format!("curl's `{opt}` writes or reads a local file: a check only asks"),
                "a file option",
                "check with `/usr/bin/curl -sf URL`".into(),
            ));
        }
    }
    None
}
