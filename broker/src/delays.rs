//! Parking messages that must wait (docs/protocol.md, "Delayed and timer messages"): a message
//! with a delay level goes to `SCHEDULE_TOPIC_XXXX` (delivered by [`crate::services::schedule`]),
//! one with timer properties to `rmq_sys_wheel_timer` (delivered by [`crate::services::timer`]),
//! each with its real topic and queue in `REAL_TOPIC` / `REAL_QID`; and the message a parked one
//! becomes when it is due.

use ferromq_protocol::codes::ResponseCode;
use ferromq_protocol::message::{property, sysflag, MessageExt, TransactionType};
use ferromq_store::commit_log::SCHEDULE_TOPIC;
use ferromq_store::configs::TIMER_TOPIC;

use crate::response::{fail, Response};
use crate::state::Broker;

/// The timer properties a producer sets; removed from the real message on delivery.
pub(crate) const REQUEST_PROPERTIES: [&str; 3] = [
    property::TIMER_DELIVER_MS,
    property::TIMER_DELAY_SEC,
    property::TIMER_DELAY_MS,
];
impl Broker {
    /// Parks a message that must wait (Apache `HookUtils.handleScheduleAndTimerMessage`): a
    /// timer message into `rmq_sys_wheel_timer`, a delay-level one into `SCHEDULE_TOPIC_XXXX`.
    /// Only non-transactional and committed messages wait; a delay level wins over timer
    /// properties, which are then dropped. `Err` is the refusal to answer.
    pub(crate) fn park_if_delayed(&self, m: &mut MessageExt) -> Result<(), Response> {
        if !matches!(
            sysflag::transaction_type(m.sys_flag),
            TransactionType::NotTransaction | TransactionType::Commit
        ) {
            return Ok(());
        }
        if m.topic != TIMER_TOPIC
            && REQUEST_PROPERTIES
                .iter()
                .any(|p| m.properties.value(p).is_some())
        {
            let level = m
                .properties
                .value(property::DELAY_TIME_LEVEL)
                .and_then(|l| l.trim().parse::<i32>().ok())
                .unwrap_or(0);
            if level > 0 {
                for p in REQUEST_PROPERTIES {
                    m.properties.remove(p);
                }
            } else {
                self.park_timer(m, ferromq_common::now_ms())?;
            }
        }
        self.schedule_if_delayed(m);
        Ok(())
    }

    /// Apache `HookUtils.transformTimerMessage`, with millisecond precision (Apache rounds the
    /// delivery time down to `timerPrecisionMs`; FerroMQ delivers at the time asked for).
    fn park_timer(&self, m: &mut MessageExt, now: i64) -> Result<(), Response> {
        let settings = self.settings();
        if !settings.store.timer_wheel_enable {
            return Err(fail(
                ResponseCode::SYSTEM_ERROR,
                "timer messages are disabled on this broker (timerWheelEnable=false)",
            ));
        }
        let number = |key: &str| -> Result<Option<i64>, Response> {
            m.properties
                .value(key)
                .map(|v| {
                    v.trim().parse::<i64>().map_err(|_| {
                        fail(
                            ResponseCode::MESSAGE_ILLEGAL,
                            format!("timer property {key}={v} is not a number"),
                        )
                    })
                })
                .transpose()
        };
        let deliver_ms = if let Some(sec) = number(property::TIMER_DELAY_SEC)? {
            now.saturating_add(sec.saturating_mul(1000))
        } else if let Some(ms) = number(property::TIMER_DELAY_MS)? {
            now.saturating_add(ms)
        } else {
            number(property::TIMER_DELIVER_MS)?.unwrap_or(now)
        };
        if m.properties.value(property::TIMER_DEL_UNIQKEY).is_some() {
            return Err(fail(
                ResponseCode::MESSAGE_ILLEGAL,
                "TIMER_DEL_UNIQKEY is set by the broker only: recall a timer message with \
                 RECALL_MESSAGE",
            ));
        }
        if deliver_ms <= now {
            return Ok(()); // already due: stored and delivered as a normal message
        }
        let max_ms = i64::try_from(settings.store.timer_max_delay_sec)
            .unwrap_or(i64::MAX)
            .saturating_mul(1000);
        if deliver_ms - now > max_ms {
            return Err(fail(
                ResponseCode::MESSAGE_ILLEGAL,
                format!(
                    "timer message delay {} ms exceeds timerMaxDelaySec {} s",
                    deliver_ms - now,
                    settings.store.timer_max_delay_sec
                ),
            ));
        }
        park_at(m, deliver_ms);
        Ok(())
    }

    /// Parks the delete marker of a recall ([`crate::handlers::recall`]) in the timer topic,
    /// due at `deliver_ms` even when that is already past: the timer task must read it before
    /// the message it cancels (due 1 ms later), never deliver it as a message.
    pub(crate) fn park_recall_marker(&self, m: &mut MessageExt, deliver_ms: i64) {
        park_at(m, deliver_ms);
    }

    /// Moves a message with a delay level into the schedule topic (Apache's
    /// `HookUtils.handleScheduleMessage`): only non-transactional or committed messages, the level
    /// clamped to the highest configured one.
    pub(crate) fn schedule_if_delayed(&self, m: &mut MessageExt) {
        let Some(level) = m
            .properties
            .value(property::DELAY_TIME_LEVEL)
            .and_then(|l| l.trim().parse::<i32>().ok())
        else {
            return;
        };
        if level <= 0
            || !matches!(
                sysflag::transaction_type(m.sys_flag),
                TransactionType::NotTransaction | TransactionType::Commit
            )
        {
            return;
        }
        let max = i32::try_from(self.delay_levels.len()).unwrap_or(1).max(1);
        let level = level.min(max);
        m.properties
            .insert(property::DELAY_TIME_LEVEL, level.to_string());
        m.properties.insert(property::REAL_TOPIC, m.topic.as_str());
        m.properties
            .insert(property::REAL_QUEUE_ID, m.queue_id.to_string());
        m.topic = SCHEDULE_TOPIC.to_owned();
        m.queue_id = level - 1;
    }

    /// The message a due schedule or timer entry becomes: real topic and queue back (checked by
    /// [`Broker::real_destination`]), `DELAY` removed. `Err` says why there is nowhere to deliver.
    pub(crate) fn time_up(&self, scheduled: &MessageExt) -> Result<MessageExt, String> {
        let (topic, queue_id) = self.real_destination(scheduled)?;
        let mut properties = scheduled.properties.clone();
        properties.remove(property::DELAY_TIME_LEVEL);
        properties.insert(property::WAIT_STORE_MSG_OK, "false");
        Ok(MessageExt {
            topic,
            queue_id,
            flag: scheduled.flag,
            body: scheduled.body.clone(),
            properties,
            sys_flag: scheduled.sys_flag,
            born_timestamp: scheduled.born_timestamp,
            born_host: scheduled.born_host,
            store_host: self.store_host,
            reconsume_times: scheduled.reconsume_times,
            prepared_transaction_offset: scheduled.prepared_transaction_offset,
            ..MessageExt::default()
        })
    }
}

/// Moves `m` into the timer topic, due at `deliver_ms`, its destination kept in `REAL_TOPIC` /
/// `REAL_QID`.
fn park_at(m: &mut MessageExt, deliver_ms: i64) {
    m.properties
        .insert(property::TIMER_OUT_MS, deliver_ms.to_string());
    m.properties.insert(property::REAL_TOPIC, m.topic.as_str());
    m.properties
        .insert(property::REAL_QUEUE_ID, m.queue_id.to_string());
    m.topic = TIMER_TOPIC.to_owned();
    m.queue_id = 0;
}
