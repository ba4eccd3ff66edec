//! Message filters of pulls: tags at the consume-queue level, SQL92 on a record's properties
//! (`enablePropertyFilter`).

use ferromq_protocol::body::SubscriptionData;
use ferromq_protocol::filter::Selector;
use ferromq_protocol::message::{decode_all, DecodeOptions, TagSubscription};
use ferromq_protocol::ResponseCode;
use ferromq_store::store::MessageFilter;

use crate::response::{fail, Response};
use crate::state::Broker;

/// Tag filtering at the consume-queue level: `*` (or no tags) matches everything.
pub(crate) struct TagFilter {
    codes: Option<Vec<i64>>,
}

impl TagFilter {
    /// The filter of a TAG subscription.
    pub(crate) fn new(sub: &SubscriptionData) -> TagFilter {
        let all = sub.sub_string.trim().is_empty() || sub.sub_string.trim() == "*";
        if all {
            return TagFilter { codes: None };
        }
        let mut codes: Vec<i64> = sub.code_set.iter().map(|c| i64::from(*c)).collect();
        if codes.is_empty() {
            codes = TagSubscription::parse(&sub.sub_string)
                .map(|t| t.codes.iter().map(|c| i64::from(*c)).collect())
                .unwrap_or_default();
        }
        TagFilter { codes: Some(codes) }
    }
}

impl MessageFilter for TagFilter {
    fn matches_tags_code(&self, tags_code: i64) -> bool {
        match &self.codes {
            None => true,
            Some(codes) => codes.contains(&tags_code),
        }
    }
}

/// SQL92 filtering on the stored record's properties (`enablePropertyFilter`).
pub(crate) struct SqlFilter {
    pub(crate) selector: Selector,
}

impl MessageFilter for SqlFilter {
    fn matches_tags_code(&self, _tags_code: i64) -> bool {
        true
    }

    fn matches_record(&self, record: &bytes::Bytes) -> bool {
        decode_all(record, &DecodeOptions::store())
            .ok()
            .and_then(|mut ms| ms.pop())
            .is_some_and(|m| self.selector.evaluate(&m.properties))
    }
}

/// Compiles a SQL92 subscription, or the response that refuses it.
pub(crate) fn sql_selector(broker: &Broker, expression: &str) -> Result<Selector, Response> {
    if !broker.settings().broker.enable_property_filter {
        return Err(fail(
            ResponseCode::SYSTEM_ERROR,
            "The broker does not support consumer to filter message by SQL92",
        ));
    }
    Selector::parse(expression).map_err(|e| {
        fail(
            ResponseCode::SUBSCRIPTION_PARSE_FAILED,
            format!("parse the consumer's subscription[{expression}] failed: {e}"),
        )
    })
}
