//! SQL92 evaluation edge cases; every expected result is derived from the Apache class named
//! in the comment (`org.apache.rocketmq.filter.expression.*`).

use std::collections::{BTreeMap, HashMap};

use ferromq_protocol::filter::{Outcome, PropertySource, Selector};
use ferromq_protocol::message::Properties;

fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn outcome(sql: &str, pairs: &[(&str, &str)]) -> Outcome {
    let selector = Selector::parse(sql).unwrap_or_else(|e| panic!("{sql:?}: {e}"));
    selector.outcome(&props(pairs))
}

#[track_caller]
fn check(sql: &str, pairs: &[(&str, &str)], want: &str) {
    let got = match outcome(sql, pairs) {
        Outcome::True => "true",
        Outcome::False => "false",
        Outcome::Unknown => "null",
        Outcome::Error(_) => "error",
    };
    assert_eq!(got, want, "{sql:?} with {pairs:?}");
}

#[test]
fn scenario_sql_filter_selects_exactly_the_matching_messages() {
    // docs/scenarios.md, "The list", sql-filter: a = 1..10, b = 'x' or 'y'.
    let selector = Selector::parse("a > 5 AND b = 'x'").expect("valid");
    let mut selected = Vec::new();
    for a in 1..=10 {
        for b in ["x", "y"] {
            let mut p = Properties::new();
            p.insert("a", a.to_string());
            p.insert("b", b);
            p.insert("TAGS", "TagA");
            if selector.evaluate(&p) {
                selected.push((a, b));
            }
        }
    }
    assert_eq!(
        selected,
        [(6, "x"), (7, "x"), (8, "x"), (9, "x"), (10, "x")]
    );
}

#[test]
fn numeric_strings_convert_to_the_literal_type() {
    // ComparisonExpression.__compare: String vs Integer → Integer.valueOf(string).
    check("a > 5", &[("a", "10")], "true");
    check("a > 5", &[("a", "+6")], "true");
    check("a > 5", &[("a", "5")], "false");
    check("a > 5", &[("a", "5.5")], "error");
    check("a > 5", &[("a", "10000000000")], "error");
    check("a > 5", &[("a", " 7")], "error");
    check("a > 5", &[("a", "abc")], "error");
    // 5L still narrows to an int (ConstantExpression.createFromDecimal).
    check("a > 5L", &[("a", "10000000000")], "error");
    // A long literal converts with Long.valueOf.
    check("a > 2147483648", &[("a", "10000000000")], "true");
    check("a = 2147483648", &[("a", "2147483648")], "true");
    check(
        "a < 9223372036854775807",
        &[("a", "9223372036854775808")],
        "error",
    );
    // A double literal converts with Double.valueOf, which trims and takes suffixes.
    check("a > 5.0", &[("a", "5.5")], "true");
    check("a > 5.0", &[("a", " 7 ")], "true");
    check("a > 5.0", &[("a", "7d")], "true");
    check("a = 1.5", &[("a", "1.50")], "true");
    check("a > 3.14", &[("a", "3.1415")], "true");
    check("a > 3.1E10", &[("a", "3.1415E10")], "true");
    check("a >= .5", &[("a", "0.5")], "true");
    // Double.compare puts NaN above everything.
    check("a > 1.5", &[("a", "NaN")], "true");
    check("a > 1.5", &[("a", "-Infinity")], "false");
}

#[test]
fn equality_with_numbers_and_strings() {
    // doCreateEqual: equal objects, else __compare with the same conversions.
    check("a = 5", &[("a", "5")], "true");
    check("a = 5", &[("a", "05")], "true");
    check("a = 5", &[("a", "abc")], "error");
    check("a <> 5", &[("a", "abc")], "error");
    check("a = 5.0", &[("a", "5")], "true");
    check("a = 'abc'", &[("a", "abc")], "true");
    check("a = 'abc'", &[("a", "abd")], "false");
    check("a = '5'", &[("a", "5.0")], "false");
    // Two properties are both strings: equal only when the text is (ExpressionTest).
    check("a = b", &[("a", "3.14"), ("b", "3.14")], "true");
    check("a <> b", &[("a", "3.14"), ("b", "3.141")], "true");
    check("a = b", &[("a", "1"), ("b", "1.0")], "false");
}

#[test]
fn ordering_two_strings_parses_both_as_doubles() {
    // ComparisonExpression.evaluate: String vs String under >,>=,<,<= → Double.valueOf both.
    check("a > b", &[("a", "10"), ("b", "9")], "true");
    check("a > b", &[("a", "20"), ("b", "10")], "true");
    check("a > b", &[("a", "10"), ("b", "20")], "false");
    check("a > b", &[("a", "x"), ("b", "1")], "error");
}

#[test]
fn null_handling_follows_do_create_equal() {
    // doCreateEqual: null on the left → null; null only on the right → FALSE; both → TRUE.
    check("a = 'x'", &[], "null");
    check("'x' = a", &[], "false");
    check("'x' <> a", &[], "true");
    check("a <> 'x'", &[], "null");
    check("a = b", &[], "true");
    check("a = b", &[("a", "1")], "false");
    // ComparisonExpression.evaluate: either side null → null, the right is not evaluated.
    check("a > 5", &[], "null");
    check("5 < a", &[], "null");
    check("a > b", &[("b", "x")], "null");
}

#[test]
fn is_null_and_is_not_null() {
    // createIsNull = doCreateEqual(x, NULL): never unknown.
    check("a IS NULL", &[], "true");
    check("a IS NULL", &[("a", "2")], "false");
    check("a IS NOT NULL", &[("a", "2")], "true");
    check("a IS NOT NULL", &[("abc", "2")], "false");
    check("(a = 1) IS NULL", &[], "true");
    check("a is null OR a = 'hello'", &[], "true");
    check("a is null OR a = 'hello'", &[("a", "abc")], "false");
}

#[test]
fn three_valued_logic() {
    // LogicExpression.createOR/createAND: TRUE/FALSE dominate, otherwise null propagates.
    check("a = 1 OR b = 2", &[("b", "2")], "true");
    check("a = 1 OR b = 2", &[("b", "3")], "null");
    check("a = 1 AND b = 2", &[("b", "3")], "false");
    check("a = 1 AND b = 2", &[("b", "2")], "null");
    // UnaryExpression.createNOT: NOT null is null.
    check("NOT (a = 1)", &[], "null");
    check("NOT (a = 1)", &[("a", "2")], "true");
    check("NULL", &[], "null");
    check("NOT NULL", &[], "null");
    check("TRUE", &[], "true");
    check("NOT FALSE AND TRUE", &[], "true");
}

#[test]
fn errors_abort_unless_short_circuited() {
    // An exception escapes LogicExpression unless the left side already decided.
    check("b = 'x' OR a > 5", &[("a", "abc"), ("b", "x")], "true");
    check("a > 5 OR b = 'x'", &[("a", "abc"), ("b", "x")], "error");
    check("b = 'y' AND a > 5", &[("a", "abc"), ("b", "x")], "false");
    check("a > 5 AND b = 'x'", &[("a", "1")], "false");
}

#[test]
fn precedence() {
    // AND binds tighter than OR.
    let sql = "a = 1 OR b = 2 AND c = 3";
    check(sql, &[("a", "1")], "true");
    check(sql, &[("a", "0"), ("b", "2"), ("c", "4")], "false");
    check(sql, &[("a", "0"), ("b", "2"), ("c", "3")], "true");
    check(
        "(a = 1 OR b = 2) AND c = 3",
        &[("a", "1"), ("c", "4")],
        "false",
    );
    // NOT is a unary operator: `NOT a = 1` is `(NOT a) = 1`, a Boolean against an Integer,
    // which __compare answers with -1 (not equal).
    check("NOT a = 1", &[("a", "1")], "false");
    check("NOT a = 1", &[("a", "2")], "false");
    check("NOT a = 1", &[], "null");
    check("NOT (a = 1)", &[("a", "2")], "true");
}

#[test]
fn between_is_inclusive() {
    // createBetween = AND(x >= low, x <= high); createNotBetween = OR(x < low, x > high).
    for (a, want) in [
        ("1", "false"),
        ("2", "true"),
        ("3", "true"),
        ("10", "true"),
        ("11", "false"),
    ] {
        check("a BETWEEN 2 AND 10", &[("a", a)], want);
    }
    for (a, want) in [
        ("1", "true"),
        ("2", "false"),
        ("10", "false"),
        ("11", "true"),
    ] {
        check("a NOT BETWEEN 2 AND 10", &[("a", a)], want);
    }
    check("a BETWEEN 2 AND 10", &[], "null");
    check("a BETWEEN 2 AND 10", &[("a", "abc")], "error");
    check("a BETWEEN 1.5 AND 2.5", &[("a", "1.75")], "true");
    // Each bound converts the property to its own type: `a <= 2` reads "1.75" with
    // Integer.valueOf, which throws.
    check("a BETWEEN 1.5 AND 2", &[("a", "1.75")], "error");
    check("a BETWEEN 1.5 AND 2", &[("a", "2")], "true");
    check("a BETWEEN -5 AND 5", &[("a", "-5")], "true");
    // Negated bounds are not literals, so the low <= high check does not apply.
    check("a BETWEEN 5 AND -5", &[("a", "0")], "false");
    // Property bounds: a null lower comparison then a FALSE upper one gives FALSE.
    check("a BETWEEN lo AND hi", &[("a", "10"), ("hi", "5")], "false");
    check("a BETWEEN lo AND hi", &[("a", "1"), ("hi", "5")], "null");
}

#[test]
fn in_and_not_in() {
    // UnaryInExpression: null for a missing property, exact string membership otherwise.
    check("a IN ('x', 'y')", &[("a", "x")], "true");
    check("a IN ('x', 'y')", &[("a", "z")], "false");
    check("a IN ('x', 'y')", &[], "null");
    check("a NOT IN ('x', 'y')", &[], "null");
    check("a NOT IN ('x', 'y')", &[("a", "z")], "true");
    check("a NOT IN ('x', 'y')", &[("a", "y")], "false");
    check("a IN ('1')", &[("a", "01")], "false");
    check("a in ('3', '4', '5', '6', '7')", &[("a", "7")], "true");
}

#[test]
fn booleans() {
    // __compare: String vs Boolean → Boolean.valueOf(string), true only for "true" (any case).
    check(
        "a = TRUE OR b = FALSE",
        &[("a", "true"), ("b", "false")],
        "true",
    );
    check(
        "a = TRUE OR b = FALSE",
        &[("a", "false"), ("b", "true")],
        "false",
    );
    check("a = TRUE", &[("a", "TRUE")], "true");
    check("a = FALSE", &[("a", "yes")], "true");
    // Boolean on the left of a String casts the Boolean to String: ClassCastException.
    check("TRUE = a", &[("a", "true")], "error");
    check("TRUE = a", &[], "false");
    check("TRUE = FALSE", &[], "false");
    check("1 = TRUE", &[], "false");
    check("'true' = TRUE", &[], "true");
    // createBooleanCast: a bare property is FALSE (it is a string), null when missing.
    check("a", &[("a", "true")], "false");
    check("a", &[], "null");
    check("NOT a", &[("a", "x")], "true");
    check("a OR b", &[("a", "x")], "null");
}

#[test]
fn negative_numbers() {
    // UnaryExpression.createNegate: numbers are negated, anything else becomes null.
    check("a > -5", &[("a", "-3")], "true");
    check("a = -5", &[("a", "-5")], "true");
    check("a < -2.5", &[("a", "-3")], "true");
    check("-a > 5", &[("a", "-10")], "null");
    check("a > - -5", &[("a", "6")], "true");
    // `--` is a comment only when a line break follows: here it is two minus signs.
    check("a > --5", &[("a", "6")], "true");
    check("a > -2147483648", &[("a", "-2147483648")], "false");
    check("a = -2147483648", &[("a", "-2147483648")], "true");
}

#[test]
fn string_predicates() {
    // ContainsExpression & co.: null, non-string or empty pattern → FALSE, NOT forms included.
    check("a CONTAINS 'bc'", &[("a", "abcd")], "true");
    check("a CONTAINS 'bc'", &[("a", "bd")], "false");
    check("a CONTAINS 'bc'", &[], "false");
    check("a NOT CONTAINS 'bc'", &[], "false");
    check("a NOT CONTAINS 'bc'", &[("a", "xyz")], "true");
    check("a CONTAINS ''", &[("a", "abc")], "false");
    check("a NOT CONTAINS ''", &[("a", "abc")], "false");
    check("a STARTSWITH 'ab'", &[("a", "abc")], "true");
    check("a NOT STARTSWITH 'ab'", &[("a", "abc")], "false");
    check("a ENDSWITH 'bc'", &[("a", "abc")], "true");
    check("a NOT ENDSWITH 'x'", &[("a", "abc")], "true");
    check("(a = 'abc') CONTAINS 'a'", &[("a", "abc")], "false");
    check(
        "a startswith 'caf\u{e9}'",
        &[("a", "caf\u{e9} noir")],
        "true",
    );
}

#[test]
fn tags_and_quotes() {
    check("TAGS = 'TagA'", &[("TAGS", "TagA")], "true");
    check("TAGS IN ('TagA', 'TagB')", &[("TAGS", "TagB")], "true");
    // ExpressionTest.testEvaluate_stringHasString.
    check(
        "TAGS is not null and TAGS='''''tag'''''",
        &[("TAGS", "''tag''")],
        "true",
    );
}

#[test]
fn every_property_source_gives_the_same_answer() {
    let selector = Selector::parse("a > 5 AND TAGS = 'T'").expect("valid");
    let pairs = [("a", "6"), ("TAGS", "T")];
    let hash: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let tree = props(&pairs);
    let properties: Properties = pairs.iter().copied().collect();
    assert!(selector.evaluate(&hash));
    assert!(selector.evaluate(&tree));
    assert!(selector.evaluate(&properties));
    let dynamic: &dyn PropertySource = &properties;
    assert!(selector.evaluate(dynamic));
    assert_eq!(selector.outcome(&properties), Outcome::True);
}
