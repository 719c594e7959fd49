//! The DNS lab: the real `named` in a private network namespace, serving netc's BIND output
//! for the Datalyptica plan with its two views, queried with `dig` from an address of the
//! plan (the internal view) and from an address of the internet (the external view).

use super::targets::{can_netns, files_of, have, write_tree};
use super::{datalyptica, root};
use netc::targets::TargetKind;
use std::collections::BTreeSet;
use std::process::Command;

/// Answer lines (`owner TYPE data`, lowercase, one space) of one dig run of many questions.
fn answers(ns: &str, client: &str, questions: &[(String, String)]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for chunk in questions.chunks(100) {
        let mut cmd = Command::new("ip");
        let client_ns = format!("{ns}-c");
        cmd.args([
            "netns",
            "exec",
            &client_ns,
            "dig",
            "@10.10.0.53",
            "-b",
            client,
        ]);
        cmd.args(["+noall", "+answer", "+norecurse", "+tries=1", "+time=2"]);
        for (name, rtype) in chunk {
            cmd.arg(name).arg(rtype);
        }
        let o = cmd.output().unwrap();
        for l in String::from_utf8_lossy(&o.stdout).lines() {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() >= 5 {
                out.insert(format!("{} {} {}", f[0], f[3], f[4..].join(" ")).to_lowercase());
            }
        }
    }
    out
}

fn absolute(name: &str) -> String {
    format!("{}.", name.trim_end_matches('.')).to_lowercase()
}

#[test]
fn named_serves_each_view_what_the_plan_says() {
    if !have("named") || !have("dig") {
        assert!(
            std::env::var_os("NETC_REQUIRE_TOOLS").is_none(),
            "named and dig (bind9, bind9-dnsutils) are required"
        );
        return;
    }
    if !can_netns() {
        return;
    }
    let c = datalyptica();
    let plan = &c.plan;
    let info = c.info.as_ref().unwrap();
    let dir = root().join("target/it-dns-lab");
    let _ = std::fs::remove_dir_all(&dir);
    write_tree(&dir, &files_of(c, &[TargetKind::Bind]));
    let conf = dir.join("named.conf");
    std::fs::write(
        &conf,
        format!(
            "options {{ directory \"{0}/bind\"; pid-file \"{0}/named.pid\"; listen-on port 53 {{ 10.10.0.53; }}; \
             listen-on-v6 {{ none; }}; recursion no; dnssec-validation no; }};\n\
             include \"{0}/bind/named.conf.netc\";\n",
            dir.display()
        ),
    )
    .unwrap();
    let ns = format!("netc-dns-{}", std::process::id());
    let sh = |cmd: &str| super::daemons::sh(cmd);
    sh(&format!("ip netns add {ns} && ip netns add {ns}-c"));
    struct Gone(String);
    impl Drop for Gone {
        fn drop(&mut self) {
            let _ = Command::new("sh")
                .arg("-c")
                .arg(format!(
                    "ip netns pids {0} | xargs -r kill; sleep 0.2; ip netns del {0}; ip netns del {0}-c",
                    self.0
                ))
                .status();
        }
    }
    let _gone = Gone(ns.clone());
    // The server in one namespace; in another, joined by a veth pair, a client inside the
    // plan (app-catalog) and one on the internet (the server must not see them as its own
    // addresses: BIND's `localhost` ACL matches every address of the server).
    sh(&format!(
        "ip -n {ns} link set lo up && ip -n {ns}-c link set lo up && \
         ip link add ndns0 netns {ns} type veth peer name ndns1 netns {ns}-c && \
         ip -n {ns} addr add 10.10.0.53/32 dev ndns0 && ip -n {ns} link set ndns0 up && \
         ip -n {ns}-c addr add 10.20.10.99/32 dev ndns1 && ip -n {ns}-c addr add 198.51.100.7/32 dev ndns1 && \
         ip -n {ns}-c link set ndns1 up && \
         ip -n {ns} route add 10.20.10.99/32 dev ndns0 && ip -n {ns} route add 198.51.100.7/32 dev ndns0 && \
         ip -n {ns}-c route add 10.10.0.53/32 dev ndns1"
    ));
    let mut named = Command::new("ip")
        .args(["netns", "exec", &ns, "named", "-g", "-u", "root", "-c"])
        .arg(&conf)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let probe = ("datalyptica.local".to_string(), "SOA".to_string());
    let mut up = false;
    for _ in 0..100 {
        if !answers(&ns, "10.20.10.99", std::slice::from_ref(&probe)).is_empty() {
            up = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    if !up {
        let _ = named.kill();
        let o = named.wait_with_output().unwrap();
        panic!(
            "named did not answer: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    // Every record the plan implies, asked in each view.
    let questions: Vec<(String, String)> = info
        .dns
        .iter()
        .map(|r| (absolute(&r.fqdn), r.rtype.clone()))
        .collect();
    let expected = |r: &netc::check::DnsRecord| {
        let data = match r.rtype.as_str() {
            "A" | "AAAA" => r.data.join(" "),
            "TXT" => r
                .data
                .iter()
                .map(|t| format!("\"{t}\""))
                .collect::<Vec<_>>()
                .join(" "),
            _ => {
                let mut d = r.data.clone();
                if let Some(last) = d.last_mut() {
                    *last = absolute(last);
                }
                d.join(" ")
            }
        };
        format!("{} {} {}", absolute(&r.fqdn), r.rtype, data).to_lowercase()
    };
    // dig over UDP: a question whose answer did not come is asked again (twice at most).
    let ask = |client: &str, present: &dyn Fn(&netc::check::DnsRecord) -> bool| {
        let mut got = answers(&ns, client, &questions);
        for _ in 0..2 {
            let again: Vec<(String, String)> = info
                .dns
                .iter()
                .filter(|r| present(r) && !got.contains(&expected(r)))
                .map(|r| (absolute(&r.fqdn), r.rtype.clone()))
                .collect();
            if again.is_empty() {
                break;
            }
            got.extend(answers(&ns, client, &again));
        }
        got
    };
    let inside = ask("10.20.10.99", &|r| plan.zones[r.zone].view.internal());
    let outside = ask("198.51.100.7", &|r| {
        plan.zones[r.zone].view.external()
            && netc::check::dns_views::hidden_reason(plan, &info.dns, r).is_none()
    });
    let missing: Vec<String> = info
        .dns
        .iter()
        .filter(|r| plan.zones[r.zone].view.internal())
        .map(expected)
        .filter(|w| !inside.contains(w))
        .collect();
    assert!(missing.is_empty(), "inside, not answered: {missing:#?}");
    let (mut internal_n, mut public_n, mut hidden_n) = (0, 0, 0);
    for r in &info.dns {
        let zone = &plan.zones[r.zone];
        let want = expected(r);
        if zone.view.internal() {
            assert!(
                inside.contains(&want),
                "inside, {want} is not answered; {} answers: {:?}",
                inside.len(),
                inside.iter().take(5).collect::<Vec<_>>()
            );
            internal_n += 1;
        }
        let public = zone.view.external()
            && netc::check::dns_views::hidden_reason(plan, &info.dns, r).is_none();
        if public {
            assert!(outside.contains(&want), "outside, {want} is not answered");
            public_n += 1;
        } else {
            assert!(
                !outside.contains(&want),
                "outside, the internal {want} is answered"
            );
            hidden_n += 1;
        }
    }
    // Nothing of the internal zones outside, at all: no answer names a .local name or gives
    // an internal address.
    for a in &outside {
        assert!(!a.contains(".local."), "outside: {a}");
        let addr = a
            .split(' ')
            .nth(2)
            .and_then(|d| d.parse::<std::net::IpAddr>().ok());
        assert!(
            addr.is_none_or(|x| !netc::check::dns_views::internal_addr(x)),
            "outside: {a}"
        );
    }
    // Reverse: the bastion's public address names it inside; outside, only public names.
    let ptr = |client: &str, addr: &str| {
        let o = Command::new("ip")
            .args([
                "netns",
                "exec",
                &format!("{ns}-c"),
                "dig",
                "@10.10.0.53",
                "-b",
                client,
                "+short",
                "+norecurse",
                "-x",
                addr,
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).trim().to_lowercase()
    };
    assert_eq!(
        ptr("10.20.10.99", "203.0.113.10"),
        "bastion01.datalyptica.local."
    );
    assert_eq!(ptr("198.51.100.7", "203.0.113.10"), "");
    assert_eq!(
        ptr("198.51.100.7", "203.0.113.100"),
        "datalyptica.company.com."
    );
    assert_eq!(
        ptr("10.20.10.99", "10.20.10.11"),
        "pg01.catalog.datalyptica.local."
    );
    assert_eq!(ptr("198.51.100.7", "10.20.10.11"), "");
    assert!(
        internal_n > 150 && public_n >= 2 && hidden_n > 150,
        "{internal_n} {public_n} {hidden_n}"
    );
    let _ = named.kill();
    let _ = named.wait();
    let _ = std::fs::remove_dir_all(&dir);
}

/// The external copy of a `view both` zone leaves out a name that points to a host whose
/// addresses are all internal (it would dangle there, and still name what is inside), and the
/// record's own mistake in a `view external` zone is reported once, at the addresses.
#[test]
fn names_that_lead_inside_stay_inside() {
    let plan = |view: &str| {
        format!(
            "vlan 10 corp {{ subnet 10.0.0.0/24 gateway .1  subnet fd00:10::/64 }}\n\
             vlan 30 dmz {{ subnet 198.51.100.0/28 gateway .1 }}\nrouter edge {{ dmz corp upstream }}\n\
             tier web on dmz domain example.org\ntier desks on corp\n\
             host web01 in web {{ dmz 198.51.100.10 }}\n\
             host d1 in desks {{ corp 10.0.0.20  corp fd00:10::20 dns d1.example.org }}\n\
             zone example.org {{ view {view}  ns ns1.provider.example.net.  record intranet cname d1 }}\n"
        )
    };
    let c = netc::check_text("p.netc", &plan("both"));
    assert!(!c.has_errors(), "{:?}", c.diags);
    let files = files_of(&c, &[TargetKind::Bind]);
    let text = |path: &str| {
        files
            .iter()
            .find(|f| f.path == std::path::Path::new(path))
            .map(|f| f.contents.clone())
            .unwrap_or_else(|| panic!("no {path}"))
    };
    assert!(text("bind/zones/db.example.org").contains("intranet\tIN\tCNAME\td1"));
    let outside = text("bind/zones/external/db.example.org");
    assert!(
        !outside.contains("intranet") && !outside.contains("d1"),
        "{outside}"
    );
    assert!(outside.contains("web01\tIN\tA\t198.51.100.10"));
    let c = netc::check_text("p.netc", &plan("external"));
    let e065: Vec<&str> = c
        .diags
        .iter()
        .filter(|d| d.code == "E065")
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(e065.len(), 2, "{e065:?}");
    assert!(
        e065.iter().all(|m| m.contains("internal address")),
        "{e065:?}"
    );
}

/// A primary and a secondary, each in its own namespace on one bridge, on netc's output for a
/// split-horizon plan whose public zone has two name servers of the plan: the secondary gets
/// both views' copies by transfer (the external view's signed with the TSIG key
/// `netc-external`, which is what lands it in the primary's external view), then answers a
/// client inside the plan with the internal copy and a client on the internet with the public
/// one, at the primary's serials.
#[test]
fn a_secondary_transfers_and_serves_each_view() {
    if !have("named") || !have("dig") || !have("tsig-keygen") {
        assert!(
            std::env::var_os("NETC_REQUIRE_TOOLS").is_none(),
            "named, dig and tsig-keygen (bind9, bind9-dnsutils) are required"
        );
        return;
    }
    if !can_netns() {
        return;
    }
    let plan = "vlan 10 srv { subnet 10.77.0.0/24 gateway .1 }\n\
        vlan 20 dmz { subnet 203.0.113.0/24 gateway .1 }\n\
        router edge { srv dmz upstream }\n\
        tier dns on dmz firewall none\ntier app on srv firewall none\ntier web on dmz firewall none\n\
        host ns1 in dns { dmz 203.0.113.2 }\nhost ns2 in dns { dmz 203.0.113.3 }\n\
        host app1 in app { srv 10.77.0.20 dns app.example.com }\n\
        host www1 in web { dmz 203.0.113.10 dns www.example.com }\n\
        allow internet -> web : tcp/443\nallow internet -> dns : udp/53, tcp/53\n\
        zone example.com {\n  view both\n  ns ns1 203.0.113.2\n  ns ns2 203.0.113.3\n}\n";
    let c = netc::check_text("split.netc", plan);
    assert!(!c.has_errors(), "{:?}", c.diags);
    let files = files_of(&c, &[TargetKind::Bind]);
    assert!(files
        .iter()
        .any(|f| f.path.ends_with("bind/secondaries/ns2.example.com.conf")));
    let dir = root().join(format!("target/it-dns-secondary-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    write_tree(&dir, &files);
    let sec = dir.join("secondary");
    std::fs::create_dir_all(&sec).unwrap();
    let key = Command::new("tsig-keygen")
        .arg("netc-external")
        .output()
        .unwrap();
    assert!(key.status.success());
    std::fs::write(dir.join("transfer.key"), &key.stdout).unwrap();
    let conf = |name: &str, addr: &str, directory: &std::path::Path, fragment: &str| {
        let path = dir.join(format!("{name}.conf"));
        std::fs::write(
            &path,
            format!(
                "options {{ directory \"{}\"; pid-file \"{1}/{name}.pid\"; listen-on port 53 {{ {addr}; }}; \
                 listen-on-v6 {{ none; }}; recursion no; dnssec-validation no; \
                 transfer-source {addr}; notify-source {addr}; query-source address {addr}; }};\n\
                 include \"{1}/transfer.key\";\ninclude \"{1}/bind/{fragment}\";\n",
                directory.display(),
                dir.display()
            ),
        )
        .unwrap();
        path
    };
    let primary = conf(
        "primary",
        "203.0.113.2",
        &dir.join("bind"),
        "named.conf.netc",
    );
    let secondary = conf(
        "secondary",
        "203.0.113.3",
        &sec,
        "secondaries/ns2.example.com.conf",
    );
    let id = std::process::id();
    let (sw, p, s, cl) = (
        format!("netc-dsw-{id}"),
        format!("netc-dp-{id}"),
        format!("netc-ds-{id}"),
        format!("netc-dc-{id}"),
    );
    let sh = |cmd: &str| super::daemons::sh(cmd);
    struct Gone(Vec<String>);
    impl Drop for Gone {
        fn drop(&mut self) {
            for ns in &self.0 {
                let _ = Command::new("sh")
                    .arg("-c")
                    .arg(format!(
                        "ip netns pids {ns} | xargs -r kill; sleep 0.2; ip netns del {ns}"
                    ))
                    .status();
            }
        }
    }
    let _gone = Gone(vec![sw.clone(), p.clone(), s.clone(), cl.clone()]);
    sh(&format!(
        "ip netns add {sw} && ip -n {sw} link add br0 type bridge && ip -n {sw} link set br0 up"
    ));
    for (i, (ns, addrs)) in [
        (&p, vec!["203.0.113.2/24"]),
        (&s, vec!["203.0.113.3/24"]),
        (&cl, vec!["10.77.0.50/24", "198.51.100.7/24"]),
    ]
    .into_iter()
    .enumerate()
    {
        sh(&format!(
            "ip netns add {ns} && ip -n {ns} link set lo up && \
             ip link add nd{i}a netns {ns} type veth peer name nd{i}b netns {sw} && \
             ip -n {sw} link set nd{i}b master br0 && ip -n {sw} link set nd{i}b up && \
             ip -n {ns} link set nd{i}a up"
        ));
        for a in addrs {
            sh(&format!("ip -n {ns} addr add {a} dev nd{i}a"));
        }
    }
    // The servers reach the clients' networks on the same wire.
    for ns in [&p, &s] {
        sh(&format!(
            "ip -n {ns} route add 10.77.0.0/24 dev $(ip -n {ns} -o link | grep -o 'nd[0-9]a' | head -1) && \
             ip -n {ns} route add 198.51.100.0/24 dev $(ip -n {ns} -o link | grep -o 'nd[0-9]a' | head -1)"
        ));
    }
    sh(&format!("ip -n {cl} route add 203.0.113.0/24 dev nd2a"));
    let start = |ns: &str, conf: &std::path::Path| {
        Command::new("ip")
            .args(["netns", "exec", ns, "named", "-g", "-u", "root", "-c"])
            .arg(conf)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut named_p = start(&p, &primary);
    let mut named_s = start(&s, &secondary);
    let dig = |server: &str, client: &str, name: &str, rtype: &str| -> Vec<String> {
        let o = Command::new("ip")
            .args([
                "netns",
                "exec",
                &cl,
                "dig",
                &format!("@{server}"),
                "-b",
                client,
            ])
            .args([
                "+noall",
                "+answer",
                "+norecurse",
                "+tries=1",
                "+time=2",
                name,
                rtype,
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                format!("{} {} {}", f[0], f[3], f[4..].join(" ")).to_lowercase()
            })
            .collect()
    };
    let serial = |server: &str, client: &str| -> Option<String> {
        dig(server, client, "example.com.", "SOA")
            .first()
            .and_then(|l| l.split(' ').nth(4).map(str::to_string))
    };
    // Both views transferred: the secondary has each view's SOA at the primary's serial.
    let (inside, outside) = ("10.77.0.50", "198.51.100.7");
    let mut ready = false;
    for _ in 0..150 {
        let both = [inside, outside].iter().all(|c| {
            let on_s = serial("203.0.113.3", c);
            on_s.is_some() && on_s == serial("203.0.113.2", c)
        });
        if both {
            ready = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    if !ready {
        let _ = named_p.kill();
        let _ = named_s.kill();
        let (op, os) = (
            named_p.wait_with_output().unwrap(),
            named_s.wait_with_output().unwrap(),
        );
        panic!(
            "the secondary did not get both views\nprimary:\n{}\nsecondary:\n{}",
            String::from_utf8_lossy(&op.stderr),
            String::from_utf8_lossy(&os.stderr)
        );
    }
    // Inside: the internal copy (the internal host's name); outside: only public names.
    assert_eq!(
        dig("203.0.113.3", inside, "app.example.com.", "A"),
        vec!["app.example.com. a 10.77.0.20".to_string()]
    );
    assert!(dig("203.0.113.3", outside, "app.example.com.", "A").is_empty());
    for c in [inside, outside] {
        assert_eq!(
            dig("203.0.113.3", c, "www.example.com.", "A"),
            vec!["www.example.com. a 203.0.113.10".to_string()]
        );
    }
    // The secondary's files: one per view (named writes a transferred zone to disk after it
    // starts serving it from memory: wait for the dump).
    let files = [
        "secondary-db.example.com",
        "secondary-external-db.example.com",
    ];
    for _ in 0..100 {
        if files.iter().all(|f| sec.join(f).exists()) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    for f in files {
        assert!(sec.join(f).exists(), "the secondary wrote no {f}");
    }
    let _ = named_p.kill();
    let _ = named_s.kill();
    let _ = named_p.wait();
    let _ = named_s.wait();
    let _ = std::fs::remove_dir_all(&dir);
}
