//! A log file rolled at midnight UTC: `<name>.log` is today's; at the first line of a new
//! day it is renamed `<name>.<yyyy-mm-dd>.log` (the day it covers) and a new one is started.
//! Only the newest `max_files` rolled files are kept.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

const DAY_SECS: u64 = 86_400;

/// A daily-rolled log file; clones write to the same file.
#[derive(Debug, Clone)]
pub struct DailyFile {
    inner: Arc<Mutex<State>>,
}

#[derive(Debug)]
struct State {
    dir: PathBuf,
    name: String,
    max_files: usize,
    file: File,
    /// Days since the epoch (UTC) the open file covers.
    day: u64,
}

impl DailyFile {
    /// Opens (appending) `<dir>/<name>.log`, creating `dir`. A file left from an earlier day is
    /// rolled first.
    pub fn open(dir: &Path, name: &str, max_files: usize) -> io::Result<DailyFile> {
        std::fs::create_dir_all(dir)?;
        let path = current(dir, name);
        let today = day_of(SystemTime::now());
        if let Some(day) = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .ok()
            .map(day_of)
            .filter(|&day| day < today)
        {
            roll(dir, name, day, max_files)?;
        }
        let file = append(&path)?;
        Ok(DailyFile {
            inner: Arc::new(Mutex::new(State {
                dir: dir.to_owned(),
                name: name.to_owned(),
                max_files,
                file,
                day: today,
            })),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Rolls the file if `now` is on a later day than its lines.
    fn roll_if_new_day(state: &mut State, now: SystemTime) -> io::Result<()> {
        let today = day_of(now);
        if today <= state.day {
            return Ok(());
        }
        state.file.flush()?;
        roll(&state.dir, &state.name, state.day, state.max_files)?;
        state.file = append(&current(&state.dir, &state.name))?;
        state.day = today;
        Ok(())
    }

    /// Writes `line` as if at `now` (tests roll days without waiting for midnight).
    pub fn write_at(&self, line: &[u8], now: SystemTime) -> io::Result<()> {
        let mut state = self.state();
        // A failed roll keeps writing to the current file rather than losing the line.
        let _ = Self::roll_if_new_day(&mut state, now);
        state.file.write_all(line)
    }
}

impl Write for DailyFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_at(buf, SystemTime::now())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.state().file.flush()
    }
}

fn current(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.log"))
}

fn append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

fn day_of(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) / DAY_SECS
}

/// Renames the current file after `day` and deletes the oldest rolled files beyond `max_files`.
fn roll(dir: &Path, name: &str, day: u64, max_files: usize) -> io::Result<()> {
    let (y, m, d) = civil_date(day);
    let mut target = dir.join(format!("{name}.{y:04}-{m:02}-{d:02}.log"));
    // A second roll of the same day (a restart after a roll) keeps both.
    let mut n = 1;
    while target.exists() {
        target = dir.join(format!("{name}.{y:04}-{m:02}-{d:02}.{n}.log"));
        n += 1;
    }
    std::fs::rename(current(dir, name), &target)?;
    let prefix = format!("{name}.");
    let mut rolled: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|f| f.to_str())
                .is_some_and(|f| f.starts_with(&prefix) && f != format!("{name}.log"))
        })
        .collect();
    rolled.sort();
    let excess = rolled.len().saturating_sub(max_files);
    for old in &rolled[..excess] {
        let _ = std::fs::remove_file(old);
    }
    Ok(())
}

/// `now` as `yyyy-mm-ddThh:mm:ss.ffffffZ` (UTC).
pub(crate) fn rfc3339(now: SystemTime) -> String {
    let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (y, m, d) = civil_date(secs / DAY_SECS);
    let rest = secs % DAY_SECS;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:06}Z",
        rest / 3600,
        rest / 60 % 60,
        rest % 60,
        since.subsec_micros()
    )
}

/// The proleptic Gregorian date (year, month, day) of `days` since 1970-01-01.
pub fn civil_date(days: u64) -> (i64, u32, u32) {
    // Howard Hinnant's days-to-civil algorithm.
    let z = i64::try_from(days).unwrap_or(i64::MAX / 2) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        u32::try_from(m).unwrap_or(1),
        u32::try_from(d).unwrap_or(1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(day: u64, secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(day * DAY_SECS + secs)
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_date(0), (1970, 1, 1));
        assert_eq!(civil_date(59), (1970, 3, 1));
        assert_eq!(civil_date(11_016), (2000, 2, 29));
        assert_eq!(civil_date(20_793), (2026, 12, 6));
        let t = UNIX_EPOCH + Duration::from_micros(1_765_000_000_123_456);
        assert_eq!(rfc3339(t), "2025-12-06T05:46:40.123456Z");
    }

    #[test]
    fn lines_roll_at_midnight_and_old_files_go() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let log = DailyFile::open(dir.path(), "broker", 2).unwrap_or_else(|e| panic!("{e}"));
        let today = day_of(SystemTime::now());
        log.write_at(b"today\n", at(today, 10))
            .unwrap_or_else(|e| panic!("{e}"));
        for n in 1..=3 {
            log.write_at(format!("day +{n}\n").as_bytes(), at(today + n, 5))
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let read = |p: &str| std::fs::read_to_string(dir.path().join(p)).unwrap_or_default();
        assert_eq!(read("broker.log"), "day +3\n");
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap_or_else(|e| panic!("{e}"))
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .collect();
        names.sort();
        let date = |n: u64| {
            let (y, m, d) = civil_date(today + n);
            format!("broker.{y:04}-{m:02}-{d:02}.log")
        };
        // Two rolled files kept: days +1 and +2; today's went first.
        assert_eq!(names, [date(1), date(2), "broker.log".to_owned()]);
        assert_eq!(read(&date(2)), "day +2\n");
    }

    #[test]
    fn a_file_left_from_an_earlier_day_is_rolled_at_open() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("namesrv.log");
        std::fs::write(&path, "old\n").unwrap_or_else(|e| panic!("{e}"));
        let yesterday = SystemTime::now() - Duration::from_secs(DAY_SECS);
        File::options()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_modified(yesterday))
            .unwrap_or_else(|e| panic!("{e}"));
        let mut log = DailyFile::open(dir.path(), "namesrv", 5).unwrap_or_else(|e| panic!("{e}"));
        log.write_all(b"new\n").unwrap_or_else(|e| panic!("{e}"));
        let (y, m, d) = civil_date(day_of(yesterday));
        let rolled = dir.path().join(format!("namesrv.{y:04}-{m:02}-{d:02}.log"));
        assert_eq!(std::fs::read_to_string(rolled).unwrap_or_default(), "old\n");
        assert_eq!(std::fs::read_to_string(&path).unwrap_or_default(), "new\n");
    }
}
