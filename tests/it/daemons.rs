//! Running the real ufw and firewalld inside a test namespace, on private copies of their
//! configuration (and, for firewalld, a private D-Bus).

use std::path::Path;
use std::process::Command;

/// Run a shell command; its stdout. Fails the test when the command fails.
pub fn sh(cmd: &str) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .output()
        .expect("sh runs");
    assert!(
        out.status.success(),
        "`{cmd}` failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Install the generated user.rules into a private ufw data dir and enable ufw in `ns`.
pub fn start_ufw(ns: &str, generated: &Path) {
    let data = generated.join("datadir");
    let etc = data.join("etc");
    sh(&format!("mkdir -p {0}/default {1}/lib/ufw && cp -r /etc/ufw {0}/ufw && cp /etc/default/ufw {0}/default/ufw", etc.display(), data.display()));
    for f in ["user.rules", "user6.rules"] {
        std::fs::copy(generated.join(f), etc.join("ufw").join(f)).unwrap();
    }
    sh(&format!("chmod -R go-w {}", data.display()));
    sh(&format!(
        "ip netns exec {ns} ufw --rootdir=/ --datadir={} --force enable",
        data.display()
    ));
}

/// Run firewalld in `ns` on a private system bus, with the generated zone and ipsets as its
/// whole system configuration. Its config is checked first: firewalld falls back to its stock
/// configuration, silently, when ours is bad.
pub fn start_firewalld(ns: &str, generated: &Path) {
    let sys = generated.join("system-config");
    let bus = generated.join("bus");
    sh(&format!(
        "mkdir -p {0}/services {0}/policies {0}/helpers {0}/icmptypes && cp -r {1}/zones {1}/ipsets {0}/ && (! [ -d {1}/services ] || cp -r {1}/services/. {0}/services/) && (! [ -d {1}/policies ] || cp -r {1}/policies/. {0}/policies/) && cp /etc/firewalld/firewalld.conf {0}/",
        sys.display(),
        generated.display()
    ));
    let check = Command::new("firewall-offline-cmd")
        .arg("--system-config")
        .arg(&sys)
        .arg("--check-config")
        .output()
        .unwrap();
    assert!(
        check.status.success() && check.stdout.is_empty() && check.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let conf = netc::readback::private_bus_conf(&bus).expect("dbus-daemon's system.conf");
    std::fs::write(generated.join("bus.conf"), conf).unwrap();
    let env = format!("DBUS_SYSTEM_BUS_ADDRESS=unix:path={}", bus.display());
    sh(&format!(
        "ip netns exec {ns} dbus-daemon --config-file={} --nofork --nopidfile >{}/dbus.log 2>&1 &",
        generated.join("bus.conf").display(),
        generated.display()
    ));
    for _ in 0..100 {
        if bus.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    sh(&format!("{env} ip netns exec {ns} firewalld --nofork --nopid --system-config {} --log-target console >{}/firewalld.log 2>&1 &", sys.display(), generated.display()));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "{env} ip netns exec {ns} firewall-cmd --get-active-zones"
            ))
            .output()
            .unwrap();
        if String::from_utf8_lossy(&out.stdout)
            .lines()
            .any(|l| l.trim() == "netc")
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "firewalld did not come up with zone netc: {}",
            std::fs::read_to_string(generated.join("firewalld.log")).unwrap_or_default()
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}
