//! Logging for `mqnamesrv` and `mqbroker`.
//!
//! - Format ([`LogFormat`]): text lines (the default) or one JSON object per line, for log
//!   shippers; chosen by the `logFormat` config key or the `FERROMQ_LOG_FORMAT` environment
//!   variable, which wins when set.
//! - Destination: standard error, or with `logDir` a file per server (`broker.log`,
//!   `namesrv.log`) rolled at midnight UTC into `<name>.<yyyy-mm-dd>.log`, keeping the newest
//!   `logMaxFiles` rolled files ([`DailyFile`]).
//! - Level: `RUST_LOG` (default `info`), a comma-separated list of `level` and
//!   `target=level` ([`level_filter`]). Span and field directives (`target[span{f=v}]=level`)
//!   are not understood: such a value is reported and `info` is used. (tracing-subscriber's
//!   `EnvFilter`, which has them, brings a regular-expression engine of a few hundred KB into
//!   every server binary.)
//! - A warning or error that repeats is rate-limited ([`RateLimit`]): at most one line per
//!   second from each place in the code; the next line that passes says how many were dropped.

#![warn(missing_docs)]

mod daily;
mod rate;

use std::path::PathBuf;

use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

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
    let (filter, refused) = level_filter(std::env::var("RUST_LOG").ok().as_deref());
    let filter = || filter.clone();
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
    if let Some(e) = refused {
        tracing::warn!("RUST_LOG not understood, logging at info: {e}");
    }
}

/// The log filter for a `RUST_LOG` value: `None` or blank is `info`; otherwise a comma-separated
/// list of `level` (the default for every target) and `target=level` (that target and the
/// modules under it), levels being `off`, `error`, `warn`, `info`, `debug`, `trace` (any case).
/// A target without a level (`ferromq_broker`) means `trace` for it. A value that is not such a
/// list gives the `info` filter and the reason, for the caller to report.
pub fn level_filter(value: Option<&str>) -> (Targets, Option<String>) {
    let info = || Targets::new().with_default(tracing::Level::INFO);
    match value.map(str::trim) {
        None | Some("") => (info(), None),
        Some(v) => match v.parse::<Targets>() {
            Ok(targets) => (targets, None),
            Err(e) => (info(), Some(format!("`{v}`: {e}"))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use tracing::level_filters::LevelFilter;
    use tracing::Level;

    #[test]
    fn rust_log_values_set_levels_by_target() {
        let (f, refused) = level_filter(None);
        assert!(refused.is_none());
        assert!(f.would_enable("ferromq_broker::server", &Level::INFO));
        assert!(!f.would_enable("ferromq_broker::server", &Level::DEBUG));

        let (f, refused) = level_filter(Some("warn,ferromq_store=debug,ferromq_remoting::tls=off"));
        assert!(refused.is_none());
        assert!(f.would_enable("ferromq_store::commitlog", &Level::DEBUG));
        assert!(!f.would_enable("ferromq_store::commitlog", &Level::TRACE));
        assert!(f.would_enable("ferromq_broker", &Level::WARN));
        assert!(!f.would_enable("ferromq_broker", &Level::INFO));
        assert!(!f.would_enable("ferromq_remoting::tls", &Level::ERROR));
        assert!(f.would_enable("ferromq_remoting::server", &Level::WARN));

        let (f, refused) = level_filter(Some("DEBUG"));
        assert!(refused.is_none());
        assert_eq!(f.default_level(), Some(LevelFilter::DEBUG));
    }

    #[test]
    fn rust_log_values_not_understood_fall_back_to_info_with_a_reason() {
        for bad in ["ferromq_broker=loud", "ferromq_broker[conn{id=1}]=debug"] {
            let (f, refused) = level_filter(Some(bad));
            let reason = refused.unwrap_or_else(|| panic!("{bad} was accepted"));
            assert!(reason.contains(bad), "{reason}");
            assert_eq!(f.default_level(), Some(LevelFilter::INFO), "{bad}");
        }
    }

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
