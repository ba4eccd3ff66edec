//! Reading and extending a properties string without decoding it into [`Properties`]
//! (docs/performance-broker.md, "Fourth round: the send path").
//!
//! The broker needs only a few properties of a message it stores (TAGS, KEYS, UNIQ_KEY, WAIT,
//! the delay and timer keys, TRAN_MSG) and adds a few of its own (MSG_REGION, TRACE_ON, CLUSTER,
//! UNIQ_KEY when missing). Decoding the whole string into a map and encoding it again costs two
//! strings per property; the functions here read the wire text in place instead, with the same
//! rules as [`Properties::decode_bytes`] (Java's `string2messageProperties`):
//!
//! - the text is split on [`PROPERTY_SEPARATOR`] (char 2);
//! - a segment is a property only if it has a non-empty name before its first
//!   [`NAME_VALUE_SEPARATOR`] (char 1) and a non-empty value after it (the value may hold more
//!   char 1s);
//! - a repeated name keeps its last value.
//!
//! Because the last value wins, appending `name\u{1}value\u{2}` to a text sets `name` for every
//! reader, whatever the text held before, provided the text ends with a separator (a text
//! without its final char 2 gets one first: [`needs_separator`]). [`Scan`] says whether a text
//! is *canonical* (valid UTF-8, every segment a property, a final separator), the form in which
//! keeping the client's bytes is indistinguishable from decoding and encoding them again except
//! for the order and repetitions of names; [`canonical_text`] is the decode-and-encode fallback
//! for the rest.
//!
//! [`PROPERTY_SEPARATOR`]: super::properties::PROPERTY_SEPARATOR
//! [`NAME_VALUE_SEPARATOR`]: super::properties::NAME_VALUE_SEPARATOR

use super::properties::Properties;

const NAME_VALUE: u8 = 1;
const PROPERTY: u8 = 2;

/// The properties of a wire text, in text order, as Java's parser keeps them: segments without a
/// name or a value are skipped. A repeated name appears once per occurrence (the last one is the
/// value a reader sees).
pub fn pairs(text: &[u8]) -> Pairs<'_> {
    Pairs { rest: Some(text) }
}

/// Iterator of [`pairs`].
#[derive(Debug, Clone)]
pub struct Pairs<'a> {
    rest: Option<&'a [u8]>,
}

impl<'a> Iterator for Pairs<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let rest = self.rest?;
            let segment = match rest.iter().position(|&b| b == PROPERTY) {
                Some(end) => {
                    self.rest = Some(&rest[end + 1..]);
                    &rest[..end]
                }
                None => {
                    self.rest = None;
                    rest
                }
            };
            if let Some(pair) = split_segment(segment) {
                return Some(pair);
            }
        }
    }
}

/// A segment's name and value, if Java's parser keeps it.
fn split_segment(segment: &[u8]) -> Option<(&[u8], &[u8])> {
    let sep = segment.iter().position(|&b| b == NAME_VALUE)?;
    if sep == 0 || sep + 1 >= segment.len() {
        return None;
    }
    Some((&segment[..sep], &segment[sep + 1..]))
}

/// The value a reader sees for `name` in `text` (the last occurrence kept by Java's rules).
pub fn find<'a>(text: &'a [u8], name: &str) -> Option<&'a [u8]> {
    pairs(text)
        .filter(|(n, _)| *n == name.as_bytes())
        .last()
        .map(|(_, v)| v)
}

/// What one pass over a properties text found: the values of `N` names asked for, and whether
/// the text is canonical (module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scan<'a, const N: usize> {
    /// The value a reader sees for each name asked for, in the order asked.
    pub values: [Option<&'a [u8]>; N],
    /// Valid UTF-8, every segment a property, and empty or ending with a separator.
    pub canonical: bool,
}

impl<'a, const N: usize> Scan<'a, N> {
    /// Reads `text` once for `names`.
    pub fn new(text: &'a [u8], names: &[&str; N]) -> Self {
        let mut values = [None; N];
        let mut canonical = text.last().is_none_or(|&b| b == PROPERTY);
        let mut rest = text;
        while !rest.is_empty() {
            let (segment, next) = match rest.iter().position(|&b| b == PROPERTY) {
                Some(end) => (&rest[..end], &rest[end + 1..]),
                None => (rest, &rest[rest.len()..]),
            };
            rest = next;
            let Some((name, value)) = split_segment(segment) else {
                canonical = false;
                continue;
            };
            for (slot, wanted) in values.iter_mut().zip(names) {
                if name == wanted.as_bytes() {
                    *slot = Some(value);
                }
            }
        }
        let canonical = canonical && std::str::from_utf8(text).is_ok();
        Scan { values, canonical }
    }

    /// The value of the `i`th name asked for, as text (`None` too when it is not UTF-8, which a
    /// canonical text never has).
    pub fn str(&self, i: usize) -> Option<&'a str> {
        self.values
            .get(i)
            .copied()
            .flatten()
            .and_then(|v| std::str::from_utf8(v).ok())
    }

    /// Whether the `i`th name asked for has a value.
    pub fn has(&self, i: usize) -> bool {
        self.values.get(i).is_some_and(Option::is_some)
    }
}

/// Whether `text` needs a [`PROPERTY_SEPARATOR`](super::properties::PROPERTY_SEPARATOR)
/// before a property is appended to it (it is not empty and does not end with one).
pub fn needs_separator(text: &[u8]) -> bool {
    text.last().is_some_and(|&b| b != PROPERTY)
}

/// The length of `text` with `extra` appended as [`append_to`] writes it.
pub fn appended_len(text: &[u8], extra: &[(&str, &str)]) -> usize {
    text.len()
        + usize::from(needs_separator(text))
        + extra
            .iter()
            .map(|(n, v)| n.len() + v.len() + 2)
            .sum::<usize>()
}

/// Writes `text`, a separator if it lacks its final one, then `name\u{1}value\u{2}` for every
/// pair of `extra`: a reader sees every pair of `extra` (later pairs win over earlier ones and
/// over the text) and every other property of `text` unchanged. Names and values in `extra` must
/// be non-empty and free of chars 1 and 2 (as with [`Properties::insert`], anything else does not
/// survive a reader).
pub fn append_to<B: bytes::BufMut + ?Sized>(dst: &mut B, text: &[u8], extra: &[(&str, &str)]) {
    dst.put_slice(text);
    if needs_separator(text) {
        dst.put_u8(PROPERTY);
    }
    for (name, value) in extra {
        dst.put_slice(name.as_bytes());
        dst.put_u8(NAME_VALUE);
        dst.put_slice(value.as_bytes());
        dst.put_u8(PROPERTY);
    }
}

/// What storing `text` with `extra` set gave before wire texts were kept: the text decoded into
/// [`Properties`], every pair of `extra` inserted, encoded again (sorted, one entry per name,
/// invalid UTF-8 replaced). The fallback for texts that are not canonical.
pub fn canonical_text(text: &[u8], extra: &[(&str, &str)]) -> Vec<u8> {
    let mut properties = Properties::decode_bytes(text);
    for (name, value) in extra {
        properties.insert(*name, *value);
    }
    let mut out = Vec::with_capacity(properties.encoded_len());
    properties.encode_to(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: [&str; 4] = ["TAGS", "KEYS", "UNIQ_KEY", "K"];

    /// The scan agrees with the map decoder on every name, and appending agrees with inserting.
    fn agrees(text: &[u8]) {
        let decoded = Properties::decode_bytes(text);
        let scan = Scan::new(text, &NAMES);
        for (i, name) in NAMES.iter().enumerate() {
            let lossy = scan.values[i].map(|v| String::from_utf8_lossy(v).into_owned());
            assert_eq!(lossy.as_deref(), decoded.value(name), "{name} in {text:?}");
            assert_eq!(
                find(text, name).map(|v| String::from_utf8_lossy(v).into_owned()),
                lossy
            );
        }
        let listed: Properties = pairs(text)
            .map(|(n, v)| {
                (
                    String::from_utf8_lossy(n).into_owned(),
                    String::from_utf8_lossy(v).into_owned(),
                )
            })
            .collect();
        assert_eq!(listed, decoded, "{text:?}");
        let extra = [("CLUSTER", "c1"), ("K", "broker"), ("TAGS", "t")];
        let mut appended = Vec::new();
        append_to(&mut appended, text, &extra);
        assert_eq!(appended.len(), appended_len(text, &extra));
        let mut expected = decoded.clone();
        for (n, v) in extra {
            expected.insert(n, v);
        }
        assert_eq!(Properties::decode_bytes(&appended), expected, "{text:?}");
        assert_eq!(
            Properties::decode_bytes(&canonical_text(text, &extra)),
            expected
        );
        if scan.canonical {
            assert!(std::str::from_utf8(text).is_ok());
            assert_eq!(
                pairs(text).count(),
                text.iter().filter(|&&b| b == 2).count()
            );
        }
    }

    #[test]
    fn hostile_texts_read_as_the_decoder_reads_them() {
        let big = "K\u{1}v\u{2}".repeat(20_000);
        let texts: Vec<&[u8]> = vec![
            b"",
            b"\x02",
            b"\x02\x02\x02",
            b"\x01",
            b"K",
            b"K\x01",
            b"K\x01v",
            b"\x01v\x02",
            b"K\x01\x02",
            b"K\x01v\x01w\x02",
            b"K\x01a\x02K\x01b\x02",
            b"K\x01a\x02K\x01\x02",
            b"K\x01a\x02\x01b\x02",
            b"TAGS\x01a\x02KEYS\x01k1 k2\x02UNIQ_KEY\x01u\x02",
            b"TAGS\x01\xff\xfe\x02K\x01\xc3\x02",
            b"\xffK\x01v\x02K\xff\x01v\x02",
            b"TAGSX\x01no\x02TAG\x01no\x02",
            b"ab\x02cd\x02",
            big.as_bytes(),
        ];
        for text in texts {
            agrees(text);
        }
    }

    #[test]
    fn canonical_means_valid_utf8_whole_properties_and_a_final_separator() {
        let canonical = |t: &[u8]| Scan::new(t, &NAMES).canonical;
        assert!(canonical(b""));
        assert!(canonical(b"K\x01v\x02"));
        assert!(canonical("名\u{1}值\u{2}K\u{1}v\u{1}w\u{2}".as_bytes()));
        assert!(canonical(b"K\x01a\x02K\x01b\x02"), "repeats are canonical");
        assert!(!canonical(b"K\x01v"), "no final separator");
        assert!(!canonical(b"K\x01v\x02\x02"), "empty segment");
        assert!(!canonical(b"K\x01\x02"), "empty value");
        assert!(!canonical(b"\x01v\x02"), "empty name");
        assert!(!canonical(b"Kv\x02"), "no name-value separator");
        assert!(!canonical(b"K\x01\xff\x02"), "invalid UTF-8");
    }

    #[test]
    fn an_appended_key_wins_over_the_clients() {
        let text = b"CLUSTER\x01client\x02TAGS\x01a";
        let mut out = Vec::new();
        append_to(&mut out, text, &[("CLUSTER", "broker")]);
        assert_eq!(
            out,
            b"CLUSTER\x01client\x02TAGS\x01a\x02CLUSTER\x01broker\x02"
        );
        assert_eq!(find(&out, "CLUSTER"), Some(&b"broker"[..]));
        assert_eq!(find(&out, "TAGS"), Some(&b"a"[..]));
        let scan = Scan::new(&out, &["CLUSTER", "TAGS", "NONE"]);
        assert_eq!(scan.str(0), Some("broker"));
        assert!(scan.has(1) && !scan.has(2));
        assert!(scan.canonical);
    }

    proptest::proptest! {
        #[test]
        fn any_text_reads_as_the_decoder_reads_it(
            text in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::strategy::Just(1u8),
                    proptest::strategy::Just(2u8),
                    proptest::sample::select(b"KTAGSUNIQ_EY".to_vec()),
                    proptest::num::u8::ANY,
                ],
                0..64,
            )
        ) {
            agrees(&text);
        }
    }
}
