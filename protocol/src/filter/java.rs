//! The `java.lang` conversions and orderings the SQL92 evaluator depends on.
//!
//! Apache converts property strings with `Integer.valueOf`, `Long.valueOf`, `Double.valueOf` and
//! `Boolean.valueOf`, and orders doubles with `Double.compare`; these reproduce those rules on
//! ASCII input (see the module docs of [`crate::filter`] for the known gaps).

use std::cmp::Ordering;

/// `Integer.valueOf(String)`: an optional `+`/`-` then ASCII digits, no whitespace, in range.
pub(crate) fn parse_int(s: &str) -> Option<i32> {
    // Rust's integer grammar (one optional sign, then digits, nothing else) is Java's.
    s.parse().ok()
}

/// `Long.valueOf(String)`, with the same grammar as [`parse_int`].
pub(crate) fn parse_long(s: &str) -> Option<i64> {
    s.parse().ok()
}

/// `Boolean.valueOf(String)`: `true` when the text is `true` in any ASCII case, else `false`.
pub(crate) fn parse_boolean(s: &str) -> bool {
    s.eq_ignore_ascii_case("true")
}

/// `Double.valueOf(String)` for the decimal forms Java accepts.
///
/// Java trims every char `<= ' '` at both ends, then takes an optional sign and `NaN`,
/// `Infinity`, or digits with at most one `.` (at least one digit in all), an optional exponent
/// `[eE][+-]?digits` and an optional `f`/`F`/`d`/`D` suffix. Hexadecimal floats (`0x1p3`) are
/// not supported and yield `None`, as does anything else Java rejects.
pub(crate) fn parse_double(s: &str) -> Option<f64> {
    let t = s.trim_matches(|c: char| c <= ' ');
    let (negative, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let magnitude = match body {
        "NaN" => f64::NAN,
        "Infinity" => f64::INFINITY,
        _ => parse_decimal_magnitude(body)?,
    };
    Some(if negative { -magnitude } else { magnitude })
}

/// The unsigned decimal part of [`parse_double`].
fn parse_decimal_magnitude(body: &str) -> Option<f64> {
    let b = body.as_bytes();
    let mut i = 0;
    let mut digits = 0;
    let mut seen_dot = false;
    while i < b.len() {
        match b[i] {
            b'0'..=b'9' => digits += 1,
            b'.' if !seen_dot => seen_dot = true,
            _ => break,
        }
        i += 1;
    }
    if digits == 0 {
        return None;
    }
    let mut end = i;
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        let exp_digits = b[j..].iter().take_while(|c| c.is_ascii_digit()).count();
        if exp_digits == 0 {
            return None;
        }
        end = j + exp_digits;
    }
    match &b[end..] {
        [] | [b'f' | b'F' | b'd' | b'D'] => {}
        _ => return None,
    }
    // What is left is digits, one optional dot and an exponent: Rust's float grammar accepts it
    // and rounds it correctly, as Java does.
    body[..end].parse().ok()
}

/// `Double.compare`: NaN equals itself and is above everything, and `-0.0 < 0.0`.
pub(crate) fn compare_double(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => a.total_cmp(&b),
    }
}

/// `String.compareTo`: lexicographic over UTF-16 code units.
pub(crate) fn compare_string(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_follow_java() {
        assert_eq!(parse_int("+5"), Some(5));
        assert_eq!(parse_int("-0012"), Some(-12));
        assert_eq!(parse_int("2147483648"), None);
        assert_eq!(parse_long("2147483648"), Some(2_147_483_648));
        for bad in ["", "+", "-", " 5", "5 ", "5.0", "1e3", "0x10", "+-1"] {
            assert_eq!(parse_int(bad), None, "{bad:?}");
            assert_eq!(parse_long(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn doubles_follow_java() {
        let ok = [
            ("1", 1.0),
            (" 1.5 ", 1.5),
            ("\t-2.", -2.0),
            (".5", 0.5),
            ("5.e1", 50.0),
            ("1E-1", 0.1),
            ("+3f", 3.0),
            ("3.25D", 3.25),
            ("-Infinity", f64::NEG_INFINITY),
            ("1e400", f64::INFINITY),
        ];
        for (text, want) in ok {
            assert_eq!(parse_double(text), Some(want), "{text:?}");
        }
        assert!(parse_double("NaN").is_some_and(f64::is_nan));
        for bad in [
            "", ".", "+", "e5", "1e", "1e+", "1.2.3", "nan", "inf", "infinity", "1ff", "0x1p3",
            "1 2", "--1",
        ] {
            assert_eq!(parse_double(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn double_order_is_total() {
        assert_eq!(compare_double(f64::NAN, f64::INFINITY), Ordering::Greater);
        assert_eq!(compare_double(-f64::NAN, f64::NAN), Ordering::Equal);
        assert_eq!(compare_double(-0.0, 0.0), Ordering::Less);
        assert_eq!(compare_double(1.0, 2.0), Ordering::Less);
    }

    #[test]
    fn booleans_and_strings() {
        assert!(parse_boolean("TrUe"));
        assert!(!parse_boolean("yes"));
        assert_eq!(compare_string("\u{ff61}", "\u{1f600}"), Ordering::Greater);
    }
}
