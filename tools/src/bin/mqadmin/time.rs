//! Times as Apache's tools print and read them: in the local zone of the process (the JVM's
//! default zone for Apache; here the `TZ` variable, else `/etc/localtime`).
//!
//! - [`human_time`]: `UtilAll.timeMillisToHumanString2`, `yyyy-MM-dd HH:mm:ss,SSS`.
//! - [`parse_date`]: `UtilAll.parseDate(text, "yyyy-MM-dd#HH:mm:ss:SSS")`.
//! - [`parse_millis_or_date`]: the `-b` / `-e` / `-s` timestamps of Apache's commands,
//!   milliseconds since the epoch or that date layout.

use chrono::{DateTime, Local, NaiveDate, Offset as _, TimeZone as _, Utc};

/// `millis` (since the epoch) as `yyyy-MM-dd HH:mm:ss,SSS` in the local zone.
pub(crate) fn human_time(millis: i64) -> String {
    match Local.timestamp_millis_opt(millis).single() {
        Some(t) => t.format("%Y-%m-%d %H:%M:%S,%3f").to_string(),
        // Out of chrono's range: the number itself rather than a wrong date.
        None => millis.to_string(),
    }
}

/// `millis` (since the epoch) as `yyyy-MM-dd HH:mm:ss` in the local zone.
pub(crate) fn local_seconds(millis: i64) -> String {
    match Local.timestamp_millis_opt(millis).single() {
        Some(t) => t.format("%Y-%m-%d %H:%M:%S").to_string(),
        None => millis.to_string(),
    }
}

/// `millis` as `yyyy-MM-dd HH:mm:ss` in a fixed zone `offset_secs` east of UTC (Apache's
/// `clusterRT -p true` prints GMT+8 whatever the local zone is).
pub(crate) fn fixed_zone_time(millis: i64, offset_secs: i32) -> String {
    let zone = chrono::FixedOffset::east_opt(offset_secs).unwrap_or(Utc.fix());
    match DateTime::from_timestamp_millis(millis) {
        Some(t) => t
            .with_timezone(&zone)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string(),
        None => millis.to_string(),
    }
}

/// `yyyy-MM-dd#HH:mm:ss:SSS` in the local zone as milliseconds since the epoch; `None` when
/// the text is not that layout or names no valid local time. A time a clock change repeats
/// is its first occurrence.
pub(crate) fn parse_date(text: &str) -> Option<i64> {
    let (date, time) = text.split_once('#')?;
    let d: Vec<u32> = date
        .split('-')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let t: Vec<u32> = time
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let (&[y, m, day], &[hh, mm, ss, ms]) = (d.as_slice(), t.as_slice()) else {
        return None;
    };
    let naive = NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, day)?
        .and_hms_milli_opt(hh, mm, ss, ms)?;
    Local
        .from_local_datetime(&naive)
        .earliest()
        .map(|t| t.timestamp_millis())
}

/// Milliseconds since the epoch, or `yyyy-MM-dd#HH:mm:ss:SSS` local time (Apache's
/// `timestampFormat`).
pub(crate) fn parse_millis_or_date(text: &str) -> Option<i64> {
    text.parse().ok().or_else(|| parse_date(text))
}

/// Now, in milliseconds since the epoch.
pub(crate) fn now_millis() -> i64 {
    Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    // The zone of the test process is whatever the machine has: these tests hold in any zone
    // (the end-to-end tests pin TZ in the child's environment).

    #[test]
    fn a_formatted_time_parses_back() {
        for millis in [0, 1_709_251_199_007, 951_782_400_000, 1_765_000_000_123] {
            let text = human_time(millis);
            assert_eq!(text.len(), 23, "{text}");
            let apache = text.replacen(' ', "#", 1).replacen(',', ":", 1);
            assert_eq!(parse_date(&apache), Some(millis), "{text}");
        }
    }

    #[test]
    fn bad_dates_do_not_parse() {
        assert_eq!(parse_date("2024-13-01#00:00:00:000"), None);
        assert_eq!(parse_date("2024-02-30#00:00:00:000"), None);
        assert_eq!(parse_date("2024-01-01 00:00:00"), None);
        assert_eq!(
            parse_millis_or_date("1700000000000"),
            Some(1_700_000_000_000)
        );
        assert_eq!(parse_millis_or_date("soon"), None);
    }

    #[test]
    fn a_fixed_zone_is_that_zone() {
        assert_eq!(fixed_zone_time(0, 8 * 3600), "1970-01-01 08:00:00");
        assert_eq!(fixed_zone_time(1_709_251_199_007, 0), "2024-02-29 23:59:59");
    }
}
