//! The option rules of consumers, in one place: subscription expressions (a tag expression or
//! SQL92, not both), the consume-from position (a timestamp exactly when starting from a time)
//! and the numeric settings. Bindings build options from what the user gave and let these
//! functions refuse what does not fit; `start` checks the options again.

use std::time::Duration;

use super::{ConsumeFrom, FilterExpression, PullConsumerOptions, PushConsumerOptions};
use crate::choices::{ConsumeFromKind, ExpressionType};
use crate::error::{Error, Result};

impl FilterExpression {
    /// An expression of `kind`.
    pub fn new(kind: ExpressionType, expression: impl Into<String>) -> Self {
        match kind {
            ExpressionType::Tag => FilterExpression::Tag(expression.into()),
            ExpressionType::Sql92 => FilterExpression::Sql92(expression.into()),
        }
    }

    /// The expression of a subscription given as two optional arguments, as the bindings take
    /// it: a tag expression, or a SQL92 one, or neither (every message, `*`). Both at once is
    /// an [`ErrorKind::InvalidArgument`](crate::ErrorKind) error.
    pub fn from_parts(tag: Option<String>, sql92: Option<String>) -> Result<Self> {
        match (tag, sql92) {
            (Some(_), Some(_)) => Err(Error::invalid(
                "subscribe",
                "give a tag expression or a SQL92 expression, not both",
            )),
            (None, Some(sql)) => Ok(FilterExpression::Sql92(sql)),
            (Some(tag), None) => Ok(FilterExpression::Tag(tag)),
            (None, None) => Ok(FilterExpression::all()),
        }
    }

    /// Its language.
    pub fn kind(&self) -> ExpressionType {
        match self {
            FilterExpression::Tag(_) => ExpressionType::Tag,
            FilterExpression::Sql92(_) => ExpressionType::Sql92,
        }
    }
}

impl ConsumeFrom {
    /// The position from its two parts as bindings take them: `kind` (the last offset when
    /// `None`) and `timestamp_ms` (ms since the epoch), which is needed by
    /// [`ConsumeFromKind::Timestamp`] and refused with any other kind.
    pub fn new(kind: Option<ConsumeFromKind>, timestamp_ms: Option<i64>) -> Result<Self> {
        match (kind.unwrap_or_default(), timestamp_ms) {
            (ConsumeFromKind::LastOffset, None) => Ok(ConsumeFrom::LastOffset),
            (ConsumeFromKind::FirstOffset, None) => Ok(ConsumeFrom::FirstOffset),
            (ConsumeFromKind::Timestamp, Some(t)) if t >= 0 => Ok(ConsumeFrom::Timestamp(t)),
            (ConsumeFromKind::Timestamp, Some(t)) => Err(Error::invalid(
                "consumer options",
                format!("the consume timestamp {t} is before 1970"),
            )),
            (ConsumeFromKind::Timestamp, None) => Err(Error::invalid(
                "consumer options",
                "consume from timestamp needs the consume timestamp",
            )),
            (kind, Some(_)) => Err(Error::invalid(
                "consumer options",
                format!("a consume timestamp goes with consume from timestamp only, not {kind}"),
            )),
        }
    }

    /// Its kind, without the time.
    pub fn kind(&self) -> ConsumeFromKind {
        match self {
            ConsumeFrom::LastOffset => ConsumeFromKind::LastOffset,
            ConsumeFrom::FirstOffset => ConsumeFromKind::FirstOffset,
            ConsumeFrom::Timestamp(_) => ConsumeFromKind::Timestamp,
        }
    }
}

fn check(ok: bool, message: &str) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(Error::invalid("consumer options", message.to_owned()))
    }
}

impl PushConsumerOptions {
    /// Refuses settings the consumer cannot run with: an empty group, no listener threads,
    /// empty batches, a reconsume limit below -1, a pull threshold of 0, a zero consume
    /// timeout, an orderly suspend time outside 10 ms ..= 30 s or a negative consume timestamp.
    pub fn validate(&self) -> Result<()> {
        check(!self.group.is_empty(), "the consumer group is empty")?;
        check(
            self.consume_threads >= 1,
            "consume threads must be at least 1",
        )?;
        check(
            self.consume_batch_size >= 1,
            "the consume batch size must be at least 1",
        )?;
        check(
            self.pull_batch_size >= 1,
            "the pull batch size must be at least 1",
        )?;
        check(
            self.max_reconsume_times >= -1,
            "max reconsume times must be -1 (the default, 16) or more",
        )?;
        check(
            self.pull_threshold_for_queue >= 1 && self.pull_threshold_for_topic != Some(0),
            "pull thresholds (messages per queue or per topic) must be at least 1",
        )?;
        check(
            self.pull_threshold_size_for_queue >= 1
                && self.pull_threshold_size_for_topic != Some(0),
            "pull size thresholds (bytes per queue or per topic) must be at least 1",
        )?;
        check(
            !self.consume_timeout.is_zero(),
            "the consume timeout must be more than zero",
        )?;
        check(
            (SUSPEND_MIN..=SUSPEND_MAX).contains(&self.suspend_current_queue_time),
            "the suspend time of an orderly queue must be from 10 ms to 30 s",
        )?;
        crate::namespace::Namespace::new(self.client.namespace.as_deref())?;
        ConsumeFrom::new(Some(self.consume_from.kind()), timestamp(self.consume_from)).map(|_| ())
    }
}

/// The range of [`PushConsumerOptions::suspend_current_queue_time`] (where Java clamps).
const SUSPEND_MIN: Duration = Duration::from_millis(10);
const SUSPEND_MAX: Duration = Duration::from_secs(30);

impl PullConsumerOptions {
    /// Refuses settings the consumer cannot run with: an empty group, empty pulls or a
    /// negative consume timestamp.
    pub fn validate(&self) -> Result<()> {
        check(!self.group.is_empty(), "the consumer group is empty")?;
        check(
            self.pull_batch_size >= 1,
            "the pull batch size must be at least 1",
        )?;
        crate::namespace::Namespace::new(self.client.namespace.as_deref())?;
        ConsumeFrom::new(Some(self.consume_from.kind()), timestamp(self.consume_from)).map(|_| ())
    }
}

fn timestamp(from: ConsumeFrom) -> Option<i64> {
    match from {
        ConsumeFrom::Timestamp(t) => Some(t),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn message<T: std::fmt::Debug>(r: Result<T>) -> String {
        match r {
            Ok(v) => format!("accepted {v:?}"),
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::InvalidArgument);
                e.message().to_owned()
            }
        }
    }

    #[test]
    fn tag_xor_sql92() {
        assert_eq!(
            FilterExpression::from_parts(None, None).ok(),
            Some(FilterExpression::Tag("*".into()))
        );
        assert_eq!(
            FilterExpression::from_parts(Some("A || B".into()), None).ok(),
            Some(FilterExpression::Tag("A || B".into()))
        );
        assert_eq!(
            FilterExpression::from_parts(None, Some("a > 1".into())).ok(),
            Some(FilterExpression::Sql92("a > 1".into()))
        );
        assert_eq!(
            message(FilterExpression::from_parts(
                Some("A".into()),
                Some("a > 1".into())
            )),
            "give a tag expression or a SQL92 expression, not both"
        );
        let sql = FilterExpression::new(ExpressionType::Sql92, "a > 1");
        assert_eq!(sql.kind(), ExpressionType::Sql92);
    }

    #[test]
    fn consume_from_needs_a_timestamp_exactly_for_timestamp() {
        assert_eq!(
            ConsumeFrom::new(None, None).ok(),
            Some(ConsumeFrom::LastOffset)
        );
        assert_eq!(
            ConsumeFrom::new(Some(ConsumeFromKind::FirstOffset), None).ok(),
            Some(ConsumeFrom::FirstOffset)
        );
        assert_eq!(
            ConsumeFrom::new(Some(ConsumeFromKind::Timestamp), Some(5)).ok(),
            Some(ConsumeFrom::Timestamp(5))
        );
        assert_eq!(
            message(ConsumeFrom::new(Some(ConsumeFromKind::Timestamp), None)),
            "consume from timestamp needs the consume timestamp"
        );
        assert_eq!(
            message(ConsumeFrom::new(None, Some(5))),
            "a consume timestamp goes with consume from timestamp only, not lastOffset"
        );
        assert_eq!(
            message(ConsumeFrom::new(Some(ConsumeFromKind::Timestamp), Some(-1))),
            "the consume timestamp -1 is before 1970"
        );
        assert_eq!(ConsumeFrom::Timestamp(5).kind(), ConsumeFromKind::Timestamp);
    }

    #[test]
    fn push_options_are_checked() {
        let ok = PushConsumerOptions {
            group: "g".into(),
            ..PushConsumerOptions::default()
        };
        assert_eq!(message(ok.validate()), "accepted ()");
        assert_eq!(
            message(PushConsumerOptions::default().validate()),
            "the consumer group is empty"
        );
        let bad = [
            (
                PushConsumerOptions {
                    consume_threads: 0,
                    ..ok.clone()
                },
                "consume threads must be at least 1",
            ),
            (
                PushConsumerOptions {
                    pull_batch_size: 0,
                    ..ok.clone()
                },
                "the pull batch size must be at least 1",
            ),
            (
                PushConsumerOptions {
                    consume_batch_size: 0,
                    ..ok.clone()
                },
                "the consume batch size must be at least 1",
            ),
            (
                PushConsumerOptions {
                    max_reconsume_times: -2,
                    ..ok.clone()
                },
                "max reconsume times must be -1 (the default, 16) or more",
            ),
            (
                PushConsumerOptions {
                    pull_threshold_for_queue: 0,
                    ..ok.clone()
                },
                "pull thresholds (messages per queue or per topic) must be at least 1",
            ),
            (
                PushConsumerOptions {
                    pull_threshold_for_topic: Some(0),
                    ..ok.clone()
                },
                "pull thresholds (messages per queue or per topic) must be at least 1",
            ),
            (
                PushConsumerOptions {
                    pull_threshold_size_for_topic: Some(0),
                    ..ok.clone()
                },
                "pull size thresholds (bytes per queue or per topic) must be at least 1",
            ),
            (
                PushConsumerOptions {
                    consume_timeout: Duration::ZERO,
                    ..ok.clone()
                },
                "the consume timeout must be more than zero",
            ),
            (
                PushConsumerOptions {
                    suspend_current_queue_time: Duration::from_millis(9),
                    ..ok.clone()
                },
                "the suspend time of an orderly queue must be from 10 ms to 30 s",
            ),
            (
                PushConsumerOptions {
                    suspend_current_queue_time: Duration::from_millis(30_001),
                    ..ok.clone()
                },
                "the suspend time of an orderly queue must be from 10 ms to 30 s",
            ),
            (
                PushConsumerOptions {
                    consume_from: ConsumeFrom::Timestamp(-3),
                    ..ok.clone()
                },
                "the consume timestamp -3 is before 1970",
            ),
        ];
        for (options, expected) in bad {
            assert_eq!(message(options.validate()), expected);
        }
        let edges = PushConsumerOptions {
            suspend_current_queue_time: Duration::from_millis(10),
            await_termination: Duration::ZERO,
            consume_timeout: Duration::from_millis(1),
            pull_threshold_for_topic: Some(1),
            pull_threshold_size_for_topic: Some(1),
            ..ok.clone()
        };
        assert_eq!(message(edges.validate()), "accepted ()");
        let longest = PushConsumerOptions {
            suspend_current_queue_time: Duration::from_secs(30),
            ..ok
        };
        assert_eq!(message(longest.validate()), "accepted ()");
    }

    #[test]
    fn pull_options_are_checked() {
        let ok = PullConsumerOptions {
            group: "g".into(),
            ..PullConsumerOptions::default()
        };
        assert_eq!(message(ok.validate()), "accepted ()");
        assert_eq!(
            message(PullConsumerOptions::default().validate()),
            "the consumer group is empty"
        );
        let bad = PullConsumerOptions {
            pull_batch_size: -1,
            ..ok
        };
        assert_eq!(
            message(bad.validate()),
            "the pull batch size must be at least 1"
        );
    }
}
