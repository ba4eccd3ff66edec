//! The option enums that bindings receive as text, parsed here once for every language.
//!
//! # Accepted spellings
//!
//! Every enum here implements [`FromStr`] with one rule: the comparison ignores case and the
//! separators `_`, `-` and spaces, so `lastOffset`, `last_offset`, `LAST_OFFSET` and
//! `last-offset` are the same value. Java's constant names are accepted too, with or without
//! their prefix (`CONSUME_FROM_LAST_OFFSET`, `CONSUME_SUCCESS`, `COMMIT_MESSAGE`). [`Display`]
//! writes the camelCase spelling (`lastOffset`), which is what the JavaScript bindings document.
//!
//! | enum | values (Display) | also accepted |
//! |------|------------------|---------------|
//! | [`ConsumeFromKind`] | `lastOffset`, `firstOffset`, `timestamp` | `CONSUME_FROM_*` |
//! | [`MessageModel`] | `clustering`, `broadcasting` | |
//! | [`ExpressionType`] | `tag`, `sql92` | `sql` |
//! | [`Allocation`] | `averagely`, `averagelyByCircle`, `consistentHash` | `avg`, `avgByCircle` |
//! | [`ConsumeResult`] | `success`, `reconsumeLater` | `CONSUME_SUCCESS` |
//! | [`TransactionState`] | `commit`, `rollback`, `unknown` | `COMMIT_MESSAGE`, `ROLLBACK_MESSAGE`, `UNKNOW` |
//!
//! An unknown spelling is an [`ErrorKind::InvalidArgument`](crate::ErrorKind) error naming the
//! accepted values.

use std::fmt::{self, Display};
use std::str::FromStr;
use std::sync::Arc;

use crate::consumer::allocate::{AllocateStrategy, Averagely, AveragelyByCircle, ConsistentHash};
use crate::consumer::ConsumeResult;
use crate::error::{Error, Result};
use crate::transaction::TransactionState;

/// Where a group without a committed offset starts, without the time of
/// [`ConsumeFrom::Timestamp`](crate::ConsumeFrom::Timestamp); combine it with a timestamp
/// through [`ConsumeFrom::new`](crate::ConsumeFrom::new).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ConsumeFromKind {
    /// After the last message (the default).
    #[default]
    LastOffset,
    /// From the first stored message.
    FirstOffset,
    /// From a point in time.
    Timestamp,
}

/// How a group's members share messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MessageModel {
    /// Each message goes to one member of the group (the default).
    #[default]
    Clustering,
    /// Every member receives every message.
    Broadcasting,
}

impl MessageModel {
    /// The protocol's value (heartbeats, running info).
    pub(crate) fn wire(self) -> ferromq_protocol::body::MessageModel {
        match self {
            MessageModel::Clustering => ferromq_protocol::body::MessageModel::Clustering,
            MessageModel::Broadcasting => ferromq_protocol::body::MessageModel::Broadcasting,
        }
    }
}

/// The language of a subscription expression; combine it with the expression through
/// [`FilterExpression::new`](crate::FilterExpression::new).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ExpressionType {
    /// `TagA || TagB`, or `*` (the default).
    #[default]
    Tag,
    /// SQL92 over message properties (the broker needs `enablePropertyFilter`).
    Sql92,
}

/// The built-in queue allocation strategies that need no settings, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Allocation {
    /// [`Averagely`]: contiguous runs of queues (the default).
    #[default]
    Averagely,
    /// [`AveragelyByCircle`]: queues dealt round-robin.
    AveragelyByCircle,
    /// [`ConsistentHash`] with its default virtual nodes.
    ConsistentHash,
}

impl Allocation {
    /// The strategy object.
    pub fn strategy(self) -> Arc<dyn AllocateStrategy> {
        match self {
            Allocation::Averagely => Arc::new(Averagely),
            Allocation::AveragelyByCircle => Arc::new(AveragelyByCircle),
            Allocation::ConsistentHash => Arc::new(ConsistentHash::default()),
        }
    }
}

/// One enum's spellings: the first name of each value is its [`Display`] form.
trait Spelled: Copy + PartialEq + 'static {
    /// What a value is, with its article (for the error message).
    const WHAT: &'static str;
    /// A prefix Java puts in front of the names (already normalized), if any.
    const PREFIX: &'static str = "";
    /// `(name, value)`, canonical names first.
    const NAMES: &'static [(&'static str, Self)];
}

/// Lower case without `_`, `-` and spaces.
fn normalize(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, '_' | '-' | ' '))
        .flat_map(char::to_lowercase)
        .collect()
}

fn parse<T: Spelled>(s: &str) -> Result<T> {
    let n = normalize(s.trim());
    let bare = n.strip_prefix(T::PREFIX).unwrap_or(&n);
    T::NAMES
        .iter()
        .find(|(name, _)| normalize(name) == bare)
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            Error::invalid(
                "parse option",
                format!("{s:?} is not {}: use {}", T::WHAT, canonical_list::<T>()),
            )
        })
}

fn canonical_list<T: Spelled>() -> String {
    let mut names: Vec<&str> = Vec::new();
    for (i, (name, value)) in T::NAMES.iter().enumerate() {
        if !T::NAMES[..i].iter().any(|(_, v)| v == value) {
            names.push(name);
        }
    }
    names.join(", ")
}

fn display<T: Spelled>(value: T, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let name = T::NAMES
        .iter()
        .find(|(_, v)| *v == value)
        .map_or("?", |(name, _)| name);
    f.write_str(name)
}

macro_rules! spelled {
    ($t:ty) => {
        impl FromStr for $t {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self> {
                parse(s)
            }
        }

        impl Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                display(*self, f)
            }
        }
    };
}

impl Spelled for ConsumeFromKind {
    const WHAT: &'static str = "a consume-from position";
    const PREFIX: &'static str = "consumefrom";
    const NAMES: &'static [(&'static str, Self)] = &[
        ("lastOffset", ConsumeFromKind::LastOffset),
        ("firstOffset", ConsumeFromKind::FirstOffset),
        ("timestamp", ConsumeFromKind::Timestamp),
    ];
}
spelled!(ConsumeFromKind);

impl Spelled for MessageModel {
    const WHAT: &'static str = "a message model";
    const NAMES: &'static [(&'static str, Self)] = &[
        ("clustering", MessageModel::Clustering),
        ("broadcasting", MessageModel::Broadcasting),
    ];
}
spelled!(MessageModel);

impl Spelled for ExpressionType {
    const WHAT: &'static str = "an expression type";
    const NAMES: &'static [(&'static str, Self)] = &[
        ("tag", ExpressionType::Tag),
        ("sql92", ExpressionType::Sql92),
        ("sql", ExpressionType::Sql92),
    ];
}
spelled!(ExpressionType);

impl Spelled for Allocation {
    const WHAT: &'static str = "an allocation strategy";
    const NAMES: &'static [(&'static str, Self)] = &[
        ("averagely", Allocation::Averagely),
        ("averagelyByCircle", Allocation::AveragelyByCircle),
        ("consistentHash", Allocation::ConsistentHash),
        ("avg", Allocation::Averagely),
        ("avgByCircle", Allocation::AveragelyByCircle),
    ];
}
spelled!(Allocation);

impl Spelled for ConsumeResult {
    const WHAT: &'static str = "a consume result";
    const NAMES: &'static [(&'static str, Self)] = &[
        ("success", ConsumeResult::Success),
        ("reconsumeLater", ConsumeResult::ReconsumeLater),
        ("consumeSuccess", ConsumeResult::Success),
    ];
}
spelled!(ConsumeResult);

impl Spelled for TransactionState {
    const WHAT: &'static str = "a transaction state";
    const NAMES: &'static [(&'static str, Self)] = &[
        ("commit", TransactionState::Commit),
        ("rollback", TransactionState::Rollback),
        ("unknown", TransactionState::Unknown),
        ("commitMessage", TransactionState::Commit),
        ("rollbackMessage", TransactionState::Rollback),
        ("unknow", TransactionState::Unknown),
    ];
}
spelled!(TransactionState);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn round_trip<T: Spelled + FromStr<Err = Error> + Display + fmt::Debug>() {
        for (_, v) in T::NAMES {
            let shown = v.to_string();
            assert_eq!(shown.parse::<T>().ok(), Some(*v), "{shown}");
            assert_eq!(shown.to_uppercase().parse::<T>().ok(), Some(*v));
        }
    }

    #[test]
    fn display_then_parse_is_the_same_value() {
        round_trip::<ConsumeFromKind>();
        round_trip::<MessageModel>();
        round_trip::<ExpressionType>();
        round_trip::<Allocation>();
        round_trip::<ConsumeResult>();
        round_trip::<TransactionState>();
    }

    #[test]
    fn display_is_camel_case() {
        assert_eq!(ConsumeFromKind::LastOffset.to_string(), "lastOffset");
        assert_eq!(ConsumeFromKind::FirstOffset.to_string(), "firstOffset");
        assert_eq!(MessageModel::Broadcasting.to_string(), "broadcasting");
        assert_eq!(ExpressionType::Sql92.to_string(), "sql92");
        assert_eq!(
            Allocation::AveragelyByCircle.to_string(),
            "averagelyByCircle"
        );
        assert_eq!(ConsumeResult::ReconsumeLater.to_string(), "reconsumeLater");
        assert_eq!(TransactionState::Unknown.to_string(), "unknown");
    }

    #[test]
    fn case_separators_and_java_names_are_accepted() {
        for s in [
            "lastOffset",
            "last_offset",
            "LAST_OFFSET",
            "last-offset",
            " LastOffset ",
            "CONSUME_FROM_LAST_OFFSET",
        ] {
            assert_eq!(
                s.parse::<ConsumeFromKind>().ok(),
                Some(ConsumeFromKind::LastOffset)
            );
        }
        assert_eq!(
            "CONSUME_FROM_TIMESTAMP".parse::<ConsumeFromKind>().ok(),
            Some(ConsumeFromKind::Timestamp)
        );
        assert_eq!(
            "RECONSUME_LATER".parse::<ConsumeResult>().ok(),
            Some(ConsumeResult::ReconsumeLater)
        );
        assert_eq!(
            "CONSUME_SUCCESS".parse::<ConsumeResult>().ok(),
            Some(ConsumeResult::Success)
        );
        assert_eq!(
            "UNKNOW".parse::<TransactionState>().ok(),
            Some(TransactionState::Unknown)
        );
        assert_eq!(
            "SQL".parse::<ExpressionType>().ok(),
            Some(ExpressionType::Sql92)
        );
        assert_eq!(
            "AVG".parse::<Allocation>().ok(),
            Some(Allocation::Averagely)
        );
    }

    #[test]
    fn unknown_spellings_are_invalid_and_name_the_choices() {
        let e = "latest".parse::<ConsumeFromKind>().err();
        let e = e.as_ref().map(|e| (e.kind(), e.message().to_owned()));
        assert_eq!(
            e,
            Some((
                ErrorKind::InvalidArgument,
                "\"latest\" is not a consume-from position: use lastOffset, firstOffset, timestamp"
                    .to_owned()
            ))
        );
        assert!("".parse::<MessageModel>().is_err());
        assert!("clusteringx".parse::<MessageModel>().is_err());
        assert!("retry".parse::<ConsumeResult>().is_err());
        // The prefix alone is not a value.
        assert!("CONSUME_FROM_".parse::<ConsumeFromKind>().is_err());
        let e = "x"
            .parse::<Allocation>()
            .err()
            .map(|e| e.message().to_owned());
        assert_eq!(
            e.as_deref(),
            Some("\"x\" is not an allocation strategy: use averagely, averagelyByCircle, consistentHash")
        );
    }

    #[test]
    fn allocation_names_the_strategy_objects() {
        assert_eq!(Allocation::Averagely.strategy().name(), "AVG");
        assert_eq!(
            Allocation::AveragelyByCircle.strategy().name(),
            "AVG_BY_CIRCLE"
        );
        assert_eq!(
            Allocation::ConsistentHash.strategy().name(),
            "CONSISTENT_HASH"
        );
    }
}
