//! Index file names: the creation time as `yyyyMMddHHmmssSSS` (Apache's
//! `UtilAll.timeMillisToHumanString`).
//!
//! Apache formats local time; FerroMQ formats UTC (the store has no time-zone database, and
//! local-time names change meaning with the zone; docs/store.md, "Index files"). Names only order
//! the files, so a new name is also forced past the newest existing one: files created in the same
//! millisecond, after a clock step back, or after Apache files named in a zone ahead of UTC
//! still sort in creation order.

/// Length of a name.
const NAME_LEN: usize = 17;

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// (year, month, day) to days since 1970-01-01.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The name of a file created at `ms` (Unix milliseconds, UTC).
pub(super) fn format(ms: i64) -> String {
    const DAY_MS: i64 = 86_400_000;
    let (y, mo, d) = civil_from_days(ms.div_euclid(DAY_MS));
    let in_day = ms.rem_euclid(DAY_MS);
    let (h, mi, s, milli) = (
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1_000 % 60,
        in_day % 1_000,
    );
    format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}{milli:03}")
}

/// The time a name stands for, read as UTC; `None` if it is not a valid name.
pub(super) fn parse(name: &str) -> Option<i64> {
    if name.len() != NAME_LEN || !name.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let field = |from: usize, to: usize| name.get(from..to).and_then(|s| s.parse::<i64>().ok());
    let (y, mo, d) = (field(0, 4)?, field(4, 6)?, field(6, 8)?);
    let (h, mi, s, milli) = (
        field(8, 10)?,
        field(10, 12)?,
        field(12, 14)?,
        field(14, 17)?,
    );
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 59 {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    Some(days * 86_400_000 + h * 3_600_000 + mi * 60_000 + s * 1_000 + milli)
}

/// Whether `name` looks like an index file name (17 digits).
pub(super) fn is_name(name: &str) -> bool {
    name.len() == NAME_LEN && name.bytes().all(|b| b.is_ascii_digit())
}

/// The name for a file created at `now_ms` that sorts after `newest` (the newest existing
/// file's name, if any).
pub(super) fn next(now_ms: i64, newest: Option<&str>) -> String {
    let floor = newest.and_then(parse).map_or(i64::MIN, |t| t + 1);
    format(now_ms.max(floor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_utc() {
        assert_eq!(format(0), "19700101000000000");
        // 2024-02-29T23:59:59.999Z (leap day).
        assert_eq!(format(1_709_251_199_999), "20240229235959999");
        assert_eq!(format(1_709_251_200_000), "20240301000000000");
        assert_eq!(parse("20240229235959999"), Some(1_709_251_199_999));
        assert_eq!(parse("2024022923595999"), None);
        assert_eq!(parse("20241329235959999"), None);
        assert!(is_name("20240229235959999"));
        assert!(!is_name("20240229235959999.tmp"));
        for ms in [0, 951_782_400_000, 1_700_000_000_123, 4_102_444_800_000] {
            assert_eq!(parse(&format(ms)), Some(ms));
        }
    }

    #[test]
    fn next_name_sorts_after_the_newest() {
        assert_eq!(next(1_000, None), "19700101000001000");
        assert_eq!(
            next(1_000, Some("19700101000001000")),
            "19700101000001001",
            "same millisecond"
        );
        assert_eq!(
            next(1_000, Some("20300101000000000")),
            "20300101000000001",
            "clock behind the newest name"
        );
        assert_eq!(next(5_000, Some("19700101000001000")), "19700101000005000");
    }
}
