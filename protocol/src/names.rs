//! Names of topics and consumer groups: the one validator every name passes before it can reach
//! a file (a consume-queue directory, a config table) or become part of a derived topic.
//!
//! - Characters: Apache's rule, `[%|a-zA-Z0-9_-]`, so no name can hold `/`, `.`, a space or a
//!   control character.
//! - Lengths: a topic at most 127 bytes (Apache's `TOPIC_MAX_LENGTH`, and the longest topic the
//!   stored-message format v1 can hold); a group at most 248 bytes, so that `%RETRY%<group>` (the
//!   longest derived topic) still fits a 255-byte file name. Retry and dead-letter topics are
//!   checked as their prefix plus a valid group.
//! - Internal topics ([`is_internal_topic`]) are written only by the broker itself.

use std::fmt;

/// Prefix of a group's retry topic.
pub const RETRY_TOPIC_PREFIX: &str = "%RETRY%";
/// Prefix of a group's dead-letter topic.
pub const DLQ_TOPIC_PREFIX: &str = "%DLQ%";
/// Longest ordinary topic name, in bytes.
pub const TOPIC_MAX_LENGTH: usize = 127;
/// Longest file name on the file systems a store lives on.
const FILE_NAME_MAX: usize = 255;
/// Longest group name, in bytes: its retry topic must still fit a file name.
pub const GROUP_MAX_LENGTH: usize = FILE_NAME_MAX - RETRY_TOPIC_PREFIX.len();

/// Prefix of Apache's system topics (`rmq_sys_wheel_timer`, `rmq_sys_REVIVE_LOG_<cluster>`, ...).
pub const SYSTEM_TOPIC_PREFIX: &str = "rmq_sys_";

/// The internal topics besides those under [`SYSTEM_TOPIC_PREFIX`]: delay levels, transaction
/// half and op messages, discarded transactions, and Apache's self-test and offset-moved topics.
const INTERNAL_TOPICS: &[&str] = &[
    "SCHEDULE_TOPIC_XXXX",
    "RMQ_SYS_TRANS_HALF_TOPIC",
    "RMQ_SYS_TRANS_OP_HALF_TOPIC",
    "TRANS_CHECK_MAX_TIME_TOPIC",
    "SELF_TEST_TOPIC",
    "OFFSET_MOVED_EVENT",
];

/// Why a name was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NameError {
    /// Empty or only spaces.
    Blank {
        /// "topic", "group" or "namespace".
        kind: &'static str,
    },
    /// Longer than allowed.
    TooLong {
        /// "topic", "group" or "namespace".
        kind: &'static str,
        /// The name's length in bytes.
        len: usize,
        /// The limit in bytes.
        max: usize,
    },
    /// A character outside `[%|a-zA-Z0-9_-]`.
    IllegalCharacters {
        /// "topic", "group" or "namespace".
        kind: &'static str,
        /// The name, with anything unprintable escaped.
        name: String,
    },
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameError::Blank { kind } => write!(f, "the specified {kind} is blank"),
            NameError::TooLong { kind, len, max } => write!(
                f,
                "the specified {kind} is {len} bytes long, longer than the {kind} max length {max}"
            ),
            NameError::IllegalCharacters { kind, name } => write!(
                f,
                "the specified {kind}[{name}] contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$"
            ),
        }
    }
}

impl std::error::Error for NameError {}

fn check(kind: &'static str, name: &str, max: usize) -> Result<(), NameError> {
    if name.trim().is_empty() {
        return Err(NameError::Blank { kind });
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'%' | b'|' | b'_' | b'-'))
    {
        return Err(NameError::IllegalCharacters {
            kind,
            name: name.escape_debug().take(300).collect(),
        });
    }
    if name.len() > max {
        return Err(NameError::TooLong {
            kind,
            len: name.len(),
            max,
        });
    }
    Ok(())
}

/// Checks a consumer or producer group name.
pub fn check_group(group: &str) -> Result<(), NameError> {
    check("group", group, GROUP_MAX_LENGTH)
}

/// Checks a namespace of the name server's KV config (same rule as a group name).
pub fn check_namespace(namespace: &str) -> Result<(), NameError> {
    check("namespace", namespace, GROUP_MAX_LENGTH)
}

/// Checks a topic name: an ordinary topic, or a retry / dead-letter topic of a valid group.
pub fn check_topic(topic: &str) -> Result<(), NameError> {
    match group_of_derived_topic(topic) {
        Some(group) => check_group(group).map_err(|e| match e {
            NameError::TooLong { len, .. } => NameError::TooLong {
                kind: "topic",
                len: len + topic.len() - group.len(),
                max: FILE_NAME_MAX,
            },
            NameError::Blank { .. } => NameError::Blank { kind: "topic" },
            NameError::IllegalCharacters { .. } => NameError::IllegalCharacters {
                kind: "topic",
                name: topic.escape_debug().take(300).collect(),
            },
        }),
        None => check("topic", topic, TOPIC_MAX_LENGTH),
    }
}

/// The group of `%RETRY%<group>` or `%DLQ%<group>`.
pub fn group_of_derived_topic(topic: &str) -> Option<&str> {
    topic
        .strip_prefix(RETRY_TOPIC_PREFIX)
        .or_else(|| topic.strip_prefix(DLQ_TOPIC_PREFIX))
}

/// `%RETRY%<group>`.
pub fn retry_topic(group: &str) -> String {
    format!("{RETRY_TOPIC_PREFIX}{group}")
}

/// `%DLQ%<group>`.
pub fn dlq_topic(group: &str) -> String {
    format!("{DLQ_TOPIC_PREFIX}{group}")
}

/// Whether only the broker may write `topic`: the delay-level, timer, transaction, revive and
/// other system topics. Producers are refused with NO_PERMISSION; the trace topic
/// (`RMQ_SYS_TRACE_TOPIC`), reply topics and retry / dead-letter topics stay writable, as clients
/// write them.
pub fn is_internal_topic(topic: &str) -> bool {
    topic.starts_with(SYSTEM_TOPIC_PREFIX) || INTERNAL_TOPICS.contains(&topic)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics() {
        assert!(check_topic("TopicTest").is_ok());
        assert!(check_topic("a|b%c_d-e").is_ok());
        assert!(check_topic(&"t".repeat(127)).is_ok());
        for bad in ["", " ", "a/b", "..", "a b", "a\0b", "é", "a.b"] {
            assert!(check_topic(bad).is_err(), "{bad:?}");
        }
        assert!(matches!(
            check_topic(&"t".repeat(128)),
            Err(NameError::TooLong { max: 127, .. })
        ));
    }

    #[test]
    fn derived_topics_are_checked_through_their_group() {
        let group = "g".repeat(GROUP_MAX_LENGTH);
        assert!(check_group(&group).is_ok());
        assert!(check_topic(&retry_topic(&group)).is_ok());
        assert_eq!(retry_topic(&group).len(), 255);
        assert!(check_topic(&dlq_topic(&group)).is_ok());
        let long = "g".repeat(GROUP_MAX_LENGTH + 1);
        assert!(check_group(&long).is_err());
        assert!(matches!(
            check_topic(&retry_topic(&long)),
            Err(NameError::TooLong { max: 255, .. })
        ));
        assert!(check_topic("%RETRY%").is_err(), "no group");
        assert!(check_topic("%DLQ%x/y").is_err());
        assert!(check_group("x/y").is_err());
    }

    #[test]
    fn internal_topics() {
        for t in [
            "rmq_sys_wheel_timer",
            "rmq_sys_REVIVE_LOG_DefaultCluster",
            "SCHEDULE_TOPIC_XXXX",
            "RMQ_SYS_TRANS_HALF_TOPIC",
            "RMQ_SYS_TRANS_OP_HALF_TOPIC",
        ] {
            assert!(is_internal_topic(t), "{t}");
        }
        for t in [
            "RMQ_SYS_TRACE_TOPIC",
            "%RETRY%g",
            "%DLQ%g",
            "DefaultCluster_REPLY_TOPIC",
            "T",
        ] {
            assert!(!is_internal_topic(t), "{t}");
        }
    }

    #[test]
    fn messages_escape_what_they_quote() {
        let e = check_topic("a\nb").expect_err("a newline").to_string();
        assert!(e.contains("a\\nb"), "{e}");
    }
}
