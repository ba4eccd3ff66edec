//! SQL92 parsing: what Apache's `SelectorParser` accepts and rejects, and the canonical print.

use ferromq_protocol::filter::{Selector, MAX_DEPTH};
use ferromq_protocol::ProtocolError;

#[track_caller]
fn canonical(sql: &str) -> String {
    match Selector::parse(sql) {
        Ok(s) => s.to_string(),
        Err(e) => panic!("{sql:?} should parse: {e}"),
    }
}

#[track_caller]
fn rejects(sql: &str) -> String {
    match Selector::parse(sql) {
        Ok(s) => panic!("{sql:?} should be rejected, parsed as {s}"),
        Err(ProtocolError::Malformed { what, reason }) => {
            assert_eq!(what, "SQL92 selector");
            assert!(reason.starts_with("at byte "), "{reason}");
            reason.into_owned()
        }
        Err(other) => panic!("{sql:?}: unexpected error kind {other:?}"),
    }
}

#[test]
fn apache_parser_test_valid_expressions() {
    // ParserTest.testParse_valid.
    for sql in [
        "a=3 and b<>4 And c>5 AND d<=4",
        "a=3 or b<>4 Or c>5 OR d<=4",
        "a in ('3', '4', '5')",
        "(a not in ('6', '4', '5')) or (b in ('3', '4', '5'))",
        "(a between 2 and 10) AND (b not between 6 and 9)",
        "a is null",
        "a is not null",
        "a <= now",
    ] {
        canonical(sql);
    }
    assert_eq!(
        Selector::parse("a=3  and    b<>4 And c>5 AND d<=4").ok(),
        Selector::parse("a=3 and b<>4 And c>5 AND d<=4").ok()
    );
}

#[test]
fn apache_parser_test_invalid_expressions() {
    // ParserTest: invalid, decimal overflow, float overflow, illegal between.
    rejects("a and between 2 and 10");
    rejects("a > 100000000000000000000000");
    rejects(&format!("a > 1{}.{}", "1".repeat(400), "1".repeat(400)));
    rejects(" a between 10 and 0");
}

#[test]
fn canonical_form_shows_precedence() {
    assert_eq!(
        canonical("a = 1 OR b = 2 AND c = 3"),
        "((a = 1) OR ((b = 2) AND (c = 3)))"
    );
    assert_eq!(canonical("NOT a = 1"), "((NOT a) = 1)");
    assert_eq!(canonical("a = b > 1"), "(a = (b > 1))");
    assert_eq!(canonical("a > 1 = TRUE"), "((a > 1) = TRUE)");
    assert_eq!(
        canonical("a=1 and b=2 and (c=3 and d=4)"),
        "((a = 1) AND (b = 2) AND (c = 3) AND (d = 4))"
    );
    assert_eq!(
        canonical("a IS NULL IS NOT NULL"),
        "((a IS NULL) IS NOT NULL)"
    );
    assert_eq!(canonical("a BETWEEN -5 AND 5"), "(a BETWEEN (-5) AND 5)");
    assert_eq!(
        canonical("a NOT IN ('it''s', 'b')"),
        "(a NOT IN ('it''s', 'b'))"
    );
    assert_eq!(canonical("a not contains 'x'"), "(a NOT CONTAINS 'x')");
    assert_eq!(canonical("+a > - -5"), "(a > (-(-5)))");
    assert_eq!(canonical("(((a)))"), "a");
}

#[test]
fn literals() {
    assert_eq!(canonical("a = 2147483647"), "(a = 2147483647)");
    assert_eq!(canonical("a = 2147483648"), "(a = 2147483648)");
    assert_eq!(
        canonical("a = 9223372036854775807L"),
        "(a = 9223372036854775807)"
    );
    assert_eq!(canonical("a = 7l"), "(a = 7)");
    assert_eq!(canonical("a = 1.5"), "(a = 1.5)");
    assert_eq!(canonical("a = 5."), "(a = 5.0)");
    assert_eq!(canonical("a = .25"), "(a = 0.25)");
    assert_eq!(canonical("a = 5e3"), "(a = 5000.0)");
    assert_eq!(canonical("a = 1.5E-7"), "(a = 1.5e-7)");
    assert_eq!(canonical("a = 007.5"), "(a = 7.5)");
    assert_eq!(canonical("a = ''''"), "(a = '''')");
    assert_eq!(canonical("a = 'caf\u{e9}'"), "(a = 'caf\u{e9}')");
    // Long.MIN_VALUE cannot be written: its magnitude overflows before the negation.
    rejects("a > 9223372036854775808");
    rejects("a > -9223372036854775808");
    // createFloat refuses values below Double.MIN_VALUE (so zero) and above Double.MAX_VALUE.
    rejects("a > 0.0");
    rejects("a > 0e5");
    rejects("a > 1E-400");
    rejects("a > 1E400");
}

#[test]
fn keywords_are_case_insensitive_and_comments_skip() {
    assert_eq!(
        canonical("a iS nOt NuLl AnD b In ('x') oR c BeTwEeN 1 aNd 2"),
        "(((a IS NOT NULL) AND (b IN ('x'))) OR (c BETWEEN 1 AND 2))"
    );
    assert_eq!(
        canonical("a = 1 /* block */ AND -- line\r\n b = 2"),
        "((a = 1) AND (b = 2))"
    );
    assert_eq!(
        canonical("a=TRUE or b=false"),
        "((a = TRUE) OR (b = FALSE))"
    );
    // Identifiers keep their case; keywords cannot be property names.
    assert_eq!(canonical("Tags = 'x'"), "(Tags = 'x')");
    assert_eq!(canonical("$x_1 = 'x'"), "($x_1 = 'x')");
    rejects("contains = 'x'");
}

#[test]
fn semantic_checks_at_parse_time() {
    // checkEqualOperand: NULL cannot be compared with = or <>.
    rejects("a = NULL");
    rejects("NULL <> a");
    // checkEqualOperandCompatability: boolean literal on the left of a number/string literal.
    rejects("TRUE = 1");
    rejects("FALSE = 'x'");
    canonical("1 = TRUE");
    canonical("TRUE = a");
    // checkLessThanOperand: only numbers (or non-boolean expressions) can be ordered.
    rejects("a > 'x'");
    rejects("a > TRUE");
    rejects("a > NULL");
    rejects("(a = 1) > 5");
    rejects("a > 1 > 0");
    rejects("a BETWEEN 'a' AND 'b'");
    rejects("a BETWEEN 1 AND NULL");
    rejects("a BETWEEN 2 AND 1.5");
    canonical("a BETWEEN 1 AND 1.5");
    canonical("a NOT BETWEEN 10 AND 0");
    // createInFilter: the left side must be a property.
    rejects("'x' IN ('x')");
    rejects("(a = 1) IN ('x')");
    canonical("(a) IN ('x')");
    // IN lists and string predicates take string literals only.
    rejects("a IN (1)");
    rejects("a IN ()");
    rejects("a CONTAINS b");
    // asBooleanExpression: the result must be boolean.
    rejects("5");
    rejects("'x'");
    rejects("-a");
    rejects("NOT 5");
    rejects("a AND 1");
    canonical("a");
    canonical("NULL");
}

#[test]
fn syntax_errors_report_the_offset() {
    assert!(rejects("a = = 1").starts_with("at byte 4:"));
    assert!(rejects("a = 'open").starts_with("at byte 4:"));
    assert!(rejects("a ! 1").starts_with("at byte 2:"));
    assert!(rejects("a NOT LIKE 'x'").starts_with("at byte 6:"));
    rejects("");
    rejects("   ");
    rejects("a >");
    rejects("(a = 1");
    rejects("a IS 5");
    rejects("a = 1 AND");
    rejects("a = .");
    rejects("-- only a comment\n");
    rejects("a = 1 /* unclosed");
}

#[test]
fn trailing_text_is_ignored_like_apache() {
    // JmsSelector() has no <EOF>: the parse ends with the longest expression.
    assert_eq!(canonical("a = 1 b = 2"), "(a = 1)");
    assert_eq!(canonical("a = 1)"), "(a = 1)");
    assert_eq!(canonical("a LIKE 'x%'"), "a");
    assert_eq!(canonical("a=1andb=2"), "(a = 1)");
    assert_eq!(canonical("a = 1 -- no line break"), "(a = 1)");
    assert_eq!(canonical("a = 1 b #"), "(a = 1)");
    // ...but the one token looked at to end the expression must lex.
    rejects("a = 1 #");
    rejects("a = 1 NOT x");
    let s = Selector::parse("a = 1 b").expect("valid");
    assert_eq!(s.source(), "a = 1 b");
}

#[test]
fn depth_is_bounded() {
    // Parentheses may nest twice as deep as the tree is tall.
    let nest = |n: usize| format!("{}a{}", "(".repeat(n), ")".repeat(n));
    canonical(&nest(2 * MAX_DEPTH));
    assert!(rejects(&nest(2 * MAX_DEPTH + 1)).contains("nested deeper"));
    // The tallest trees print with two nesting levels per operator and still parse back.
    for tall in [
        format!("a{}", " IS NULL".repeat(MAX_DEPTH - 1)),
        format!("a > {}5", "- ".repeat(MAX_DEPTH - 2)),
        format!("{}a", "NOT ".repeat(MAX_DEPTH - 2)),
    ] {
        let printed = canonical(&tall);
        assert_eq!(canonical(&printed), printed);
    }
    rejects(&format!("a{}", " IS NULL".repeat(MAX_DEPTH)));
    rejects(&format!("{}a", "NOT ".repeat(100_000)));
    rejects(&format!("a > {}5", "- ".repeat(100_000)));
    rejects(&format!("a > {}5", "+ ".repeat(100_000)));
    rejects(&format!("{}a", "(".repeat(100_000)));
    // Long AND/OR chains are flat, so any length is fine.
    let chain = vec!["a = 1"; 20_000].join(" AND ");
    let selector = Selector::parse(&chain).expect("flat chain");
    let props: std::collections::BTreeMap<String, String> =
        [("a".to_owned(), "1".to_owned())].into();
    assert!(selector.evaluate(&props));
    let mixed = vec!["a = 2 OR b = 1 AND c = 1"; 5_000].join(" OR ");
    assert!(!Selector::parse(&mixed)
        .expect("flat chain")
        .evaluate(&props));
}

#[test]
fn display_round_trips() {
    for sql in [
        "a > 5 AND b = 'x'",
        "NOT (a = 1 OR b <> 2) AND c IS NOT NULL",
        "a NOT BETWEEN -1.5 AND 2 OR TAGS NOT IN ('a''b', '')",
        "x ENDSWITH 'z' AND y NOT STARTSWITH 'q' AND NOT z",
        "-(-a) >= -9223372036854775807 AND 1.7976931348623157E308 > b",
        "4.9E-324 < a",
    ] {
        let first = Selector::parse(sql).expect("valid");
        let printed = first.to_string();
        let second: Selector = printed.parse().expect("canonical form parses");
        assert_eq!(first, second, "{sql:?} printed as {printed:?}");
        assert_eq!(printed, second.to_string());
    }
}
