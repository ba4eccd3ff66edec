//! SQL92 selectors from a hostile consumer: parsing arbitrary text gives a selector or an
//! error, never a panic or a stack overflow, and evaluating what parses never panics; the
//! canonical print of a selector parses back to the same selector.
#![no_main]

use std::collections::BTreeMap;

use ferromq_protocol::filter::Selector;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(selector) = Selector::parse(text) else {
        return;
    };
    let props: BTreeMap<String, String> = [
        ("a", "7"),
        ("b", "x"),
        ("c", "2.5"),
        ("d", "true"),
        ("e", "10000000000"),
        ("TAGS", "TagA"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let outcome = selector.outcome(&props);
    let printed = selector.to_string();
    let again = Selector::parse(&printed).expect("the canonical form parses");
    assert_eq!(selector, again, "{text:?} printed as {printed:?}");
    assert_eq!(outcome.is_match(), again.evaluate(&props));
});
