//! Java `.properties` text: the config file format of `mqnamesrv -c` / `mqbroker -c`, and the body
//! of UPDATE/GET_NAMESRV_CONFIG and UPDATE/GET_BROKER_CONFIG (`key=value` lines).
//!
//! Parsing follows `java.util.Properties.load`: `#`/`!` comment lines, the key ends at the first
//! unescaped `=`, `:` or whitespace, backslash escapes (`\t`, `\n`, `\uXXXX`, ...) and line
//! continuations. Unlike Java, values are trimmed of trailing whitespace too: a stray space after
//! `listenPort=9876 ` is a classic operator trap, and no RocketMQ key wants trailing blanks.

/// Parses properties text into `(key, value)` pairs in file order; a later duplicate key wins
/// when collected into a map.
pub fn parse(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut logical = String::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start_matches([' ', '\t', '\u{c}']);
        if logical.is_empty()
            && (trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with('!'))
        {
            continue;
        }
        if ends_with_continuation(trimmed) {
            logical.push_str(&trimmed[..trimmed.len() - 1]);
            if lines.clone().next().is_some() {
                continue;
            }
        } else {
            logical.push_str(trimmed);
        }
        if let Some(pair) = split_pair(&logical) {
            out.push(pair);
        }
        logical.clear();
    }
    out
}

fn ends_with_continuation(line: &str) -> bool {
    line.bytes().rev().take_while(|b| *b == b'\\').count() % 2 == 1
}

fn split_pair(line: &str) -> Option<(String, String)> {
    let mut key = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(e) = chars.next() {
                    push_escape(e, &mut chars, &mut key);
                }
            }
            '=' | ':' => break,
            ' ' | '\t' | '\u{c}' => {
                // Whitespace ends the key; one `=` or `:` may still follow it.
                while matches!(chars.peek(), Some(' ' | '\t' | '\u{c}')) {
                    chars.next();
                }
                if matches!(chars.peek(), Some('=' | ':')) {
                    chars.next();
                }
                break;
            }
            c => key.push(c),
        }
    }
    while matches!(chars.peek(), Some(' ' | '\t' | '\u{c}')) {
        chars.next();
    }
    let mut value = String::new();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(e) = chars.next() {
                push_escape(e, &mut chars, &mut value);
            }
        } else {
            value.push(c);
        }
    }
    if key.is_empty() {
        return None;
    }
    Some((key, value.trim_end().to_owned()))
}

fn push_escape(e: char, chars: &mut std::iter::Peekable<std::str::Chars<'_>>, out: &mut String) {
    match e {
        't' => out.push('\t'),
        'n' => out.push('\n'),
        'r' => out.push('\r'),
        'f' => out.push('\u{c}'),
        'u' => {
            let hex: String = chars.by_ref().take(4).collect();
            match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                Some(c) => out.push(c),
                None => out.push_str(&hex),
            }
        }
        other => out.push(other),
    }
}

/// Writes pairs as `key=value` lines, as Apache's `MixAll.properties2String` does (newlines and
/// backslashes in values escaped so the text parses back to the same pairs).
pub fn to_string<'a, I, K, V>(pairs: I) -> String
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str> + 'a,
    V: AsRef<str> + 'a,
{
    let mut out = String::new();
    for (k, v) in pairs {
        escape_into(k.as_ref(), true, &mut out);
        out.push('=');
        escape_into(v.as_ref(), false, &mut out);
        out.push('\n');
    }
    out
}

fn escape_into(s: &str, is_key: bool, out: &mut String) {
    for (i, c) in s.chars().enumerate() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '=' | ':' | ' ' if is_key => {
                out.push('\\');
                out.push(c);
            }
            ' ' if i == 0 => out.push_str("\\ "),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_java_properties() {
        let text = "# comment\n! also\n\nbrokerClusterName = DefaultCluster\nbrokerName:broker-a\n\
                    listenPort 10911   \n  namesrvAddr=127.0.0.1:9876;\\\n    127.0.0.2:9876\nkey\\=x=v\\u0041\n\
                    empty=\n";
        let got = parse(text);
        let expect: Vec<(String, String)> = [
            ("brokerClusterName", "DefaultCluster"),
            ("brokerName", "broker-a"),
            ("listenPort", "10911"),
            ("namesrvAddr", "127.0.0.1:9876;127.0.0.2:9876"),
            ("key=x", "vA"),
            ("empty", ""),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(got, expect);
    }

    #[test]
    fn writes_what_it_reads() {
        let pairs = vec![
            ("a".to_owned(), "1".to_owned()),
            ("with space".to_owned(), " lead\nline\\".to_owned()),
        ];
        let text = to_string(pairs.iter().map(|(k, v)| (k, v)));
        assert_eq!(text.lines().next(), Some("a=1"));
        assert_eq!(parse(&text), pairs);
    }
}
