//! Every external command netc runs goes through here, and nothing else spawns a process.
//!
//! - **A time limit.** A command that runs past it is killed (its whole process group) and the
//!   run is a coded error ([`R001`]), never a hang.
//! - **Bounded output.** What a command prints is read up to a cap; more is [`R003`].
//! - **Nothing outlives netc.** Each command runs in a process group of its own and gets
//!   `PR_SET_PDEATHSIG(SIGKILL)`: if netc dies, even by SIGKILL, the kernel kills it. SIGTERM,
//!   SIGINT and SIGHUP are taken by one thread ([`install_signal_handling`]) that kills every
//!   live command, deletes every network namespace and temporary directory netc made, and
//!   exits. What a SIGKILL leaves behind (a namespace's mount, a temporary directory) carries
//!   netc's process id in its name, and [`sweep_stale`] removes it on the next start once that
//!   process is gone.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The stable codes of the errors of external commands (listed in docs/reliability.md).
pub const R001: &str = "R001";
pub const R002: &str = "R002";
pub const R003: &str = "R003";

/// The default time limit of a command.
pub const DEFAULT_LIMIT: Duration = Duration::from_secs(120);
/// The default cap on what a command prints (each of stdout and stderr).
pub const DEFAULT_OUTPUT_CAP: usize = 1 << 30;

#[derive(Debug)]
pub enum ExecError {
    /// R002: the program could not be started (missing, not executable).
    Spawn { program: String, error: String },
    /// R001: it ran past its time limit and was killed.
    Timeout { program: String, limit: Duration },
    /// R003: it printed more than the cap.
    TooMuchOutput { program: String, cap: usize },
}

impl std::fmt::Display for ExecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExecError::Spawn { program, error } => {
                write!(f, "[{R002}] cannot run `{program}`: {error}")
            }
            ExecError::Timeout { program, limit } => write!(
                f,
                "[{R001}] `{program}` ran longer than its limit of {} s and was stopped",
                limit.as_secs_f64()
            ),
            ExecError::TooMuchOutput { program, cap } => write!(
                f,
                "[{R003}] `{program}` printed more than {} MiB and was stopped",
                cap / (1024 * 1024)
            ),
        }
    }
}

impl std::error::Error for ExecError {}

/// What a finished command gave.
#[derive(Debug)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Output {
    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// stdout and stderr, lossily decoded and trimmed, for messages.
    pub fn said(&self) -> String {
        let out = String::from_utf8_lossy(&self.stdout);
        let err = String::from_utf8_lossy(&self.stderr);
        let both = format!("{} {}", out.trim(), err.trim());
        crate::diag::printable(both.trim())
    }
}

/// The state the signal thread cleans up: live process groups, namespaces, directories.
#[derive(Default)]
struct Live {
    groups: Vec<i32>,
    namespaces: Vec<String>,
    dirs: Vec<PathBuf>,
}

static LIVE: Mutex<Live> = Mutex::new(Live {
    groups: Vec::new(),
    namespaces: Vec::new(),
    dirs: Vec::new(),
});

fn live() -> std::sync::MutexGuard<'static, Live> {
    LIVE.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Prepare a command: its own process group, killed when netc dies, no inherited stdin.
fn prepare(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::setpgid(0, 0);
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
            Ok(())
        });
    }
}

fn program_of(cmd: &Command) -> String {
    let mut words = vec![cmd.get_program().to_string_lossy().into_owned()];
    // `ip netns exec NS PROGRAM ...` is named by its program.
    let args: Vec<String> = cmd
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    if words[0] == "ip" && args.len() > 3 && args[0] == "netns" && args[1] == "exec" {
        words = vec![args[3].clone()];
    }
    crate::diag::printable(&words.join(" "))
}

/// Run `cmd` to its end, with `stdin` written to it, within `limit`; stdout and stderr are
/// kept up to `DEFAULT_OUTPUT_CAP` each.
pub fn run(cmd: &mut Command, stdin: Option<&[u8]>, limit: Duration) -> Result<Output, ExecError> {
    run_capped(cmd, stdin, limit, DEFAULT_OUTPUT_CAP)
}

/// [`run`] with a given output cap.
pub fn run_capped(
    cmd: &mut Command,
    stdin: Option<&[u8]>,
    limit: Duration,
    cap: usize,
) -> Result<Output, ExecError> {
    let program = program_of(cmd);
    prepare(cmd);
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| ExecError::Spawn {
        program: program.clone(),
        error: e.to_string(),
    })?;
    let pid = child.id() as i32;
    live().groups.push(pid);
    let over = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        let over = over.clone();
        std::thread::spawn(move || {
            let mut kept = Vec::new();
            if let Some(mut pipe) = pipe {
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    match pipe.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) if kept.len() + n > cap => {
                            over.store(true, std::sync::atomic::Ordering::Relaxed);
                            // SAFETY: kill(2) on the command's own process group.
                            unsafe { libc::kill(-pid, libc::SIGKILL) };
                            break;
                        }
                        Ok(n) => kept.extend_from_slice(&buf[..n]),
                    }
                }
            }
            kept
        })
    };
    let out = reader(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = reader(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let writer = match (stdin, child.stdin.take()) {
        (Some(data), Some(mut pipe)) => {
            let data = data.to_vec();
            Some(std::thread::spawn(move || {
                let _ = pipe.write_all(&data);
            }))
        }
        _ => None,
    };
    let deadline = Instant::now() + limit;
    let mut pause = Duration::from_millis(1);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() >= deadline => break None,
            Ok(None) => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(25));
            }
            Err(_) => break None,
        }
    };
    // The whole group goes, whatever the command left running.
    // SAFETY: kill(2) on the command's own process group.
    unsafe { libc::kill(-pid, libc::SIGKILL) };
    let status = match status {
        Some(s) => s,
        None => {
            let _ = child.wait();
            live().groups.retain(|&g| g != pid);
            return Err(ExecError::Timeout { program, limit });
        }
    };
    live().groups.retain(|&g| g != pid);
    if let Some(w) = writer {
        let _ = w.join();
    }
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    if over.load(std::sync::atomic::Ordering::Relaxed) {
        return Err(ExecError::TooMuchOutput { program, cap });
    }
    Ok(Output {
        status,
        stdout,
        stderr,
    })
}

/// A long-running command (a daemon started with `--nofork`): killed, whole group, when
/// dropped, and by the signal thread.
pub struct Daemon {
    child: std::process::Child,
}

impl Daemon {
    pub fn spawn(cmd: &mut Command) -> Result<Daemon, ExecError> {
        let program = program_of(cmd);
        prepare(cmd);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = cmd.spawn().map_err(|e| ExecError::Spawn {
            program,
            error: e.to_string(),
        })?;
        live().groups.push(child.id() as i32);
        Ok(Daemon { child })
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let pid = self.child.id() as i32;
        // SAFETY: kill(2) on the daemon's own process group.
        unsafe { libc::kill(-pid, libc::SIGKILL) };
        let _ = self.child.wait();
        live().groups.retain(|&g| g != pid);
    }
}

/// A private network namespace named `netc-KIND-PID-...`, deleted when dropped (with every
/// process still in it), by the signal thread, or by the next run's [`sweep_stale`].
pub struct Namespace {
    pub name: String,
}

const IP_LIMIT: Duration = Duration::from_secs(30);

impl Namespace {
    pub fn new(kind: &str) -> Result<Namespace, String> {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let k = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("netc-{kind}-{}-{k}", std::process::id());
        // Registered first: a signal during `ip netns add` still removes it.
        live().namespaces.push(name.clone());
        let ns = Namespace { name };
        let o = run(
            Command::new("ip").args(["netns", "add", &ns.name]),
            None,
            IP_LIMIT,
        )
        .map_err(|e| e.to_string())?;
        if !o.success() {
            return Err(format!(
                "cannot make a network namespace (root and iproute2 needed): {}",
                o.said()
            ));
        }
        Ok(ns)
    }

    /// `ip netns exec NAME PROGRAM ARGS...`
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        remove_namespace(&self.name);
        live().namespaces.retain(|n| *n != self.name);
    }
}

fn remove_namespace(name: &str) {
    // Processes left in it (a daemon's children) go first, or its mount would stay busy.
    if let Ok(o) = run(
        Command::new("ip").args(["netns", "pids", name]),
        None,
        IP_LIMIT,
    ) {
        for pid in String::from_utf8_lossy(&o.stdout)
            .split_whitespace()
            .filter_map(|p| p.parse::<i32>().ok())
        {
            // SAFETY: kill(2) of a process inside netc's own namespace.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
    let _ = run(
        Command::new("ip").args(["netns", "del", name]),
        None,
        IP_LIMIT,
    );
}

/// A fresh private temporary directory named `netc-KIND-PID-...` (mode 0700), removed when
/// dropped, by the signal thread, or by the next run's [`sweep_stale`].
pub struct TempDir {
    dir: PathBuf,
}

impl TempDir {
    pub fn new(kind: &str) -> std::io::Result<TempDir> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("netc-{kind}-{}-", std::process::id()))
            .tempdir()?
            .keep();
        live().dirs.push(dir.clone());
        Ok(TempDir { dir })
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        live().dirs.retain(|d| *d != self.dir);
    }
}

/// SIGTERM, SIGINT and SIGHUP end netc through one thread that first kills every live
/// command, deletes every namespace and temporary directory, then exits with 128 + the
/// signal. Called once, before any other thread starts (the signals are blocked in every
/// thread; commands start with their signal mask cleared).
pub fn install_signal_handling() {
    // SAFETY: signal mask manipulation before any other thread exists.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
            libc::sigaddset(&mut set, s);
        }
        if libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
            return;
        }
        let set = SigSet(set);
        std::thread::spawn(move || {
            let set = set;
            let mut sig: libc::c_int = 0;
            if libc::sigwait(&set.0, &mut sig) == 0 {
                clean_up();
                libc::_exit(128 + sig);
            }
        });
    }
}

struct SigSet(libc::sigset_t);
// SAFETY: a sigset_t is plain data.
unsafe impl Send for SigSet {}

/// Kill every live command, delete every namespace and temporary directory netc made.
pub fn clean_up() {
    let (groups, namespaces, dirs) = {
        let mut l = live();
        (
            std::mem::take(&mut l.groups),
            std::mem::take(&mut l.namespaces),
            std::mem::take(&mut l.dirs),
        )
    };
    for g in groups {
        // SAFETY: kill(2) on a process group netc started.
        unsafe { libc::kill(-g, libc::SIGKILL) };
    }
    for n in namespaces {
        remove_namespace(&n);
    }
    for d in dirs {
        let _ = std::fs::remove_dir_all(d);
    }
    // And whatever was being made at the moment of the signal (a namespace whose `ip netns
    // add` was running, a directory just created): everything named after this process.
    let me = std::process::id() as i32;
    sweep(|pid| pid == me);
}

/// The process id in a name netc gives its namespaces and temporary directories
/// (`netc-KIND-PID-...`).
fn owner_pid(name: &str) -> Option<i32> {
    let rest = name.strip_prefix("netc-")?;
    let mut parts = rest.splitn(3, '-');
    let kind = parts.next()?;
    if kind.is_empty() || !kind.bytes().all(|b| b.is_ascii_lowercase()) {
        return None;
    }
    let pid = parts.next()?;
    parts.next()?;
    if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok()
}

fn is_alive(pid: i32) -> bool {
    // SAFETY: kill(2) with signal 0 only asks whether the process exists.
    pid > 0
        && (unsafe { libc::kill(pid, 0) } == 0
            || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH))
}

/// Remove what netc processes that are gone left behind: their network namespaces (and any
/// process still in them) and their temporary directories. Returns what was removed.
pub fn sweep_stale() -> Vec<String> {
    sweep(|pid| !is_alive(pid))
}

/// Remove the namespaces and temporary directories netc names after a process id for which
/// `stale` holds.
fn sweep(stale: impl Fn(i32) -> bool) -> Vec<String> {
    let mut removed = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/run/netns") {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if owner_pid(&name).is_some_and(&stale) {
                remove_namespace(&name);
                removed.push(name);
            }
        }
    }
    let tmp = std::env::temp_dir();
    if let Ok(entries) = std::fs::read_dir(&tmp) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
            if is_dir && owner_pid(&name).is_some_and(&stale) {
                let _ = std::fs::remove_dir_all(tmp.join(&name));
                removed.push(name);
            }
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_past_its_limit_is_stopped_with_its_children() {
        let t = Instant::now();
        let e = run(
            Command::new("sh").args(["-c", "sleep 30 & sleep 30"]),
            None,
            Duration::from_millis(300),
        )
        .unwrap_err();
        assert!(matches!(e, ExecError::Timeout { .. }), "{e}");
        assert!(e.to_string().starts_with("[R001]"), "{e}");
        assert!(t.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn output_past_the_cap_is_an_error() {
        let e = run_capped(
            Command::new("sh").args(["-c", "yes"]),
            None,
            Duration::from_secs(20),
            1 << 20,
        )
        .unwrap_err();
        assert!(matches!(e, ExecError::TooMuchOutput { .. }), "{e}");
    }

    #[test]
    fn stdin_and_output_round_trip() {
        let data = vec![b'x'; 300_000];
        let o = run(Command::new("cat").arg("-"), Some(&data), DEFAULT_LIMIT).unwrap();
        assert!(o.success());
        assert_eq!(o.stdout, data);
        let e = run(
            &mut Command::new("/nonexistent/program"),
            None,
            DEFAULT_LIMIT,
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("[R002]"), "{e}");
    }

    #[test]
    fn owner_pids_are_read_from_netc_names_only() {
        assert_eq!(owner_pid("netc-verify-123-0-1"), Some(123));
        assert_eq!(owner_pid("netc-fw-77-x"), Some(77));
        assert_eq!(owner_pid("netc-verify-12a-0"), None);
        assert_eq!(owner_pid("other-verify-1-2"), None);
        assert_eq!(owner_pid("netc-1-2-3"), None);
    }
}
