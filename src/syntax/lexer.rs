//! Tokens of the plan language, cut with nom. Words cover names, addresses, CIDRs, ranges and
//! port specs alike; the parser classifies them. Newlines are tokens because a top-level
//! statement ends at the end of its line (inside braces they are plain white space).

use nom::{
    branch::alt,
    bytes::complete::{tag, take_while, take_while1},
    character::complete::{char, none_of},
    combinator::{map, recognize, value},
    multi::many0,
    sequence::{delimited, pair},
    IResult,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    Word(String),
    Str(String),
    LBrace,
    RBrace,
    Comma,
    Semi,
    Colon,
    Arrow,
    Newline,
    /// A character that starts no token; reported by the parser where it stands.
    Bad(char),
    /// A string with no closing quote on its line.
    Unterminated,
    /// A backslash escape a string does not take (only `\"` and `\\`); the token is the
    /// escape, and the rest of the string is skipped.
    BadEscape(char),
}

#[derive(Debug, Clone)]
pub struct Token {
    pub tok: Tok,
    pub start: usize,
    pub end: usize,
}

/// Longest accepted line; longer ones are cut into a `Bad` token so hostile input stays bounded.
pub const MAX_WORD: usize = 1024;

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '/' | '*' | '@' | '-' | '+')
}

fn string_body(input: &str) -> IResult<&str, String> {
    let escaped = alt((
        value('"', tag("\\\"")),
        value('\\', tag("\\\\")),
        none_of("\"\\\n\r"),
    ));
    map(many0(escaped), |chars| chars.into_iter().collect())(input)
}

fn string_lit(input: &str) -> IResult<&str, Tok> {
    map(delimited(char('"'), string_body, char('"')), Tok::Str)(input)
}

/// The first escape a string (starting with its quote) has that the language does not take:
/// its byte offset and the escaped character.
fn bad_escape(line: &str) -> Option<(usize, char)> {
    let mut chars = line.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return None,
            '\\' => match chars.next() {
                Some((_, '"' | '\\')) => {}
                Some((_, e)) => return Some((i, e)),
                None => return None,
            },
            _ => {}
        }
    }
    None
}

/// Where a string (starting with its quote) ends, past its closing quote, escapes skipped.
fn string_end(line: &str) -> Option<usize> {
    let mut chars = line.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some(i + 1),
            '\\' => {
                chars.next();
            }
            _ => {}
        }
    }
    None
}

fn blank(input: &str) -> IResult<&str, &str> {
    recognize(pair(
        take_while(|c| c == ' ' || c == '\t' || c == '\r'),
        nom::combinator::opt(pair(char('#'), take_while(|c| c != '\n'))),
    ))(input)
}

fn punct(input: &str) -> IResult<&str, Tok> {
    alt((
        value(Tok::LBrace, char('{')),
        value(Tok::RBrace, char('}')),
        value(Tok::Comma, char(',')),
        value(Tok::Semi, char(';')),
        value(Tok::Arrow, tag("->")),
        value(Tok::Newline, char('\n')),
    ))(input)
}

/// Split `text` into tokens. Never fails: unknown characters become `Tok::Bad`.
pub fn lex(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut rest = text;
    let offset = |r: &str| text.len() - r.len();
    loop {
        if let Ok((r, _)) = blank(rest) {
            rest = r;
        }
        if rest.is_empty() {
            break;
        }
        let start = offset(rest);
        // A lone colon (followed by blank or end) separates a flow's services.
        if rest.starts_with(':') && rest[1..].chars().next().is_none_or(|c| c.is_whitespace()) {
            tokens.push(Token {
                tok: Tok::Colon,
                start,
                end: start + 1,
            });
            rest = &rest[1..];
            continue;
        }
        if let Ok((r, tok)) = punct(rest) {
            tokens.push(Token {
                tok,
                start,
                end: offset(r),
            });
            rest = r;
            continue;
        }
        if rest.starts_with('"') {
            match string_lit(rest) {
                Ok((r, tok)) => {
                    tokens.push(Token {
                        tok,
                        start,
                        end: offset(r),
                    });
                    rest = r;
                }
                Err(_) => {
                    let len = rest.find('\n').unwrap_or(rest.len());
                    let line = &rest[..len];
                    match bad_escape(line) {
                        Some((at, c)) => {
                            // Skip the rest of the string: to its closing quote, else the line end.
                            let close = string_end(line).unwrap_or(len);
                            tokens.push(Token {
                                tok: Tok::BadEscape(c),
                                start: start + at,
                                end: start + at + 1 + c.len_utf8(),
                            });
                            rest = &rest[close..];
                        }
                        None => {
                            tokens.push(Token {
                                tok: Tok::Unterminated,
                                start,
                                end: start + len,
                            });
                            rest = &rest[len..];
                        }
                    }
                }
            }
            continue;
        }
        if let Ok((_, word)) = take_while1::<_, _, nom::error::Error<&str>>(is_word_char)(rest) {
            // `a->b`: the arrow is never part of a word.
            // `a->b`: the arrow is never part of a word (a word never starts with it: `punct`
            // takes a leading arrow first).
            let mut word = word
                .find("->")
                .filter(|&i| i > 0)
                .map_or(word, |i| &word[..i]);
            if word.len() > 1 && word.ends_with('-') && rest[word.len()..].starts_with('>') {
                word = &word[..word.len() - 1];
            }
            // `catalog: postgres`: a trailing colon on a word without other colons.
            let mut colon = false;
            if word.len() > 1 && word.ends_with(':') && word.matches(':').count() == 1 {
                word = &word[..word.len() - 1];
                colon = true;
            }
            let end = start + word.len();
            if word.len() > MAX_WORD {
                tokens.push(Token {
                    tok: Tok::Bad(word.chars().next().unwrap_or('?')),
                    start,
                    end,
                });
            } else {
                tokens.push(Token {
                    tok: Tok::Word(word.to_string()),
                    start,
                    end,
                });
            }
            if colon {
                tokens.push(Token {
                    tok: Tok::Colon,
                    start: end,
                    end: end + 1,
                });
                rest = &rest[word.len() + 1..];
            } else {
                rest = &rest[word.len()..];
            }
            continue;
        }
        let c = rest.chars().next().unwrap_or('?');
        tokens.push(Token {
            tok: Tok::Bad(c),
            start,
            end: start + c.len_utf8(),
        });
        rest = &rest[c.len_utf8()..];
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<Tok> {
        lex(text).into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn words_arrows_and_colons() {
        assert_eq!(
            kinds("allow a,b->c: pg # note\n"),
            vec![
                Tok::Word("allow".into()),
                Tok::Word("a".into()),
                Tok::Comma,
                Tok::Word("b".into()),
                Tok::Arrow,
                Tok::Word("c".into()),
                Tok::Colon,
                Tok::Word("pg".into()),
                Tok::Newline,
            ]
        );
    }

    #[test]
    fn ipv6_keeps_its_colons() {
        assert_eq!(
            kinds("2001:db8::/64 fe80::"),
            vec![
                Tok::Word("2001:db8::/64".into()),
                Tok::Word("fe80::".into())
            ]
        );
    }

    #[test]
    fn strings_and_bad_chars() {
        assert_eq!(
            kinds(r#""a \"b\"" $"#),
            vec![Tok::Str("a \"b\"".into()), Tok::Bad('$')]
        );
        assert_eq!(
            kinds("\"open\nx"),
            vec![Tok::Unterminated, Tok::Newline, Tok::Word("x".into())]
        );
    }
}
