//! The POP receipt handle (`extraInfo`, the `POP_CK` property) and the info strings of a POP
//! response, in Apache's text formats (docs/pop.md, "Receipt handles").

use ferromq_protocol::names::RETRY_TOPIC_PREFIX;

/// The fields of a receipt handle the broker reads: 8 space-separated fields, a 9th (the
/// proxy's commitlog offset) ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExtraInfo {
    /// Start offset of the pop batch on its queue (or the message offset after a change).
    pub(crate) ck_offset: i64,
    /// When the message was popped, ms.
    pub(crate) pop_time: i64,
    /// Invisible time, ms.
    pub(crate) invisible_time: i64,
    /// Revive queue id.
    pub(crate) revive_qid: i32,
    /// 0 normal topic, 1 pop retry topic v1, 2 v2.
    pub(crate) retry: u8,
    /// Broker name.
    pub(crate) broker_name: String,
    /// Queue of the message.
    pub(crate) queue_id: i32,
    /// Queue offset of the message.
    pub(crate) queue_offset: i64,
}

impl ExtraInfo {
    /// Parses a handle; the error text says which field is wrong.
    pub(crate) fn parse(text: &str) -> Result<ExtraInfo, String> {
        let parts: Vec<&str> = text.split(' ').collect();
        if parts.len() < 8 {
            return Err(format!(
                "parse extraInfo error: {} fields, expected at least 8: {text:?}",
                parts.len()
            ));
        }
        fn num<T: std::str::FromStr>(parts: &[&str], i: usize, name: &str) -> Result<T, String> {
            parts[i].parse().map_err(|_| {
                format!(
                    "parse extraInfo error: {name} {:?} is not a number",
                    parts[i]
                )
            })
        }
        let retry: u8 = num(&parts, 4, "retry")?;
        if retry > 2 {
            return Err(format!(
                "parse extraInfo error: retry mark {retry} is not 0, 1 or 2"
            ));
        }
        Ok(ExtraInfo {
            ck_offset: num(&parts, 0, "ckQueueOffset")?,
            pop_time: num(&parts, 1, "popTime")?,
            invisible_time: num(&parts, 2, "invisibleTime")?,
            revive_qid: num(&parts, 3, "reviveQid")?,
            retry,
            broker_name: parts[5].to_owned(),
            queue_id: num(&parts, 6, "queueId")?,
            queue_offset: num(&parts, 7, "queueOffset")?,
        })
    }

    /// The handle text (8 fields).
    pub(crate) fn build(&self) -> String {
        format!(
            "{} {} {} {} {} {} {} {}",
            self.ck_offset,
            self.pop_time,
            self.invisible_time,
            self.revive_qid,
            self.retry,
            self.broker_name,
            self.queue_id,
            self.queue_offset
        )
    }
}

/// The retry mark of a topic name: 2 for a v2 pop retry topic (`%RETRY%group+topic`), 1 for any
/// other `%RETRY%` topic, 0 otherwise.
pub(crate) fn retry_mark(topic: &str) -> u8 {
    if let Some(rest) = topic.strip_prefix(RETRY_TOPIC_PREFIX) {
        if rest.contains('+') {
            2
        } else {
            1
        }
    } else {
        0
    }
}

/// The pop retry topic of `group` on `topic`: v1 `%RETRY%group_topic`, v2 `%RETRY%group+topic`.
pub(crate) fn pop_retry_topic(group: &str, topic: &str, v2: bool) -> String {
    let sep = if v2 { '+' } else { '_' };
    format!("{RETRY_TOPIC_PREFIX}{group}{sep}{topic}")
}

/// The topic an ack names for a handle's retry mark.
pub(crate) fn real_topic(topic: &str, group: &str, retry: u8) -> String {
    match retry {
        0 => topic.to_owned(),
        1 => pop_retry_topic(group, topic, false),
        _ => pop_retry_topic(group, topic, true),
    }
}

/// Builds the `startOffsetInfo` and `msgOffsetInfo` strings, one entry per (topic, queue) that
/// returned messages.
#[derive(Debug, Default)]
pub(crate) struct OffsetInfos {
    start: Vec<String>,
    msgs: Vec<String>,
}

impl OffsetInfos {
    /// Adds one queue's batch.
    pub(crate) fn add(&mut self, topic: &str, queue_id: i32, start: i64, offsets: &[i64]) {
        let mark = retry_mark(topic);
        self.start.push(format!("{mark} {queue_id} {start}"));
        let list: Vec<String> = offsets.iter().map(i64::to_string).collect();
        self.msgs
            .push(format!("{mark} {queue_id} {}", list.join(",")));
    }

    /// (startOffsetInfo, msgOffsetInfo), `None` when empty.
    pub(crate) fn finish(self) -> (Option<String>, Option<String>) {
        if self.start.is_empty() {
            return (None, None);
        }
        (Some(self.start.join(";")), Some(self.msgs.join(";")))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn handle_round_trip_and_errors() {
        let h = ExtraInfo::parse("5 1700000000000 60000 3 1 broker-a 0 17 999").unwrap();
        assert_eq!(h.ck_offset, 5);
        assert_eq!(h.retry, 1);
        assert_eq!(h.queue_offset, 17);
        assert_eq!(h.build(), "5 1700000000000 60000 3 1 broker-a 0 17");
        assert!(ExtraInfo::parse("1 2 3").unwrap_err().contains("8"));
        assert!(ExtraInfo::parse("x 1 2 3 0 b 0 1")
            .unwrap_err()
            .contains("ckQueueOffset"));
        assert!(ExtraInfo::parse("1 1 2 3 7 b 0 1").is_err());
    }

    #[test]
    fn names_and_infos() {
        assert_eq!(retry_mark("T"), 0);
        assert_eq!(retry_mark("%RETRY%g_T"), 1);
        assert_eq!(retry_mark("%RETRY%g+T"), 2);
        assert_eq!(real_topic("T", "g", 1), "%RETRY%g_T");
        let mut i = OffsetInfos::default();
        i.add("T", 1, 4, &[4, 5]);
        i.add("%RETRY%g_T", 0, 0, &[0]);
        let (s, m) = i.finish();
        assert_eq!(s.unwrap(), "0 1 4;1 0 0");
        assert_eq!(m.unwrap(), "0 1 4,5;1 0 0");
    }
}
