//! Random input never panics the SQL92 parser or evaluator; generated selectors print and
//! re-parse to the same selector with the same results.

use std::collections::BTreeMap;

use ferromq_protocol::filter::{Outcome, Selector};
use proptest::prelude::*;

/// A few properties with values of every flavour the evaluator converts.
fn property_map() -> impl Strategy<Value = BTreeMap<String, String>> {
    let value = prop_oneof![
        any::<i32>().prop_map(|v| v.to_string()),
        any::<i64>().prop_map(|v| v.to_string()),
        any::<f64>().prop_map(|v| v.to_string()),
        Just("true".to_owned()),
        Just("x".to_owned()),
        Just("NaN".to_owned()),
        "[a-z0-9 .'-]{0,6}",
    ];
    prop::collection::btree_map(
        prop::sample::select(vec!["a", "b", "c", "TAGS"]),
        value,
        0..4,
    )
    .prop_map(|m| m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

/// Text of a value expression (operand of comparisons).
fn operand() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec!["a", "b", "c", "TAGS", "nope"]).prop_map(str::to_owned),
        any::<u32>().prop_map(|v| v.to_string()),
        any::<u64>().prop_map(|v| format!("{v}L")),
        (1u32..1000, 0u32..1000).prop_map(|(i, f)| format!("{i}.{f}")),
        (1u32..100, -20i32..20).prop_map(|(m, e)| format!("{m}E{e}")),
        "[a-z' ]{0,5}".prop_map(|s| format!("'{}'", s.replace('\'', "''"))),
        prop::sample::select(vec!["TRUE", "FALSE", "NULL"]).prop_map(str::to_owned),
        any::<u16>().prop_map(|v| format!("-{v}")),
        Just("- a".to_owned()),
    ]
}

/// Text of a boolean-ish expression built from the whole grammar.
fn expression() -> impl Strategy<Value = String> {
    let string = "[a-z']{0,4}".prop_map(|s| format!("'{}'", s.replace('\'', "''")));
    let leaf = prop_oneof![
        (
            operand(),
            prop::sample::select(vec!["=", "<>", ">", ">=", "<", "<="]),
            operand()
        )
            .prop_map(|(l, op, r)| format!("{l} {op} {r}")),
        (operand(), any::<bool>())
            .prop_map(|(l, n)| format!("{l} IS {}NULL", if n { "NOT " } else { "" })),
        (operand(), any::<bool>(), operand(), operand()).prop_map(|(v, n, lo, hi)| format!(
            "{v} {}BETWEEN {lo} AND {hi}",
            if n { "NOT " } else { "" }
        )),
        (
            prop::sample::select(vec!["a", "b", "TAGS"]),
            any::<bool>(),
            prop::collection::vec(string.clone(), 1..4)
        )
            .prop_map(|(p, n, list)| format!(
                "{p} {}IN ({})",
                if n { "NOT " } else { "" },
                list.join(", ")
            )),
        (
            operand(),
            any::<bool>(),
            prop::sample::select(vec!["CONTAINS", "STARTSWITH", "ENDSWITH"]),
            string
        )
            .prop_map(|(l, n, op, s)| format!("{l} {}{op} {s}", if n { "NOT " } else { "" })),
        prop::sample::select(vec!["a", "TRUE", "FALSE", "NULL"]).prop_map(str::to_owned),
    ];
    leaf.prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(l, r)| format!("{l} AND {r}")),
            (inner.clone(), inner.clone()).prop_map(|(l, r)| format!("{l} OR {r}")),
            inner.clone().prop_map(|e| format!("NOT ({e})")),
            inner.clone().prop_map(|e| format!("({e})")),
            (inner.clone(), inner).prop_map(|(l, r)| format!("({l}) = ({r})")),
        ]
    })
}

fn same_outcome(a: &Outcome, b: &Outcome) -> bool {
    match (a, b) {
        (Outcome::Error(_), Outcome::Error(_)) => true,
        _ => a == b,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,60}", props in property_map()) {
        if let Ok(selector) = Selector::parse(&text) {
            let _ = selector.outcome(&props);
            let _ = Selector::parse(&selector.to_string());
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..80)) {
        let text = String::from_utf8_lossy(&bytes);
        if let Ok(selector) = Selector::parse(&text) {
            let _ = selector.outcome(&BTreeMap::<String, String>::new());
        }
    }

    #[test]
    fn grammar_shaped_noise_never_panics(
        parts in prop::collection::vec(
            prop::sample::select(vec![
                "a", "TAGS", "(", ")", "'s'", "''", "'", "1", "2147483648", "1.5", ".5", "5E3",
                "-", "+", "--", "\n", "/*", "*/", "=", "<>", ">", ">=", "<", "<=", ",", "NOT",
                "AND", "OR", "IN", "IS", "NULL", "TRUE", "FALSE", "BETWEEN", "CONTAINS",
                "STARTSWITH", "ENDSWITH", "#",
            ]),
            0..24,
        ),
        props in property_map(),
    ) {
        let text = parts.join(" ");
        if let Ok(selector) = Selector::parse(&text) {
            let _ = selector.outcome(&props);
        }
    }

    #[test]
    fn generated_selectors_round_trip(sql in expression(), props in property_map()) {
        // Some generated text fails Apache's checks (e.g. `a = NULL`); those must be errors.
        if let Ok(first) = Selector::parse(&sql) {
            let printed = first.to_string();
            let second = Selector::parse(&printed)
                .unwrap_or_else(|e| panic!("{sql:?} printed as {printed:?}: {e}"));
            prop_assert_eq!(&first, &second, "{} printed as {}", sql, printed);
            prop_assert_eq!(&printed, &second.to_string());
            let (a, b) = (first.outcome(&props), second.outcome(&props));
            prop_assert!(same_outcome(&a, &b), "{:?} vs {:?}", a, b);
        }
    }

    #[test]
    fn int_literal_converts_with_integer_value_of(x in any::<i32>(), y in any::<i64>()) {
        // ComparisonExpression.__compare: String vs Integer → Integer.valueOf, else an error.
        let selector = Selector::parse(&format!("a > {}", x.unsigned_abs())).expect("valid");
        let props: BTreeMap<String, String> = [("a".to_owned(), y.to_string())].into();
        let want = match i32::try_from(y) {
            Ok(y) => if i64::from(y) > i64::from(x.unsigned_abs()) { Outcome::True } else { Outcome::False },
            Err(_) if i64::from(x.unsigned_abs()) > i64::from(i32::MAX) => {
                // The literal itself is a long, so the property is read with Long.valueOf.
                if y > i64::from(x.unsigned_abs()) { Outcome::True } else { Outcome::False }
            }
            Err(_) => Outcome::Error(match selector.outcome(&props) {
                Outcome::Error(e) => e,
                other => panic!("expected an error, got {other:?}"),
            }),
        };
        prop_assert_eq!(selector.outcome(&props), want);
    }
}
