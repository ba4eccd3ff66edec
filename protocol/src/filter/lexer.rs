//! Tokens of Apache's `SelectorParser.jj`, produced lazily with JavaCC's longest-match rule.
//!
//! The parser pulls tokens one at a time, so (as with JavaCC) bytes after the last token the
//! grammar looked at are never examined.

use super::syntax_error;
use crate::error::Result;

/// A token kind; text-carrying kinds borrow from the selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok<'a> {
    Not,
    And,
    Or,
    Between,
    In,
    True,
    False,
    Null,
    Is,
    Contains,
    StartsWith,
    EndsWith,
    /// `0 | [1-9][0-9]*[lL]?`, as written.
    Decimal(&'a str),
    /// `5.5`, `5.`, `.5`, `5E10` and friends, as written.
    Float(&'a str),
    /// A string literal with its `''` escapes decoded.
    Str(String),
    /// An identifier (a property name).
    Id(&'a str),
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    LParen,
    Comma,
    RParen,
    Plus,
    Minus,
    Eof,
}

impl Tok<'_> {
    /// How the token reads in an error message.
    pub(crate) fn describe(&self) -> String {
        let fixed = match self {
            Tok::Not => "NOT",
            Tok::And => "AND",
            Tok::Or => "OR",
            Tok::Between => "BETWEEN",
            Tok::In => "IN",
            Tok::True => "TRUE",
            Tok::False => "FALSE",
            Tok::Null => "NULL",
            Tok::Is => "IS",
            Tok::Contains => "CONTAINS",
            Tok::StartsWith => "STARTSWITH",
            Tok::EndsWith => "ENDSWITH",
            Tok::Decimal(t) | Tok::Float(t) => return format!("number {t}"),
            Tok::Str(_) => "string literal",
            Tok::Id(t) => return format!("identifier {t}"),
            Tok::Eq => "'='",
            Tok::Ne => "'<>'",
            Tok::Gt => "'>'",
            Tok::Ge => "'>='",
            Tok::Lt => "'<'",
            Tok::Le => "'<='",
            Tok::LParen => "'('",
            Tok::Comma => "','",
            Tok::RParen => "')'",
            Tok::Plus => "'+'",
            Tok::Minus => "'-'",
            Tok::Eof => "end of input",
        };
        fixed.to_owned()
    }
}

/// A token and the byte offset where it starts.
#[derive(Debug, Clone)]
pub(crate) struct Token<'a> {
    pub(crate) tok: Tok<'a>,
    pub(crate) at: usize,
}

/// The reserved words (matched case-insensitively; a longer identifier wins).
const KEYWORDS: [(&str, Tok<'static>); 12] = [
    ("NOT", Tok::Not),
    ("AND", Tok::And),
    ("OR", Tok::Or),
    ("BETWEEN", Tok::Between),
    ("IN", Tok::In),
    ("TRUE", Tok::True),
    ("FALSE", Tok::False),
    ("NULL", Tok::Null),
    ("IS", Tok::Is),
    ("CONTAINS", Tok::Contains),
    ("STARTSWITH", Tok::StartsWith),
    ("ENDSWITH", Tok::EndsWith),
];

/// A cursor over the selector text.
#[derive(Debug)]
pub(crate) struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(src: &'a str) -> Self {
        Lexer { src, pos: 0 }
    }

    /// The next token, or an error at a character no token can start with.
    pub(crate) fn next_token(&mut self) -> Result<Token<'a>> {
        self.skip_trivia();
        let b = self.src.as_bytes();
        let at = self.pos;
        let Some(&c) = b.get(at) else {
            return Ok(Token { tok: Tok::Eof, at });
        };
        let next = b.get(at + 1).copied();
        let (tok, len) = match c {
            b'=' => (Tok::Eq, 1),
            b'<' if next == Some(b'>') => (Tok::Ne, 2),
            b'<' if next == Some(b'=') => (Tok::Le, 2),
            b'<' => (Tok::Lt, 1),
            b'>' if next == Some(b'=') => (Tok::Ge, 2),
            b'>' => (Tok::Gt, 1),
            b'(' => (Tok::LParen, 1),
            b',' => (Tok::Comma, 1),
            b')' => (Tok::RParen, 1),
            b'+' => (Tok::Plus, 1),
            b'-' => (Tok::Minus, 1),
            b'\'' => self.string_literal(at)?,
            b'0'..=b'9' | b'.' => self.number(at)?,
            b'a'..=b'z' | b'A'..=b'Z' | b'_' | b'$' => self.word(at),
            _ => {
                let ch = self.src[at..].chars().next().unwrap_or('\u{fffd}');
                return Err(syntax_error(at, format!("unexpected character {ch:?}")));
            }
        };
        self.pos = at + len;
        Ok(Token { tok, at })
    }

    /// Skips white space (` \t\n\r\f`), `--` comments that end in a line break and `/* */`
    /// comments. A `--` without a line break after it is not a comment but two minus signs, and
    /// an unclosed `/*` is left for `next_token` to reject.
    fn skip_trivia(&mut self) {
        let b = self.src.as_bytes();
        loop {
            match b.get(self.pos) {
                Some(b' ' | b'\t' | b'\n' | b'\r' | b'\x0c') => self.pos += 1,
                Some(b'-') if b.get(self.pos + 1) == Some(&b'-') => {
                    let rest = &b[self.pos + 2..];
                    let Some(nl) = rest.iter().position(|&c| c == b'\n' || c == b'\r') else {
                        return;
                    };
                    let mut end = self.pos + 2 + nl + 1;
                    if rest[nl] == b'\r' && b.get(end) == Some(&b'\n') {
                        end += 1;
                    }
                    self.pos = end;
                }
                Some(b'/') if b.get(self.pos + 1) == Some(&b'*') => {
                    match self.src[self.pos + 2..].find("*/") {
                        Some(close) => self.pos += 2 + close + 2,
                        None => return,
                    }
                }
                _ => return,
            }
        }
    }

    /// `'...'` with `''` for a quote. Like the JavaCC automaton, an unterminated run falls back
    /// to the longest prefix that was a complete literal.
    fn string_literal(&self, at: usize) -> Result<(Tok<'a>, usize)> {
        let b = self.src.as_bytes();
        let mut i = at + 1;
        let mut last_complete = None;
        while i < b.len() {
            if b[i] == b'\'' {
                last_complete = Some(i + 1);
                if b.get(i + 1) == Some(&b'\'') {
                    i += 2;
                    continue;
                }
                break;
            }
            i += 1;
        }
        let end = last_complete.ok_or_else(|| syntax_error(at, "unterminated string literal"))?;
        let value = self.src[at + 1..end - 1].replace("''", "'");
        Ok((Tok::Str(value), end - at))
    }

    /// `DECIMAL_LITERAL` or `FLOATING_POINT_LITERAL`, whichever match is longer.
    fn number(&self, at: usize) -> Result<(Tok<'a>, usize)> {
        let b = self.src.as_bytes();
        let digits_from = |i: usize| {
            b[i.min(b.len())..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .count()
        };
        let int_len = digits_from(at);
        let float_end = if int_len == 0 {
            // Only reached on '.': it must be followed by a digit.
            let frac = digits_from(at + 1);
            if frac == 0 {
                return Err(syntax_error(at, "unexpected character '.'"));
            }
            Some(self.exponent_end(at + 1 + frac))
        } else if b.get(at + int_len) == Some(&b'.') {
            let frac = digits_from(at + int_len + 1);
            Some(self.exponent_end(at + int_len + 1 + frac))
        } else {
            let end = self.exponent_end(at + int_len);
            (end > at + int_len).then_some(end)
        };
        if let Some(end) = float_end {
            return Ok((Tok::Float(&self.src[at..end]), end - at));
        }
        let mut end = if b[at] == b'0' { at + 1 } else { at + int_len };
        if b[at] != b'0' && matches!(b.get(end), Some(b'l' | b'L')) {
            end += 1;
        }
        Ok((Tok::Decimal(&self.src[at..end]), end - at))
    }

    /// The end of an optional `[eE][+-]?[0-9]+` starting at `i` (`i` itself when absent).
    fn exponent_end(&self, i: usize) -> usize {
        let b = self.src.as_bytes();
        if !matches!(b.get(i), Some(b'e' | b'E')) {
            return i;
        }
        let mut j = i + 1;
        if matches!(b.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        let digits = b[j.min(b.len())..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if digits == 0 {
            i
        } else {
            j + digits
        }
    }

    /// An identifier `[a-zA-Z_$][a-zA-Z0-9_$]*`, or a keyword when it is exactly one.
    fn word(&self, at: usize) -> (Tok<'a>, usize) {
        let len = self.src.as_bytes()[at..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_' || **c == b'$')
            .count();
        let text = &self.src[at..at + len];
        let tok = KEYWORDS
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(text))
            .map_or(Tok::Id(text), |(_, t)| t.clone());
        (tok, len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex(src: &str) -> Vec<Tok<'_>> {
        let mut lexer = Lexer::new(src);
        let mut out = Vec::new();
        loop {
            match lexer.next_token() {
                Ok(Token { tok: Tok::Eof, .. }) => return out,
                Ok(t) => out.push(t.tok),
                Err(_) => {
                    out.push(Tok::Id("<error>"));
                    return out;
                }
            }
        }
    }

    #[test]
    fn numbers_take_the_longest_match() {
        assert_eq!(
            lex("007"),
            [Tok::Decimal("0"), Tok::Decimal("0"), Tok::Decimal("7")]
        );
        assert_eq!(lex("007.5"), [Tok::Float("007.5")]);
        assert_eq!(lex("0L"), [Tok::Decimal("0"), Tok::Id("L")]);
        assert_eq!(lex("12l"), [Tok::Decimal("12l")]);
        assert_eq!(lex("5e"), [Tok::Decimal("5"), Tok::Id("e")]);
        assert_eq!(lex("5E+3x"), [Tok::Float("5E+3"), Tok::Id("x")]);
        assert_eq!(lex("5.e-1"), [Tok::Float("5.e-1")]);
        assert_eq!(lex("1.5.5"), [Tok::Float("1.5"), Tok::Float(".5")]);
        assert_eq!(lex(". 5"), [Tok::Id("<error>")]);
    }

    #[test]
    fn keywords_words_and_comments() {
        assert_eq!(lex("in iN INx"), [Tok::In, Tok::In, Tok::Id("INx")]);
        assert_eq!(lex("1and"), [Tok::Decimal("1"), Tok::And]);
        assert_eq!(lex("a -- c\r\nb"), [Tok::Id("a"), Tok::Id("b")]);
        assert_eq!(
            lex("a -- c"),
            [Tok::Id("a"), Tok::Minus, Tok::Minus, Tok::Id("c")]
        );
        assert_eq!(lex("a /* x */ b /**/"), [Tok::Id("a"), Tok::Id("b")]);
        assert_eq!(lex("a /*/ b"), [Tok::Id("a"), Tok::Id("<error>")]);
        assert_eq!(
            lex("<><=>=< >"),
            [Tok::Ne, Tok::Le, Tok::Ge, Tok::Lt, Tok::Gt]
        );
    }

    #[test]
    fn strings_decode_and_fall_back() {
        assert_eq!(lex("'it''s'"), [Tok::Str("it's".into())]);
        assert_eq!(lex("''''"), [Tok::Str("'".into())]);
        assert_eq!(lex("'ab''"), [Tok::Str("ab".into()), Tok::Id("<error>")]);
        assert_eq!(lex("'ab"), [Tok::Id("<error>")]);
        assert_eq!(lex("'\u{e9}\n'"), [Tok::Str("\u{e9}\n".into())]);
    }
}
