//! Logging for `mqnamesrv` and `mqbroker`.
//!
//! - Format ([`LogFormat`]): text lines (the default) or one JSON object per line, for log
//!   shippers; chosen by the `logFormat` config key or the `FERROMQ_LOG_FORMAT` environment
//!   variable, which wins when set.
//! - Destination: standard error, or with `logDir` a file per server (`broker.log`,
//!   `namesrv.log`) rolled at midnight UTC into `<name>.<yyyy-mm-dd>.log`, keeping the newest
//!   `logMaxFiles` rolled files ([`DailyFile`]).
//! - Level: `RUST_LOG` (default `info`).
//! - A warning or error that repeats is rate-limited ([`RateLimit`]): at most one line per
//!   second from each place in the code; the next line that passes says how many were dropped.

#![warn(missing_docs)]

mod daily;
mod rate;

use std::path::PathBuf;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

pub use daily::{civil_date, DailyFile};
pub use rate::{take_note, Note, RateLimit};

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human-readable lines (tracing's default layout).
    #[default]
    Text,
    /// One JSON object per line: `timestamp`, `level`, `target`, `fields` (with `message`).
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!("unknown log format `{other}` (text or json)")),
        }
    }
}

/// Where and how a server logs.
#[derive(Debug, Clone)]
pub struct LogConfig {
    /// The file's base name (`broker`, `namesrv`).
    pub name: String,
    /// Text or JSON.
    pub format: LogFormat,
    /// The directory of the log files; `None` logs to standard error.
    pub dir: Option<PathBuf>,
    /// Rolled files kept (older ones are deleted).
    pub max_files: usize,
}

impl LogConfig {
    /// `logFormat` (overridden by `FERROMQ_LOG_FORMAT` when set), `logDir` (empty: standard
    /// error; a leading `~/` is the home directory) and `logMaxFiles`.
    pub fn from_keys(
        name: &str,
        log_format: &str,
        log_dir: &str,
        max_files: usize,
    ) -> Result<Self, String> {
        let format = match std::env::var("FERROMQ_LOG_FORMAT") {
            Ok(env) if !env.trim().is_empty() => env
                .parse()
                .map_err(|e: String| format!("FERROMQ_LOG_FORMAT: {e}"))?,
            _ => log_format.parse().map_err(|e| format!("logFormat: {e}"))?,
        };
        let dir = match log_dir.trim() {
            "" => None,
            dir => Some(expand_home(dir)),
        };
        Ok(LogConfig {
            name: name.to_owned(),
            format,
            dir,
            max_files: max_files.max(1),
        })
    }
}

fn expand_home(dir: &str) -> PathBuf {
    match (dir.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(dir),
    }
}

/// Installs the process's logger. Fails when the log file cannot be opened.
pub fn init(config: &LogConfig) -> std::io::Result<()> {
    match &config.dir {
        None => install(config.format, std::io::stderr),
        Some(dir) => {
            let file = DailyFile::open(dir, &config.name, config.max_files)?;
            install(config.format, move || file.clone())
        }
    }
    Ok(())
}

fn install<W>(format: LogFormat, make: impl Fn() -> W + Send + Sync + 'static)
where
    W: std::io::Write + Send + 'static,
{
    let filter = || EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = format == LogFormat::Json;
    // A line after dropped ones is preceded by a note saying how many were dropped.
    let make = move || {
        let mut writer = make();
        if let Some(note) = rate::take_note() {
            let _ = writer.write_all(note.render(json, std::time::SystemTime::now()).as_bytes());
        }
        writer
    };
    let rate = RateLimit::per_second();
    let registry = tracing_subscriber::registry();
    let _ = match format {
        LogFormat::Text => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(make)
                    .with_ansi(false)
                    .with_filter(rate)
                    .with_filter(filter()),
            )
            .try_init(),
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_writer(make)
                    .with_filter(rate)
                    .with_filter(filter()),
            )
            .try_init(),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse_and_unknown_ones_are_refused() {
        assert_eq!("".parse::<LogFormat>(), Ok(LogFormat::Text));
        assert_eq!("JSON".parse::<LogFormat>(), Ok(LogFormat::Json));
        assert!("xml".parse::<LogFormat>().is_err());
        let config = LogConfig::from_keys("broker", "text", "~/logs/rocketmqlogs", 0);
        let config = config.ok().unwrap_or_else(|| unreachable!());
        assert_eq!(config.max_files, 1);
        if let Some(home) = std::env::var_os("HOME") {
            assert_eq!(
                config.dir,
                Some(PathBuf::from(home).join("logs/rocketmqlogs"))
            );
        }
    }
}
