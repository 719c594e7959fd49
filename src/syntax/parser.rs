//! Recursive descent over the token stream. Parsing never fails: a statement that does not
//! parse becomes a diagnostic, the parser skips to the next line at the top level, and goes on.

use super::ast::*;
use super::lexer::{lex, Tok, Token};
use crate::diag::{Diagnostic, FileId, Span};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub const SYNTAX: &crate::codes::Code = &crate::codes::E001;

/// Parse one file's text.
pub fn parse(file: FileId, text: &str) -> (File, Vec<Diagnostic>) {
    let tokens = lex(text);
    let mut parser = Parser {
        file,
        tokens,
        pos: 0,
        text_len: text.len(),
        diags: Vec::new(),
    };
    let (stmts, broken_names) = parser.file();
    let mut diags = parser.diags;
    for d in &mut diags {
        if d.help.is_none() {
            d.help = Some(format!(
                "see grammar/netc.ebnf for the form of each statement ({STATEMENTS})"
            ));
        }
    }
    (
        File {
            stmts,
            broken_names,
        },
        diags,
    )
}

struct Parser {
    file: FileId,
    tokens: Vec<Token>,
    pos: usize,
    text_len: usize,
    diags: Vec<Diagnostic>,
}

/// Syntax errors reported per file before reading stops (a limit: 16 MiB of junk would
/// otherwise be millions of errors).
pub const MAX_SYNTAX_ERRORS: usize = 200;

/// Parse errors are boxed: they are rare and a `Diagnostic` is large.
type PResult<T> = Result<T, Box<Diagnostic>>;

fn fail<T>(d: Diagnostic) -> PResult<T> {
    Err(Box::new(d))
}

/// The keywords and fixed values of the language besides `STATEMENT_WORDS`, for did-you-mean
/// hints on a misspelling.
const KEYWORDS: &[&str] = &[
    "name",
    "subnet",
    "gateway",
    "pool",
    "mtu",
    "vrf",
    "names",
    "carries",
    "serve",
    "route",
    "via",
    "default",
    "on",
    "dev",
    "firewall",
    "domain",
    "in",
    "for",
    "check",
    "vrid",
    "nopreempt",
    "dns",
    "upstream",
    "address",
    "nat",
    "source",
    "forward",
    "static",
    "masquerade",
    "egress",
    "filtered",
    "port",
    "ttl",
    "admin",
    "ns",
    "record",
    "local-ok",
    "serial",
    "view",
    "log",
    "trunk",
    "access",
    "bond",
    "members",
    "vlans",
    "routes",
    "model",
    "except",
    "nftables",
    "firewalld",
    "ufw",
    "none",
    "ios",
    "eos",
    "junos",
    "linux",
    "tcp",
    "udp",
    "icmp",
    "any",
    "internet",
];

/// The words that begin a statement.
const STATEMENT_WORDS: &[&str] = &[
    "include",
    "name",
    "vlan",
    "tier",
    "host",
    "vip",
    "service",
    "network",
    "router",
    "zone",
    "allow",
    "deny",
    "management",
    "switch",
];

const STATEMENTS: &str =
    "include, vlan, tier, host, vip, service, network, router, zone, allow, deny, management, switch";

impl Parser {
    fn file(&mut self) -> (Vec<Stmt>, Vec<String>) {
        let mut stmts = Vec::new();
        let mut broken = Vec::new();
        loop {
            self.skip_separators();
            if self.at_end() {
                break;
            }
            if self.diags.len() >= MAX_SYNTAX_ERRORS {
                // A file this broken is not a plan: say so once, and stop.
                let at = self.span_here();
                self.diags.push(
                    Diagnostic::new(
                        &crate::codes::E001,
                        format!("more than {MAX_SYNTAX_ERRORS} syntax errors in this file; the rest of it is not read"),
                    )
                    .with_primary(at, "reading stopped here")
                    .with_help("is this a plan file? fix the errors above first"),
                );
                break;
            }
            let start = self.pos;
            match self.statement() {
                Ok(stmt) => {
                    if let Err(d) = self.end_of_statement() {
                        self.diags.push(*d);
                        self.recover();
                    }
                    stmts.push(stmt);
                }
                Err(d) => {
                    // One error per broken statement: skip the whole statement, its block
                    // included, from where it began (not from the error, which may be inside
                    // its block).
                    self.diags.push(*d);
                    self.pos = start;
                    broken.extend(self.declared_name());
                    self.recover();
                }
            }
        }
        (stmts, broken)
    }

    /// The name the statement at the current position declares, read from its first words
    /// (`router NAME`, `vlan ID NAME`, ...), whatever follows.
    fn declared_name(&self) -> Option<String> {
        let word = |i: usize| match self.tokens.get(self.pos + i).map(|t| &t.tok) {
            Some(Tok::Word(w)) => Some(w.clone()),
            _ => None,
        };
        let first = word(0)?;
        // A misspelled keyword (`teir apptier ...`) declares what the keyword would: its
        // name is not "undefined" wherever it is used.
        let keyword = if STATEMENTS.split(", ").any(|k| k == first) {
            first.as_str()
        } else {
            crate::names::did_you_mean(&first, STATEMENTS.split(", "))?
        };
        match keyword {
            "vlan" => word(2),
            "tier" | "host" | "vip" | "service" | "network" | "router" | "switch" => word(1),
            _ => None,
        }
    }

    // ---- token helpers ----

    fn at_end(&self) -> bool {
        self.pos >= self.tokens.len()
    }

    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos).map(|t| &t.tok)
    }

    fn peek_word(&self) -> Option<&str> {
        match self.peek() {
            Some(Tok::Word(w)) => Some(w.as_str()),
            _ => None,
        }
    }

    fn span_here(&self) -> Span {
        match self.tokens.get(self.pos) {
            Some(t) => Span::new(self.file, t.start, t.end),
            None => Span::new(self.file, self.text_len, self.text_len),
        }
    }

    fn prev_end(&self) -> usize {
        if self.pos == 0 {
            0
        } else {
            self.tokens[self.pos - 1].end
        }
    }

    fn span_from(&self, start: usize) -> Span {
        Span::new(self.file, start, self.prev_end().max(start))
    }

    fn start(&self) -> usize {
        self.tokens.get(self.pos).map_or(self.text_len, |t| t.start)
    }

    fn bump(&mut self) -> Token {
        let t = self.tokens[self.pos].clone();
        self.pos += 1;
        t
    }

    fn eat(&mut self, tok: &Tok) -> bool {
        if self.peek() == Some(tok) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn eat_word(&mut self, word: &str) -> bool {
        if self.peek_word() == Some(word) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn skip_newlines(&mut self) {
        while matches!(self.peek(), Some(Tok::Newline)) {
            self.pos += 1;
        }
    }

    fn skip_separators(&mut self) {
        while matches!(self.peek(), Some(Tok::Newline | Tok::Semi)) {
            self.pos += 1;
        }
    }

    fn describe(tok: Option<&Tok>) -> String {
        match tok {
            None => "end of file".into(),
            Some(Tok::Word(w)) => format!("`{w}`"),
            Some(Tok::Str(_)) => "a string".into(),
            Some(Tok::LBrace) => "`{`".into(),
            Some(Tok::RBrace) => "`}`".into(),
            Some(Tok::Comma) => "`,`".into(),
            Some(Tok::Semi) => "`;`".into(),
            Some(Tok::Colon) => "`:`".into(),
            Some(Tok::Arrow) => "`->`".into(),
            Some(Tok::Newline) => "end of line".into(),
            Some(Tok::Bad(c)) => format!("character {c:?}"),
            Some(Tok::Unterminated) => "an unterminated string".into(),
            Some(Tok::BadEscape(c)) => format!("the unsupported escape `\\{c}` in a string"),
        }
    }

    fn error(&self, expected: &str) -> Diagnostic {
        let found = Self::describe(self.peek());
        let mut d = Diagnostic::new(SYNTAX, format!("expected {expected}, found {found}"))
            .with_primary(self.span_here(), format!("expected {expected}"));
        d.help = Some(match self.peek() {
            Some(Tok::Unterminated) => "close the string with `\"` on the same line".into(),
            Some(Tok::BadEscape(_)) => {
                "strings take two escapes, `\\\"` and `\\\\`; a string is one line of text".into()
            }
            Some(Tok::Bad(_)) => {
                "names use letters, digits, `-` and `_` (DNS names also `.`); put free text in a \"string\"".into()
            }
            Some(Tok::Word(w)) if w.starts_with("//") || w.starts_with("/*") => {
                "comments start with `#` and run to the end of the line".into()
            }
            Some(Tok::Word(w)) => {
                match crate::names::did_you_mean(w, STATEMENT_WORDS.iter().chain(KEYWORDS).copied())
                {
                    Some(k) if k != w.as_str() => format!("did you mean `{k}`?"),
                    _ => format!(
                        "see grammar/netc.ebnf for the form of each statement ({STATEMENTS})"
                    ),
                }
            }
            _ => format!("see grammar/netc.ebnf for the form of each statement ({STATEMENTS})"),
        });
        d
    }

    /// Skip to the next line at brace depth zero. A `{` that is still open when a statement
    /// keyword starts a line (at its first column), or at the end of the file, was never
    /// closed: that is reported at the brace, and reading goes on with that statement.
    fn recover(&mut self) {
        let mut open: Vec<usize> = Vec::new();
        while let Some(tok) = self.peek() {
            match tok {
                Tok::LBrace => open.push(self.pos),
                Tok::RBrace => {
                    open.pop();
                }
                Tok::Newline if open.is_empty() => {
                    self.pos += 1;
                    return;
                }
                Tok::Newline if self.statement_starts(self.pos + 1) => {
                    let brace = open[open.len() - 1];
                    self.unclosed(brace, Some(self.pos + 1));
                    self.pos += 1;
                    return;
                }
                _ => {}
            }
            self.pos += 1;
        }
        if let Some(&brace) = open.last() {
            self.unclosed(brace, None);
        }
    }

    /// Whether token `i` is a statement keyword at the first column of its line.
    fn statement_starts(&self, i: usize) -> bool {
        let (Some(t), Some(before)) = (
            self.tokens.get(i),
            i.checked_sub(1).map(|b| &self.tokens[b]),
        ) else {
            return false;
        };
        matches!(&t.tok, Tok::Word(w) if STATEMENT_WORDS.contains(&w.as_str()))
            && before.tok == Tok::Newline
            && before.end == t.start
    }

    /// Report the `{` at token `brace` as never closed, before the statement at token `next`
    /// (or the end of the file).
    fn unclosed(&mut self, brace: usize, next: Option<usize>) {
        let b = &self.tokens[brace];
        let mut d = Diagnostic::new(SYNTAX, "this `{` is never closed")
            .with_primary(Span::new(self.file, b.start, b.end), "opened here");
        d = match next {
            Some(n) => {
                let t = &self.tokens[n];
                d.with_secondary(
                    Span::new(self.file, t.start, t.end),
                    "the next statement starts here",
                )
                .with_help("close the block with `}` before the next statement")
            }
            None => d.with_help("close the block with `}`; the file ends inside it"),
        };
        self.diags.push(d);
    }

    /// A Linux interface name: at most 15 bytes (the kernel's IFNAMSIZ less its NUL), or
    /// `ip link` and every firewall refuse it.
    fn dev(&mut self) -> PResult<Ident> {
        let id = self.ident("an interface name")?;
        if id.name.len() > 15 {
            self.diags.push(
                Diagnostic::new(
                    &crate::codes::E013,
                    format!("`{}` is longer than an interface name may be", id.name),
                )
                .with_primary(id.span, format!("{} bytes; at most 15", id.name.len()))
                .with_help("Linux interface names have at most 15 bytes (eth0, bond0, ens1f0np0)"),
            );
        }
        Ok(id)
    }

    fn end_of_statement(&mut self) -> PResult<()> {
        match self.peek() {
            None | Some(Tok::Newline | Tok::Semi) => Ok(()),
            _ => fail(self.error("end of line")),
        }
    }

    fn word(&mut self, expected: &str) -> PResult<(String, Span)> {
        match self.peek() {
            Some(Tok::Word(_)) => {
                let t = self.bump();
                let Tok::Word(w) = t.tok else { unreachable!() };
                Ok((w, Span::new(self.file, t.start, t.end)))
            }
            _ => fail(self.error(expected)),
        }
    }

    fn ident(&mut self, expected: &str) -> PResult<Ident> {
        let span = self.span_here();
        let (name, span2) = self.word(expected)?;
        if !is_name(&name) {
            return fail(
                Diagnostic::new(SYNTAX, format!("`{name}` is not a valid name"))
                    .with_primary(span, format!("expected {expected}"))
                    .with_help("names start with a letter and use letters, digits, `-` and `_`"),
            );
        }
        Ok(Ident { name, span: span2 })
    }

    fn fqdn(&mut self, expected: &str) -> PResult<Ident> {
        let (name, span) = self.word(expected)?;
        if !name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '*' || c == '@')
        {
            return fail(
                Diagnostic::new(SYNTAX, format!("`{name}` is not a DNS name"))
                    .with_primary(span, format!("expected {expected}")),
            );
        }
        Ok(Ident { name, span })
    }

    fn string(&mut self) -> Option<(String, Span)> {
        if let Some(Tok::Str(_)) = self.peek() {
            let t = self.bump();
            let Tok::Str(s) = t.tok else { unreachable!() };
            return Some((s, Span::new(self.file, t.start, t.end)));
        }
        None
    }

    fn number(&mut self, expected: &str) -> PResult<(u32, Span)> {
        let (w, span) = self.word(expected)?;
        match w.parse::<u32>() {
            Ok(n) => Ok((n, span)),
            Err(_) => fail(
                Diagnostic::new(SYNTAX, format!("`{w}` is not a number"))
                    .with_primary(span, format!("expected {expected}"))
                    .with_help("write a decimal number"),
            ),
        }
    }

    fn addr(&mut self, expected: &str) -> PResult<Addr> {
        let (w, span) = self.word(expected)?;
        match parse_addr(&w) {
            Some(lit) => Ok(Addr { lit, span }),
            None => fail(Diagnostic::new(SYNTAX, format!("`{w}` is not an address"))
                .with_primary(span, format!("expected {expected}"))
                .with_help("write an address (10.0.0.1), a CIDR (10.0.0.0/24) or a range (10.0.0.10-20)")),
        }
    }

    /// A list of items separated by commas; a newline may follow a comma.
    fn comma_list<T>(&mut self, mut item: impl FnMut(&mut Self) -> PResult<T>) -> PResult<Vec<T>> {
        let mut items = vec![item(self)?];
        while self.eat(&Tok::Comma) {
            self.skip_newlines();
            items.push(item(self)?);
        }
        Ok(items)
    }

    fn port_spec(&mut self) -> PResult<PortSpec> {
        let (w, span) = self.word("a protocol and port, like tcp/5432")?;
        parse_port_spec(&w, span).ok_or_else(|| {
            let (message, help) = port_spec_problem(&w);
            Box::new(
                Diagnostic::new(SYNTAX, message)
                    .with_primary(span, "expected tcp/PORT, udp/PORT, a port range or icmp")
                    .with_help(help),
            )
        })
    }

    fn service_term(&mut self) -> PResult<ServiceTerm> {
        let span = self.span_here();
        match self.peek_word() {
            Some("any") => {
                self.pos += 1;
                Ok(ServiceTerm::Any(span))
            }
            Some(w) if looks_like_port(w) => Ok(ServiceTerm::Port(self.port_spec()?)),
            _ => Ok(ServiceTerm::Named(
                self.ident("a service name or tcp/PORT")?,
            )),
        }
    }

    fn endpoint(&mut self) -> PResult<Endpoint> {
        match self.peek_word() {
            Some(w) if looks_like_addr(w) => Ok(Endpoint::Addr(self.addr("an address")?)),
            Some(w) if w.contains('@') => {
                let (word, span) = self.word("a tier or host")?;
                let (name, vlan) = word.split_once('@').expect("contains @");
                let at = span.start as usize + name.len();
                let (name_span, vlan_span) = (
                    Span::new(self.file, span.start as usize, at),
                    Span::new(self.file, at + 1, span.end as usize),
                );
                for (part, part_span, what) in [
                    (name, name_span, "a tier or host"),
                    (vlan, vlan_span, "a VLAN"),
                ] {
                    if !is_name(part) {
                        return fail(
                            Diagnostic::new(SYNTAX, format!("`{word}` is not a tier or host on a VLAN"))
                                .with_primary(part_span, format!("expected {what}"))
                                .with_help("write TIER@VLAN or HOST@VLAN, like `catalog@app-db`: the tier's addresses on that VLAN"),
                        );
                    }
                }
                Ok(Endpoint::On {
                    name: Ident {
                        name: name.to_string(),
                        span: name_span,
                    },
                    vlan: Ident {
                        name: vlan.to_string(),
                        span: vlan_span,
                    },
                })
            }
            _ => Ok(Endpoint::Named(
                self.ident("a tier, host, vip, network, vlan or address")?,
            )),
        }
    }

    /// The rest of a `nat` line, after the keyword.
    fn nat(&mut self, start: usize) -> PResult<NatDecl> {
        let expect_to = |p: &mut Self, what: &str| -> PResult<()> {
            if p.eat_word("to") {
                return Ok(());
            }
            let span = p.span_here();
            fail(
                Diagnostic::new(SYNTAX, format!("expected `to` and {what}"))
                    .with_primary(span, "expected `to`")
                    .with_help("write `nat forward 198.51.100.10 tcp/443 to web01`, `nat static 198.51.100.20 to web02` or `nat source users to 198.51.100.2`"),
            )
        };
        match self.peek_word() {
            Some("source") => {
                self.pos += 1;
                let sources = self.comma_list(|p| p.endpoint())?;
                let to = if self.eat_word("masquerade") {
                    None
                } else {
                    expect_to(self, "the address to translate to, or `masquerade`")?;
                    Some(self.addr("the address sources are translated to")?)
                };
                Ok(NatDecl::Source {
                    sources,
                    to,
                    span: self.span_from(start),
                })
            }
            Some("forward") => {
                self.pos += 1;
                let public = self.addr("the public address")?;
                let port = self.port_spec()?;
                expect_to(self, "the inside host, VIP or address")?;
                let to = self.endpoint()?;
                let to_port = if self.eat_word("port") {
                    Some(self.number("the inside port")?)
                } else {
                    None
                };
                Ok(NatDecl::Forward {
                    public,
                    port,
                    to,
                    to_port,
                    span: self.span_from(start),
                })
            }
            Some("static") => {
                self.pos += 1;
                let public = self.addr("the public address")?;
                expect_to(self, "the inside host, VIP or address")?;
                let to = self.endpoint()?;
                Ok(NatDecl::Static {
                    public,
                    to,
                    span: self.span_from(start),
                })
            }
            _ => {
                let span = self.span_here();
                fail(
                    Diagnostic::new(SYNTAX, "expected `source`, `forward` or `static` after `nat`")
                        .with_primary(span, "expected the kind of translation")
                        .with_help("`nat source SOURCES to ADDRESS|masquerade`, `nat forward ADDRESS tcp/PORT to TARGET [port N]`, `nat static ADDRESS to TARGET`"),
                )
            }
        }
    }

    /// `route PREFIX via VLAN` or `route default via VLAN`.
    fn route(&mut self) -> PResult<RouteDecl> {
        let start = self.start();
        self.pos += 1;
        let dest = if self.eat_word("default") {
            None
        } else {
            Some(self.addr("a destination prefix (10.20.0.0/16) or `default`")?)
        };
        if !self.eat_word("via") {
            return fail(self.error("`via` and the VLAN whose gateway the route goes through"));
        }
        let via = self.ident("a VLAN name")?;
        Ok(RouteDecl {
            dest,
            via,
            span: self.span_from(start),
        })
    }

    fn firewall_kind(&mut self) -> PResult<(FirewallKind, Span)> {
        let (w, span) = self.word("a firewall kind")?;
        let kind = match FirewallKind::from_name(&w) {
            Some(kind) => kind,
            None => {
                let kinds = FirewallKind::ALL.map(FirewallKind::name);
                let help = match crate::names::did_you_mean(&w, kinds) {
                    Some(k) => format!("did you mean `{k}`?"),
                    None => "a tier's firewall is nftables, firewalld, ufw or none".into(),
                };
                return fail(
                    Diagnostic::new(SYNTAX, format!("unknown firewall `{w}`"))
                        .with_primary(span, "expected nftables, firewalld, ufw or none")
                        .with_help(help),
                );
            }
        };
        Ok((kind, span))
    }

    /// Items of a declaration, on its line and/or inside one `{ ... }` block.
    fn items(&mut self, mut item: impl FnMut(&mut Self) -> PResult<bool>) -> PResult<()> {
        loop {
            if self.eat(&Tok::LBrace) {
                let brace = self.pos - 1;
                loop {
                    self.skip_separators();
                    if self.eat(&Tok::RBrace) {
                        return Ok(());
                    }
                    if self.at_end() {
                        self.unclosed(brace, None);
                        return Ok(());
                    }
                    // A statement at the start of a line: the `}` was forgotten. The block
                    // ends before the line, and the statement is read as one.
                    if self.statement_starts(self.pos) {
                        self.unclosed(brace, Some(self.pos));
                        self.pos -= 1;
                        return Ok(());
                    }
                    if !item(self)? {
                        return fail(self.error("an item of this block or `}`"));
                    }
                }
            }
            match self.peek() {
                None | Some(Tok::Newline | Tok::Semi) => return Ok(()),
                _ => {
                    if !item(self)? {
                        return fail(self.error("an item of this declaration or end of line"));
                    }
                }
            }
        }
    }

    // ---- statements ----

    fn statement(&mut self) -> PResult<Stmt> {
        let start = self.start();
        let keyword = match self.peek_word() {
            Some(w) => w.to_string(),
            None => return fail(self.error(&format!("a statement ({STATEMENTS})"))),
        };
        self.pos += 1;
        match keyword.as_str() {
            "include" => {
                let Some((path, _)) = self.string() else {
                    return fail(self.error("a quoted file path"));
                };
                Ok(Stmt::Include(Include {
                    path,
                    span: self.span_from(start),
                }))
            }
            "vlan" => self.vlan(start).map(Stmt::Vlan),
            "tier" => self.tier(start).map(Stmt::Tier),
            "host" => self.host(start).map(Stmt::Host),
            "vip" => self.vip(start).map(Stmt::Vip),
            "service" => {
                let name = self.ident("a service name")?;
                // Ports, and other services by name (`service web http, https`).
                let terms = self.comma_list(|p| p.service_term())?;
                let (mut ports, mut includes) = (Vec::new(), Vec::new());
                for t in terms {
                    match t {
                        ServiceTerm::Port(p) => ports.push(p),
                        ServiceTerm::Named(i) => includes.push(i),
                        ServiceTerm::Any(span) => {
                            return fail(
                                Diagnostic::new(SYNTAX, "a service cannot be `any`".to_string())
                                    .with_primary(span, "every protocol and port")
                                    .with_help("write `any` in the rule itself (`allow a -> b : any`), or list the ports"),
                            )
                        }
                    }
                }
                Ok(Stmt::Service(Service {
                    name,
                    ports,
                    includes,
                    span: self.span_from(start),
                }))
            }
            "network" => {
                let name = self.ident("a network name")?;
                let addrs = self.comma_list(|p| p.addr("an address, CIDR or range"))?;
                let description = self.string().map(|s| s.0);
                Ok(Stmt::Network(Network {
                    name,
                    addrs,
                    description,
                    span: self.span_from(start),
                }))
            }
            "router" => self.router(start).map(Stmt::Router),
            "zone" => self.zone(start).map(Stmt::Zone),
            "allow" | "deny" => {
                let action = if keyword == "allow" {
                    Action::Allow
                } else {
                    Action::Deny
                };
                self.flow(start, action).map(Stmt::Flow)
            }
            "management" => self.management(start).map(Stmt::Management),
            "switch" => self.switch(start).map(Stmt::Switch),
            _ => {
                self.pos -= 1;
                let mut d = self.error(&format!("a statement ({STATEMENTS})"));
                if let Some(best) = crate::names::did_you_mean(&keyword, STATEMENTS.split(", ")) {
                    d.help = Some(format!("did you mean `{best}`?"));
                }
                fail(d)
            }
        }
    }

    fn vlan(&mut self, start: usize) -> PResult<Vlan> {
        let (id, id_span) = self.number("a VLAN id (1-4094)")?;
        let name = self.ident("a VLAN name")?;
        let mut vlan = Vlan {
            id,
            id_span,
            name,
            mtu: None,
            vrf: None,
            subnets: Vec::new(),
            reserves: Vec::new(),
            pools: Vec::new(),
            description: None,
            no_names: false,
            carries: None,
            span: Span::new(self.file, start, start),
        };
        self.items(|p| {
            let item_start = p.start();
            if let Some((s, _)) = p.string() {
                vlan.description = Some(s);
                return Ok(true);
            }
            match p.peek_word() {
                Some("mtu") => {
                    p.pos += 1;
                    vlan.mtu = Some(p.number("an MTU")?);
                }
                Some("vrf") => {
                    p.pos += 1;
                    vlan.vrf = Some(p.ident("a VRF name")?);
                }
                Some("carries") => {
                    p.pos += 1;
                    let terms = p.comma_list(|p| p.service_term())?;
                    vlan.carries = Some((terms, p.span_from(item_start)));
                }
                Some("names") => {
                    p.pos += 1;
                    vlan.no_names = match p.peek_word() {
                        Some("none") => true,
                        Some("interface") => false,
                        _ => {
                            return fail(p.error(
                                "`interface` (HOST.VLAN.DOMAIN for every address, the default) or `none`",
                            ))
                        }
                    };
                    p.pos += 1;
                }
                Some("subnet") => {
                    p.pos += 1;
                    let net = p.addr("a subnet in CIDR form")?;
                    let gateway = if p.eat_word("gateway") {
                        Some(p.addr("a gateway address")?)
                    } else {
                        None
                    };
                    vlan.subnets.push(SubnetDecl {
                        net,
                        gateway,
                        span: p.span_from(item_start),
                    });
                }
                Some("reserve") => {
                    p.pos += 1;
                    let range = p.addr("an address range")?;
                    let note = p.string().map(|s| s.0);
                    vlan.reserves.push(ReserveDecl {
                        range,
                        note,
                        span: p.span_from(item_start),
                    });
                }
                Some("pool") => {
                    p.pos += 1;
                    let range = p.addr("an address range")?;
                    if !p.eat_word("for") {
                        return fail(p.error("`for` and a tier name"));
                    }
                    let tier = p.ident("a tier name")?;
                    vlan.pools.push(PoolDecl {
                        range,
                        tier,
                        span: p.span_from(item_start),
                    });
                }
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        vlan.span = self.span_from(start);
        Ok(vlan)
    }

    fn tier(&mut self, start: usize) -> PResult<Tier> {
        let name = self.ident("a tier name")?;
        let mut tier = Tier {
            name,
            vlans: Vec::new(),
            serve: Vec::new(),
            routes: Vec::new(),
            firewall: None,
            egress: None,
            domain: None,
            description: None,
            span: Span::new(self.file, start, start),
        };
        self.items(|p| {
            if let Some((s, _)) = p.string() {
                tier.description = Some(s);
                return Ok(true);
            }
            match p.peek_word() {
                Some("on") => {
                    p.pos += 1;
                    tier.vlans = p.comma_list(|p| {
                        let vlan = p.ident("a VLAN name")?;
                        let dev = if p.eat_word("dev") {
                            Some(p.dev()?)
                        } else {
                            None
                        };
                        Ok(TierVlan { vlan, dev })
                    })?;
                }
                Some("firewall") => {
                    p.pos += 1;
                    tier.firewall = Some(p.firewall_kind()?);
                }
                Some("serve") => {
                    p.pos += 1;
                    tier.serve = p.comma_list(|p| p.ident("a VLAN name"))?;
                }
                Some("egress") => {
                    let item = p.start();
                    p.pos += 1;
                    if !p.eat_word("filtered") {
                        let span = p.span_here();
                        return fail(
                            Diagnostic::new(SYNTAX, "expected `filtered` after `egress`")
                                .with_primary(span, "expected `filtered`")
                                .with_help("write `egress filtered`: the tier's hosts send only what the plan allows from them"),
                        );
                    }
                    tier.egress = Some(p.span_from(item));
                }
                Some("route") => tier.routes.push(p.route()?),
                Some("domain") => {
                    p.pos += 1;
                    tier.domain = Some(p.fqdn("a DNS domain")?);
                }
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        tier.span = self.span_from(start);
        Ok(tier)
    }

    fn host(&mut self, start: usize) -> PResult<Host> {
        let name = self.ident("a host name")?;
        if !self.eat_word("in") {
            return fail(self.error("`in` and the host's tier"));
        }
        let tier = self.ident("a tier name")?;
        let mut host = Host {
            name,
            tier,
            ifaces: Vec::new(),
            routes: Vec::new(),
            firewall: None,
            dns: Vec::new(),
            span: Span::new(self.file, start, start),
        };
        self.items(|p| {
            let item_start = p.start();
            match p.peek_word() {
                Some("firewall") => {
                    p.pos += 1;
                    host.firewall = Some(p.firewall_kind()?);
                }
                Some("dns") => {
                    p.pos += 1;
                    host.dns.push(p.fqdn("a DNS name")?);
                }
                Some("route") => host.routes.push(p.route()?),
                Some(w) if is_name(w) => {
                    let vlan = p.ident("a VLAN name")?;
                    let addr = p.addr("the host's address on this VLAN")?;
                    let dev = if p.eat_word("dev") {
                        Some(p.dev()?)
                    } else {
                        None
                    };
                    host.ifaces.push(HostIface {
                        vlan,
                        addr,
                        dev,
                        span: p.span_from(item_start),
                    });
                }
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        host.span = self.span_from(start);
        Ok(host)
    }

    fn vip(&mut self, start: usize) -> PResult<Vip> {
        let name = self.ident("a VIP name")?;
        let addr = self.addr("the virtual address")?;
        if !self.eat_word("for") {
            return fail(self.error("`for` and the member hosts"));
        }
        let members = self.comma_list(|p| p.ident("a host name"))?;
        let mut vip = Vip {
            name,
            addr,
            members,
            vrid: None,
            check: None,
            nopreempt: false,
            dns: Vec::new(),
            span: Span::new(self.file, start, start),
        };
        self.items(|p| {
            match p.peek_word() {
                Some("vrid") => {
                    p.pos += 1;
                    vip.vrid = Some(p.number("a VRRP router id (1-255)")?);
                }
                Some("check") => {
                    p.pos += 1;
                    vip.check = Some(match p.string() {
                        Some((s, span)) => Check::Script(s, span),
                        None => Check::Port(p.port_spec()?),
                    });
                }
                Some("nopreempt") => {
                    p.pos += 1;
                    vip.nopreempt = true;
                }
                Some("dns") => {
                    p.pos += 1;
                    vip.dns.push(p.fqdn("a DNS name")?);
                }
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        vip.span = self.span_from(start);
        Ok(vip)
    }

    fn router(&mut self, start: usize) -> PResult<Router> {
        let name = self.ident("a router name")?;
        let mut router = Router {
            name,
            ifaces: Vec::new(),
            upstream: None,
            nats: Vec::new(),
            span: Span::new(self.file, start, start),
        };
        self.items(|p| {
            let item_start = p.start();
            match p.peek_word() {
                Some("upstream") => {
                    p.pos += 1;
                    let dev = if p.eat_word("dev") {
                        Some(p.dev()?)
                    } else {
                        None
                    };
                    let addrs = if p.eat_word("address") {
                        p.comma_list(|p| {
                            p.addr("the router's upstream address, like 198.51.100.2/29")
                        })?
                    } else {
                        Vec::new()
                    };
                    router.upstream = Some(Upstream {
                        dev,
                        addrs,
                        span: p.span_from(item_start),
                    });
                }
                Some("nat") => {
                    p.pos += 1;
                    router.nats.push(p.nat(item_start)?);
                }
                Some(w) if is_name(w) => {
                    let vlan = p.ident("a VLAN name")?;
                    let addr = match p.peek_word() {
                        Some(w) if looks_like_addr(w) => Some(p.addr("the router's address")?),
                        _ => None,
                    };
                    let dev = if p.eat_word("dev") {
                        Some(p.dev()?)
                    } else {
                        None
                    };
                    router.ifaces.push(RouterIface {
                        vlan,
                        addr,
                        dev,
                        span: p.span_from(item_start),
                    });
                }
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        router.span = self.span_from(start);
        Ok(router)
    }

    fn zone(&mut self, start: usize) -> PResult<Zone> {
        let name = self.fqdn("a zone name")?;
        let mut zone = Zone {
            name,
            ttl: None,
            admin: None,
            nameservers: Vec::new(),
            records: Vec::new(),
            local_ok: false,
            serial_date: false,
            view: ZoneView::Internal,
            span: Span::new(self.file, start, start),
        };
        self.items(|p| {
            let item_start = p.start();
            match p.peek_word() {
                Some("ttl") => {
                    p.pos += 1;
                    zone.ttl = Some(p.number("a TTL in seconds")?);
                }
                Some("admin") => {
                    p.pos += 1;
                    zone.admin = Some(p.fqdn("a mailbox like hostmaster@example.com")?);
                }
                Some("ns") => {
                    p.pos += 1;
                    let ns = p.fqdn("a name server")?;
                    let addr = match p.peek_word() {
                        Some(w) if looks_like_addr(w) => Some(p.addr("the name server's address")?),
                        _ => None,
                    };
                    zone.nameservers.push((ns, addr));
                }
                Some("local-ok") => {
                    p.pos += 1;
                    zone.local_ok = true;
                }
                Some("view") => {
                    p.pos += 1;
                    zone.view = match p.peek_word() {
                        Some("internal") => ZoneView::Internal,
                        Some("external") => ZoneView::External,
                        Some("both") => ZoneView::Both,
                        _ => {
                            return fail(p.error(
                                "`internal` (the plan's clients), `external` (the internet's) or `both`",
                            ))
                        }
                    };
                    p.pos += 1;
                }
                Some("serial") => {
                    p.pos += 1;
                    match p.peek_word() {
                        Some("date") => {
                            p.pos += 1;
                            zone.serial_date = true;
                        }
                        Some("counter") => p.pos += 1,
                        _ => return fail(p.error("`date` (YYYYMMDDnn) or `counter` (1, 2, 3...)")),
                    }
                }
                Some("record") => {
                    p.pos += 1;
                    let name = p.fqdn("a record name (or @)")?;
                    let rtype = p.ident("a record type (a, aaaa, cname, txt, srv, mx)")?;
                    let arity = match rtype.name.to_ascii_lowercase().as_str() {
                        "a" | "aaaa" | "cname" | "ptr" | "ns" => Some(1),
                        "mx" => Some(2),
                        "srv" => Some(4),
                        "txt" => None,
                        other => {
                            return fail(
                                Diagnostic::new(SYNTAX, format!("unknown record type `{other}`"))
                                    .with_primary(
                                        rtype.span,
                                        "expected a, aaaa, cname, txt, srv or mx",
                                    ),
                            )
                        }
                    };
                    let mut data = Vec::new();
                    match arity {
                        Some(n) => {
                            for _ in 0..n {
                                data.push(match p.string() {
                                    Some((s, span)) => RecordData::Str(s, span),
                                    None => RecordData::Word(p.fqdn("record data")?),
                                });
                            }
                        }
                        None => {
                            while let Some((s, span)) = p.string() {
                                data.push(RecordData::Str(s, span));
                            }
                            if data.is_empty() {
                                return fail(p.error("a quoted TXT string"));
                            }
                        }
                    }
                    zone.records.push(RecordDecl {
                        name,
                        rtype,
                        data,
                        span: p.span_from(item_start),
                    });
                }
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        zone.span = self.span_from(start);
        Ok(zone)
    }

    fn flow(&mut self, start: usize, action: Action) -> PResult<Flow> {
        let sources = self.comma_list(|p| p.endpoint())?;
        if !self.eat(&Tok::Arrow) {
            return fail(self.error("`->` and the destinations"));
        }
        self.skip_newlines();
        let destinations = self.comma_list(|p| p.endpoint())?;
        if !self.eat(&Tok::Colon) {
            return fail(self.error("`:` and the services (or `: any`)"));
        }
        self.skip_newlines();
        let services = self.comma_list(|p| p.service_term())?;
        let mut log = false;
        let mut comment = None;
        let mut name = None;
        loop {
            if self.eat_word("log") {
                log = true;
            } else if self.eat_word("name") {
                name = Some(self.ident("a rule name")?);
            } else if let Some((s, _)) = self.string() {
                comment = Some(s);
            } else {
                break;
            }
        }
        Ok(Flow {
            action,
            sources,
            destinations,
            services,
            log,
            comment,
            name,
            span: self.span_from(start),
        })
    }

    fn port_name(&mut self) -> PResult<(String, Span)> {
        let (w, span) = self.word("a switch port name (Ethernet1/1, xe-0/0/1, Port-channel11)")?;
        if w.starts_with(|c: char| c.is_ascii_alphabetic())
            && w.len() <= 64
            && w.chars()
                .all(|c| c.is_ascii_alphanumeric() || "/._:-".contains(c))
        {
            Ok((w, span))
        } else {
            fail(
                Diagnostic::new(SYNTAX, format!("`{w}` is not a port name"))
                    .with_primary(span, "expected a port name")
                    .with_help(
                        "port names start with a letter and use letters, digits and / . _ : -",
                    ),
            )
        }
    }

    fn switch(&mut self, start: usize) -> PResult<Switch> {
        let name = self.ident("a switch name")?;
        let (w, pspan) = self.word("a platform (ios, eos, junos, linux)")?;
        let platform = match Platform::from_name(&w) {
            Some(p) => p,
            None => {
                return fail(
                    Diagnostic::new(SYNTAX, format!("unknown switch platform `{w}`"))
                        .with_primary(pspan, "expected ios, eos, junos or linux"),
                )
            }
        };
        let mut sw = Switch {
            name,
            platform: (platform, pspan),
            routes: None,
            model: None,
            ports: Vec::new(),
            span: Span::new(self.file, start, start),
        };
        self.items(|p| {
            let item_start = p.start();
            let kind = match p.peek_word() {
                Some("routes") => {
                    p.pos += 1;
                    sw.routes = Some(p.ident("a router name")?);
                    return Ok(true);
                }
                Some("model") => {
                    p.pos += 1;
                    sw.model = Some(p.ident("a switch model (see `docs/language.md`)")?);
                    return Ok(true);
                }
                Some("access") => PortKind::Access,
                Some("trunk") => PortKind::Trunk,
                Some("bond") => PortKind::Bond,
                _ => return Ok(false),
            };
            p.pos += 1;
            let name = p.port_name()?;
            let members = if kind == PortKind::Bond {
                if !p.eat_word("members") {
                    return fail(p.error("`members` and the bond's member ports"));
                }
                p.comma_list(|p| p.port_name())?
            } else {
                Vec::new()
            };
            let (mut vlans, mut host) = (Vec::new(), None);
            if p.eat_word("vlan") || p.eat_word("vlans") {
                vlans = p.comma_list(|p| p.ident("a VLAN name"))?;
            } else if p.eat_word("host") {
                let h = p.ident("a host name")?;
                if !p.eat_word("dev") {
                    return fail(p.error("`dev` and the host's interface"));
                }
                host = Some((h, p.dev()?));
            } else {
                return fail(p.error("`vlan(s) NAME, ...` or `host HOST dev IF`"));
            }
            sw.ports.push(SwitchPort {
                kind,
                name,
                members,
                vlans,
                host,
                span: p.span_from(item_start),
            });
            Ok(true)
        })?;
        sw.span = self.span_from(start);
        Ok(sw)
    }

    fn management(&mut self, start: usize) -> PResult<Management> {
        let sources = self.comma_list(|p| p.endpoint())?;
        if !self.eat(&Tok::Arrow) {
            return fail(self.error("`->` and the management VLAN"));
        }
        let vlan = self.ident("the management VLAN")?;
        if !self.eat(&Tok::Colon) {
            return fail(self.error("`:` and the management services"));
        }
        let services = self.comma_list(|p| p.service_term())?;
        let except = if self.eat_word("except") {
            self.comma_list(|p| p.ident("a host name"))?
        } else {
            Vec::new()
        };
        Ok(Management {
            sources,
            vlan,
            services,
            except,
            span: self.span_from(start),
        })
    }
}

/// Object names: a letter, then letters, digits, `-` and `_`.
pub fn is_name(w: &str) -> bool {
    let mut chars = w.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && w.len() <= 63
}

fn looks_like_addr(w: &str) -> bool {
    w.starts_with(|c: char| c.is_ascii_digit()) || w.starts_with('.') || w.contains(':')
}

fn looks_like_port(w: &str) -> bool {
    // Names never hold `/`: `TCP/8080` and `icmp/8` are port specs gone wrong, and say so.
    let proto = w.split('/').next().unwrap_or("").to_ascii_lowercase();
    w.contains('/') || matches!(proto.as_str(), "tcp" | "udp" | "icmp")
}

/// What is wrong with a word that is not a port spec, and what to write instead.
fn port_spec_problem(w: &str) -> (String, String) {
    let generic = || {
        (
            format!("`{w}` is not a protocol and port"),
            "ports are 1-65535: tcp/5432, tcp/4040-4041, udp/123, icmp".to_string(),
        )
    };
    let Some((proto, ports)) = w.split_once('/') else {
        return generic();
    };
    let lower = proto.to_ascii_lowercase();
    if lower != proto && matches!(lower.as_str(), "tcp" | "udp" | "icmp") {
        return (
            format!("`{w}`: protocols are written in lower case"),
            format!("write `{lower}/{ports}`"),
        );
    }
    if lower == "icmp" || lower == "icmpv6" {
        return (
            format!("`{w}`: ICMP has types, not ports"),
            "write `icmp` (every ICMP and ICMPv6 type)".to_string(),
        );
    }
    if !matches!(lower.as_str(), "tcp" | "udp") {
        return (
            format!("`{proto}` is not a protocol netc filters on"),
            "write tcp/PORT, udp/PORT or icmp".to_string(),
        );
    }
    let number = |p: &str| p.parse::<u64>().ok();
    match ports.split_once('-') {
        Some((a, b)) => match (number(a), number(b)) {
            (Some(a), Some(b)) if a > 65535 || b > 65535 => (
                format!("`{w}`: ports are 1-65535"),
                format!(
                    "write a range within 1-65535, e.g. `{proto}/{}-{}`",
                    a.min(65535),
                    b.min(65535)
                ),
            ),
            (Some(a), Some(b)) if a > b => (
                format!("`{w}`: the range runs backwards"),
                format!("write `{proto}/{b}-{a}`"),
            ),
            (Some(0), _) => (
                format!("`{w}`: port 0 is not a port a service listens on"),
                format!("start the range at 1: `{proto}/1-{b}`"),
            ),
            _ => generic(),
        },
        None => match number(ports) {
            Some(0) => (
                format!("`{w}`: port 0 is not a port a service listens on"),
                "ports are 1-65535".to_string(),
            ),
            Some(n) if n > 65535 => (
                format!("`{w}`: {n} is not a port (ports are 1-65535)"),
                "ports are 1-65535: tcp/5432, tcp/4040-4041, udp/123".to_string(),
            ),
            _ => generic(),
        },
    }
}

pub fn parse_port_spec(w: &str, span: Span) -> Option<PortSpec> {
    let (proto, ports) = match w.split_once('/') {
        Some((p, rest)) => (p, Some(rest)),
        None => (w, None),
    };
    let proto = match proto {
        "tcp" => Proto::Tcp,
        "udp" => Proto::Udp,
        "icmp" if ports.is_none() => Proto::Icmp,
        _ => return None,
    };
    let ports = match ports {
        None => None,
        Some(p) => {
            let (lo, hi) = match p.split_once('-') {
                Some((a, b)) => (a.parse::<u16>().ok()?, b.parse::<u16>().ok()?),
                None => {
                    let n = p.parse::<u16>().ok()?;
                    (n, n)
                }
            };
            if lo == 0 || lo > hi {
                return None;
            }
            Some((lo, hi))
        }
    };
    Some(PortSpec { proto, ports, span })
}

pub fn parse_addr(w: &str) -> Option<AddrLit> {
    if let Some(rest) = w.strip_prefix('.') {
        return rest.parse::<u16>().ok().map(AddrLit::Suffix);
    }
    if w.contains('/') {
        return w.parse::<ipnet::IpNet>().ok().map(AddrLit::Net);
    }
    if let Ok(a) = w.parse::<IpAddr>() {
        return Some(AddrLit::Addr(a));
    }
    // Ranges: `a-b` where b is a full address or, for IPv4, the last octet.
    let (lo, hi) = w.split_once('-')?;
    let lo: IpAddr = lo.parse().ok()?;
    let hi: IpAddr = match (hi.parse::<IpAddr>(), lo) {
        (Ok(h), _) => h,
        (Err(_), IpAddr::V4(l)) => {
            let last: u8 = hi.parse().ok()?;
            let o = l.octets();
            IpAddr::V4(Ipv4Addr::new(o[0], o[1], o[2], last))
        }
        (Err(_), IpAddr::V6(l)) => {
            let last = u16::from_str_radix(hi, 16).ok()?;
            let mut s = l.segments();
            s[7] = last;
            IpAddr::V6(Ipv6Addr::from(s))
        }
    };
    if lo.is_ipv4() != hi.is_ipv4() || hi < lo {
        return None;
    }
    Some(AddrLit::Range(lo, hi))
}

// The codes this file emits, declared here (listed in `codes::ALL`).
pub const E001: crate::codes::Code = crate::codes::code!(
    "E001",
    "syntax",
    Error,
    "the text is not a netc statement",
    "What it does: reports text that the grammar (grammar/netc.ebnf) does not accept.\n\
         Why: netc cannot guess what a plan means; it skips to the next line and reports every\n\
         such line in one run.\n\
         Example:\n    vlan ten mgmt        # the VLAN id must be a number\n    vlan 10 mgmt"
);

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> File {
        let (f, d) = parse(FileId(0), text);
        assert!(d.is_empty(), "{d:?}");
        f
    }

    #[test]
    fn one_line_declarations() {
        let f = ok("vlan 22 app-catalog { subnet 10.20.10.0/24 gateway .1 }\n\
                    tier catalog on app-catalog, mgmt\n\
                    host pg01 in catalog { app-catalog 10.20.10.11 mgmt 10.10.0.31 firewall firewalld }\n\
                    vip pg-vip 10.20.10.100 for pg01, pg02 check tcp/5432\n\
                    service postgres tcp/5432\n\
                    allow processing, query -> catalog : postgres log \"Spark reads\"\n");
        assert_eq!(f.stmts.len(), 6);
        let Stmt::Flow(flow) = &f.stmts[5] else {
            panic!()
        };
        assert_eq!(flow.sources.len(), 2);
        assert!(flow.log);
    }

    #[test]
    fn errors_recover_per_line() {
        let (f, d) = parse(
            FileId(0),
            "vlan x y\nservice a tcp/99999\nservice ok tcp/1\nfrobnicate\n",
        );
        assert_eq!(d.len(), 3);
        assert_eq!(f.stmts.len(), 1);
    }

    #[test]
    fn ranges() {
        assert_eq!(
            parse_addr("10.10.0.11-30"),
            Some(AddrLit::Range(
                "10.10.0.11".parse().unwrap(),
                "10.10.0.30".parse().unwrap()
            ))
        );
        assert_eq!(parse_addr("10.10.0.30-11"), None);
        assert_eq!(parse_addr(".1"), Some(AddrLit::Suffix(1)));
    }
}
