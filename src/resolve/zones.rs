//! DNS zones and their records.

use super::*;

impl Resolver<'_> {
    pub(super) fn zone(&mut self, z: &ast::Zone) {
        let name = z.name.name.trim_end_matches('.').to_ascii_lowercase();
        let records = z
            .records
            .iter()
            .map(|r| Record {
                name: r.name.name.clone(),
                rtype: r.rtype.name.to_ascii_uppercase(),
                data: r
                    .data
                    .iter()
                    .map(|d| match d {
                        ast::RecordData::Word(w) => w.name.clone(),
                        ast::RecordData::Str(s, _) => s.clone(),
                    })
                    .collect(),
                origin: self.origin(r.span),
            })
            .collect();
        let nameservers = z
            .nameservers
            .iter()
            .filter_map(|(ns, addr)| {
                let addr = match addr.as_ref().map(|a| &a.lit) {
                    None => None,
                    Some(AddrLit::Addr(a)) => Some(*a),
                    Some(_) => {
                        let span = addr.as_ref().map_or(ns.span, |a| a.span);
                        self.invalid(
                            span,
                            "a name server address must be one address".into(),
                            "expected an address",
                            "write 10.10.0.5",
                        );
                        return None;
                    }
                };
                Some(NameServer {
                    name: ns.name.clone(),
                    addr,
                })
            })
            .collect();
        self.plan.zones.push(Zone {
            admin: z
                .admin
                .as_ref()
                .map_or_else(|| format!("hostmaster@{name}"), |a| a.name.clone()),
            name,
            ttl: z.ttl.map_or(3600, |t| t.0),
            nameservers,
            records,
            local_ok: z.local_ok,
            serial_date: z.serial_date,
            view: z.view,
            origin: self.origin(z.span),
        });
    }
}
