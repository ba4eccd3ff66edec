//! Tag hash codes and TAG subscription expressions (docs/protocol.md, "Tag hash", Java
//! `FilterAPI`).

use std::collections::BTreeSet;

use crate::error::{ProtocolError, Result};

/// The subscription expression that matches every tag (Java `SubscriptionData.SUB_ALL`).
pub const SUB_ALL: &str = "*";

/// Java `String.hashCode` of `s`: `s[0]*31^(n-1) + … + s[n-1]` over UTF-16 code units, with
/// wrapping `i32` arithmetic. This is the `tagsCode` of the consume queue and of a
/// subscription's `codeSet`.
///
/// `"TagA"` → 2598919, `"*"` → 42, `""` → 0.
pub fn tag_hash_code(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |h, unit| {
        h.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

/// The tags code of a message's TAGS property: 0 when absent or empty.
pub fn tags_code(tags: Option<&str>) -> i64 {
    tags.map_or(0, |t| i64::from(tag_hash_code(t)))
}

/// A parsed TAG subscription expression (`"*"` or `"A || B"`), as Java's
/// `FilterAPI.buildSubscriptionData` builds it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagSubscription {
    /// True for `*` or an empty expression: every message matches.
    pub all: bool,
    /// The trimmed, non-empty tags (Java `tagsSet`); empty when [`all`](Self::all).
    pub tags: BTreeSet<String>,
    /// [`tag_hash_code`] of each tag (Java `codeSet`).
    pub codes: BTreeSet<i32>,
}

impl TagSubscription {
    /// Parses `expression`.
    ///
    /// Only the exact strings `""` and `"*"` mean "all"; otherwise the expression is split on
    /// `||`, each piece trimmed and empty pieces dropped (so `" * "` subscribes to a tag named
    /// `*`, as in Java). An expression made only of `||` separators is an error, as Java's
    /// `String.split` yields nothing for it; one such as `" || "` gives an empty set that
    /// matches nothing.
    pub fn parse(expression: &str) -> Result<Self> {
        if expression.is_empty() || expression == SUB_ALL {
            return Ok(TagSubscription {
                all: true,
                ..Self::default()
            });
        }
        if expression.split("||").all(str::is_empty) {
            return Err(ProtocolError::malformed(
                "subscription expression",
                "no tags between `||` separators",
            ));
        }
        let mut sub = TagSubscription::default();
        for tag in expression
            .split("||")
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            sub.codes.insert(tag_hash_code(tag));
            sub.tags.insert(tag.to_owned());
        }
        Ok(sub)
    }

    /// The broker-side check: all, or the message's tags code is in [`codes`](Self::codes).
    pub fn matches_code(&self, tags_code: i64) -> bool {
        self.all
            || i32::try_from(tags_code)
                .map(|c| self.codes.contains(&c))
                .unwrap_or(false)
    }

    /// The client-side re-check on the tag string (Java `tagsSet.contains(TAGS)`).
    pub fn matches_tag(&self, tag: Option<&str>) -> bool {
        self.all || tag.is_some_and(|t| self.tags.contains(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_hash_codes() {
        assert_eq!(tag_hash_code("TagA"), 2_598_919);
        assert_eq!(tag_hash_code("*"), 42);
        assert_eq!(tag_hash_code(""), 0);
        assert_eq!(tag_hash_code("hello"), 99_162_322);
        // Wraps: "polygenelubricants".hashCode() == Integer.MIN_VALUE.
        assert_eq!(tag_hash_code("polygenelubricants"), i32::MIN);
        // UTF-16 code units: U+1F980 is the surrogate pair D83E DD80.
        assert_eq!(tag_hash_code("🦀"), 0xD83E * 31 + 0xDD80);
        assert_eq!(tag_hash_code("é"), 0xE9);
        assert_eq!(tags_code(None), 0);
    }

    #[test]
    fn subscription_expressions() {
        assert!(TagSubscription::parse("*").expect("all").all);
        assert!(TagSubscription::parse("").expect("all").all);
        let s = TagSubscription::parse(" TagA ||TagB|| ||TagA").expect("tags");
        assert!(!s.all);
        assert_eq!(
            s.tags.iter().map(String::as_str).collect::<Vec<_>>(),
            ["TagA", "TagB"]
        );
        assert!(s.codes.contains(&2_598_919));
        assert!(s.matches_code(2_598_919));
        assert!(!s.matches_code(42));
        assert!(s.matches_tag(Some("TagB")));
        assert!(!s.matches_tag(None));
        let star = TagSubscription::parse(" * ").expect("tag named *");
        assert!(!star.all && star.codes.contains(&42));
        assert!(TagSubscription::parse("||").is_err());
        assert!(TagSubscription::parse("||||").is_err());
        let none = TagSubscription::parse(" || ").expect("empty set");
        assert!(!none.matches_tag(Some("x")) && none.tags.is_empty());
    }
}
