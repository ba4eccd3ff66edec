//! Namespaces ([`ClientConfig::namespace`](crate::ClientConfig::namespace)), as Apache's Java
//! client 4.x/5.x applies them (docs/namespaces.md): a producer or consumer with namespace `ns`
//! sends topic `T` as `ns%T` and joins group `G` as `ns%G`; its retry and dead-letter topics are
//! `%RETRY%ns%G` and `%DLQ%ns%G`. System topics and `CID_RMQ_SYS_*` groups are never wrapped.
//! What the application sees (received messages, send results, queues) has the namespace
//! taken off again, so two applications with different namespaces can use the same names on
//! one cluster without seeing each other.

use ferromq_protocol::body::MessageQueue;
use ferromq_protocol::names::{DLQ_TOPIC_PREFIX, RETRY_TOPIC_PREFIX, SYSTEM_TOPIC_PREFIX};

use crate::error::{Error, Result};
use crate::message::MessageView;

/// The separator between a namespace and a name (Apache's `NAMESPACE_SEPARATOR`).
pub const SEPARATOR: char = '%';

/// Longest namespace, in bytes: `ns%T` must still be a legal topic (127 bytes) for a
/// one-character `T`.
pub const MAX_LENGTH: usize = ferromq_protocol::names::TOPIC_MAX_LENGTH - 2;

/// Apache's system topics (`TopicValidator`'s system topic set), which keep their names.
const SYSTEM_TOPICS: &[&str] = &[
    "TBW102",
    "SCHEDULE_TOPIC_XXXX",
    "BenchmarkTest",
    "RMQ_SYS_TRANS_HALF_TOPIC",
    "RMQ_SYS_TRACE_TOPIC",
    "RMQ_SYS_TRANS_OP_HALF_TOPIC",
    "TRANS_CHECK_MAX_TIME_TOPIC",
    "SELF_TEST_TOPIC",
    "OFFSET_MOVED_EVENT",
    "CHECKPOINT_TOPIC",
];

/// Prefix of Apache's system consumer groups, which keep their names.
const SYSTEM_GROUP_PREFIX: &str = "CID_RMQ_SYS_";

/// Checks a namespace: 1 to [`MAX_LENGTH`] characters out of `[a-zA-Z0-9_|-]`. Apache's
/// client does not check it at all, but its topic and group rule (`^[%|a-zA-Z0-9_-]+$`) applies
/// to `ns%T`; `%` is refused because it is the separator (`a%b` could not be taken off again).
pub fn validate(namespace: &str) -> Result<()> {
    let op = "namespace";
    if namespace.is_empty() {
        return Err(Error::invalid(op, "the namespace is empty"));
    }
    if let Some(c) = namespace
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '|')))
    {
        return Err(Error::invalid(
            op,
            format!(
                "namespace {namespace:?} has the character {c:?}; a namespace allows only [a-zA-Z0-9_|-] ('%' separates it from the name)"
            ),
        ));
    }
    if namespace.len() > MAX_LENGTH {
        return Err(Error::invalid(
            op,
            format!(
                "namespace {namespace:?} is {} bytes long, longer than {MAX_LENGTH}",
                namespace.len()
            ),
        ));
    }
    Ok(())
}

/// Whether `name` is a system topic or group, which namespaces leave alone.
fn is_system(name: &str) -> bool {
    SYSTEM_TOPICS.contains(&name)
        || name.starts_with(SYSTEM_TOPIC_PREFIX)
        || name.starts_with(SYSTEM_GROUP_PREFIX)
}

/// `name` without its `%RETRY%` or `%DLQ%` prefix, and that prefix.
fn split_derived(name: &str) -> (&'static str, &str) {
    if let Some(rest) = name.strip_prefix(RETRY_TOPIC_PREFIX) {
        (RETRY_TOPIC_PREFIX, rest)
    } else if let Some(rest) = name.strip_prefix(DLQ_TOPIC_PREFIX) {
        (DLQ_TOPIC_PREFIX, rest)
    } else {
        ("", name)
    }
}

/// The namespace of one producer or consumer: none, or a validated one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Namespace(Option<String>);

impl Namespace {
    /// The namespace of `namespace` (`None` or empty: none), validated.
    pub(crate) fn new(namespace: Option<&str>) -> Result<Self> {
        match namespace {
            None | Some("") => Ok(Namespace(None)),
            Some(ns) => {
                validate(ns)?;
                Ok(Namespace(Some(ns.to_owned())))
            }
        }
    }

    /// Whether a namespace is set.
    pub(crate) fn is_set(&self) -> bool {
        self.0.is_some()
    }

    /// `name` as sent: `ns%name`, `%RETRY%ns%group`, `%DLQ%ns%group`; unchanged without a
    /// namespace, for system names, and for names already in this namespace (Apache's
    /// `wrapNamespace`).
    pub(crate) fn wrap(&self, name: &str) -> String {
        let Some(ns) = &self.0 else {
            return name.to_owned();
        };
        if name.is_empty() || is_system(name) {
            return name.to_owned();
        }
        let (prefix, rest) = split_derived(name);
        if rest
            .strip_prefix(ns.as_str())
            .is_some_and(|r| r.starts_with(SEPARATOR))
        {
            return name.to_owned();
        }
        format!("{prefix}{ns}{SEPARATOR}{rest}")
    }

    /// `name` as the application knows it: this namespace taken off (Apache's
    /// `withoutNamespace(resource, namespace)`); names of other namespaces stay as they are.
    pub(crate) fn unwrap(&self, name: &str) -> String {
        let Some(ns) = &self.0 else {
            return name.to_owned();
        };
        let (prefix, rest) = split_derived(name);
        match rest
            .strip_prefix(ns.as_str())
            .and_then(|r| r.strip_prefix(SEPARATOR))
        {
            Some(bare) if !is_system(name) => format!("{prefix}{bare}"),
            _ => name.to_owned(),
        }
    }

    /// `mq` with its topic wrapped.
    pub(crate) fn wrap_queue(&self, mq: &MessageQueue) -> MessageQueue {
        MessageQueue::new(self.wrap(&mq.topic), &mq.broker_name, mq.queue_id)
    }

    /// `mq` with its topic unwrapped.
    pub(crate) fn unwrap_queue(&self, mq: &MessageQueue) -> MessageQueue {
        MessageQueue::new(self.unwrap(&mq.topic), &mq.broker_name, mq.queue_id)
    }

    /// A received message as the application sees it: topic and queue topic unwrapped.
    pub(crate) fn unwrap_view(&self, mut view: MessageView) -> MessageView {
        if self.is_set() {
            let topic = self.unwrap(view.topic());
            let queue = self.unwrap(&view.queue().topic);
            view.set_topics(topic, queue);
        }
        view
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(s: &str) -> Namespace {
        Namespace::new(Some(s)).expect("valid")
    }

    #[test]
    fn wraps_topics_groups_and_derived_topics() {
        let n = ns("inst1");
        assert_eq!(n.wrap("Topic"), "inst1%Topic");
        assert_eq!(n.wrap("%RETRY%Group"), "%RETRY%inst1%Group");
        assert_eq!(n.wrap("%DLQ%Group"), "%DLQ%inst1%Group");
        // Already in the namespace: not wrapped twice.
        assert_eq!(n.wrap("inst1%Topic"), "inst1%Topic");
        assert_eq!(n.wrap("%RETRY%inst1%Group"), "%RETRY%inst1%Group");
        // Another namespace's name is wrapped like any name (Apache does the same).
        assert_eq!(n.wrap("other%Topic"), "inst1%other%Topic");
        // A name that merely starts with the namespace is wrapped.
        assert_eq!(n.wrap("inst1Topic"), "inst1%inst1Topic");
    }

    #[test]
    fn system_names_are_left_alone() {
        let n = ns("inst1");
        for name in [
            "TBW102",
            "SCHEDULE_TOPIC_XXXX",
            "RMQ_SYS_TRANS_HALF_TOPIC",
            "RMQ_SYS_TRACE_TOPIC",
            "rmq_sys_wheel_timer",
            "CID_RMQ_SYS_TRANS",
            "",
        ] {
            assert_eq!(n.wrap(name), name);
            assert_eq!(n.unwrap(name), name);
        }
    }

    #[test]
    fn unwraps_only_its_own_namespace() {
        let n = ns("inst1");
        assert_eq!(n.unwrap("inst1%Topic"), "Topic");
        assert_eq!(n.unwrap("%RETRY%inst1%Group"), "%RETRY%Group");
        assert_eq!(n.unwrap("%DLQ%inst1%Group"), "%DLQ%Group");
        assert_eq!(n.unwrap("inst2%Topic"), "inst2%Topic");
        assert_eq!(n.unwrap("Topic"), "Topic");
        assert_eq!(n.unwrap("inst1Topic"), "inst1Topic");
        for name in ["Topic", "%RETRY%G", "%DLQ%G", "a|b-c_d"] {
            assert_eq!(n.unwrap(&n.wrap(name)), name);
        }
    }

    #[test]
    fn without_a_namespace_nothing_changes() {
        for n in [
            Namespace::new(None).expect("none"),
            Namespace::new(Some("")).expect("empty"),
        ] {
            assert!(!n.is_set());
            assert_eq!(n.wrap("Topic"), "Topic");
            assert_eq!(n.unwrap("x%Topic"), "x%Topic");
        }
    }

    #[test]
    fn queues_wrap_and_unwrap() {
        let n = ns("a");
        let q = MessageQueue::new("T", "broker-a", 3);
        let w = n.wrap_queue(&q);
        assert_eq!(w, MessageQueue::new("a%T", "broker-a", 3));
        assert_eq!(n.unwrap_queue(&w), q);
    }

    #[test]
    fn views_are_unwrapped() {
        let n = ns("a");
        let v = n.unwrap_view(MessageView::for_test("a%T", 5, "x".to_owned()));
        assert_eq!(v.topic(), "T");
        assert_eq!(v.queue().topic, "T");
        assert_eq!(v.queue_offset(), 5);
    }

    #[test]
    fn illegal_namespaces_are_refused_clearly() {
        for good in ["MQ_INST_123_abc", "a", "a|b-c", &"n".repeat(MAX_LENGTH)] {
            assert!(validate(good).is_ok(), "{good}");
        }
        for bad in [
            "a%b",
            "a b",
            "a.b",
            "a/b",
            "é",
            "tab\t",
            &"n".repeat(MAX_LENGTH + 1),
        ] {
            let e = Namespace::new(Some(bad)).expect_err(bad);
            assert_eq!(e.kind(), crate::ErrorKind::InvalidArgument, "{bad}");
            assert!(e.to_string().contains("namespace"), "{e}");
        }
        let e = validate("a%b").expect_err("refused").to_string();
        assert!(e.contains("'%'"), "{e}");
    }
}
