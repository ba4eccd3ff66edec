//! Wall-clock time as RocketMQ writes it: milliseconds since the Unix epoch.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch; 0 for a clock set before 1970, `i64::MAX` past year
/// 292 million.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_2020_and_moving_forward() {
        let a = now_ms();
        assert!(a > 1_577_836_800_000, "{a} is before 2020");
        assert!(now_ms() >= a);
    }
}
