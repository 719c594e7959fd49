//! W090 blind-health-check: a VIP of a replicated data store (PostgreSQL, MySQL, SQL Server,
//! Oracle, Redis, MongoDB) whose health check is its port. Every member, primary or replica,
//! answers on the port, so keepalived keeps or moves the address to a member that may be a
//! read-only replica: writes through the VIP then fail.

use crate::diag::Diagnostic;
use crate::ir::{HealthCheck, Plan, Proto};

/// Ports of stores with one writable primary and replicas, with how to ask for the primary.
const PRIMARY_PORTS: &[(u16, &str, &str)] = &[
    (5432, "PostgreSQL", "`check \"/usr/bin/curl -sf http://127.0.0.1:8008/primary\"` (Patroni's REST API), or a script running `psql -tAc 'select not pg_is_in_recovery()'`"),
    (3306, "MySQL", "a script that checks `SELECT @@read_only` is 0"),
    (1433, "SQL Server", "a script that checks the replica role is PRIMARY"),
    (1521, "Oracle", "a script that checks `database_role` is PRIMARY"),
    (6379, "Redis", "a script that checks `redis-cli role` starts with master"),
    (27017, "MongoDB", "a script that checks `db.hello().isWritablePrimary`"),
];

pub fn check(plan: &Plan, diags: &mut Vec<Diagnostic>) {
    for vip in plan.vips.iter().filter(|v| v.members.len() > 1) {
        let Some(HealthCheck::Port {
            proto: Proto::Tcp,
            port: Some(port),
        }) = &vip.check
        else {
            continue;
        };
        let Some((_, store, how)) = PRIMARY_PORTS.iter().find(|(p, _, _)| p == port) else {
            continue;
        };
        diags.push(
            Diagnostic::new(
                &crate::codes::W090,
                format!(
                    "`check tcp/{port}` cannot tell {store}'s primary from a replica: every member answers on the port, so `{}` may sit on a read-only replica",
                    vip.name
                ),
            )
            .with_primary(vip.origin.span, "a port check")
            .with_help(format!("check for the primary itself: {how}")),
        );
    }
}

// The codes this file emits, declared here (listed in `codes::ALL`).
pub const W090: crate::codes::Code = crate::codes::code!("W090", "blind-health-check", Warning, "a VIP of a replicated database checks only its port",
        "What it does: reports a VIP of several members whose health check is the port of a\n\
         store with one writable primary and replicas (PostgreSQL 5432, MySQL 3306, SQL Server\n\
         1433, Oracle 1521, Redis 6379, MongoDB 27017).\n\
         Why: every member answers on the port, primary or replica, so keepalived may keep the\n\
         address on a read-only replica after a failover; writes through the VIP fail. Give a\n\
         check that succeeds on the primary only (`check \"COMMAND\"`, run by keepalived).\n\
         Example:\n    vip pg-vip 10.20.10.100 for pg01, pg02 check tcp/5432\n    # better: check \"/usr/bin/curl -sf http://127.0.0.1:8008/primary\"   (Patroni)");
