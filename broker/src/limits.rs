//! Limits on what clients can make the broker create: topics and subscription groups created on
//! demand are rate limited (`topicAutoCreateMaxPerSecond`,
//! `subscriptionGroupAutoCreateMaxPerSecond`), and every name passes
//! [`ferromq_protocol::names`] first.

use std::sync::Mutex;
use std::time::Instant;

use ferromq_protocol::{names, ResponseCode};

use crate::response::{fail, Response};

/// A token bucket refilled at `rate` tokens per second, holding at most `rate` tokens.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    state: Mutex<(f64, Instant)>,
}

impl Default for RateLimiter {
    fn default() -> Self {
        RateLimiter {
            state: Mutex::new((f64::MAX, Instant::now())),
        }
    }
}

impl RateLimiter {
    /// Takes one token if there is one at `rate` per second (the rate may change between calls).
    pub(crate) fn try_acquire(&self, rate: u32, now: Instant) -> bool {
        let rate = f64::from(rate);
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (tokens, last) = &mut *s;
        let elapsed = now.saturating_duration_since(*last).as_secs_f64();
        *tokens = (*tokens + elapsed * rate).min(rate);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The refusal of an on-demand creation over its rate limit (`key` names the setting).
pub(crate) fn busy(what: &str, key: &str, rate: u32) -> Response {
    fail(
        ResponseCode::SYSTEM_BUSY,
        format!("[LIMIT]too many {what} created on demand (at most {rate} per second, {key}); retry later"),
    )
}

/// A topic an admin request may create or delete: a valid name that is not an internal topic.
pub(crate) fn admin_topic(topic: &str) -> Result<(), Response> {
    if let Err(e) = names::check_topic(topic) {
        return Err(fail(ResponseCode::INVALID_PARAMETER, e.to_string()));
    }
    if names::is_internal_topic(topic) {
        return Err(fail(
            ResponseCode::NO_PERMISSION,
            format!("The topic[{topic}] is conflict with system topic."),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_bucket_refills_at_its_rate() {
        let limiter = RateLimiter::default();
        let t0 = Instant::now();
        assert!(
            (0..10).all(|_| limiter.try_acquire(10, t0)),
            "a full bucket"
        );
        assert!(!limiter.try_acquire(10, t0), "empty");
        assert!(limiter.try_acquire(10, t0 + Duration::from_millis(100)));
        assert!(!limiter.try_acquire(10, t0 + Duration::from_millis(100)));
        assert!(
            !limiter.try_acquire(0, t0 + Duration::from_secs(60)),
            "rate 0 creates nothing"
        );
    }
}
