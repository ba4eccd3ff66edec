//! Command-line options of `mqbench`.

use std::time::Duration;

/// What to benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Send messages.
    Producer,
    /// Consume messages (TPS and born-to-consumed latency).
    Consumer,
    /// Send transactional messages (committed by the local transaction).
    Transaction,
}

/// How the producer sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendMode {
    /// Wait for each answer.
    Sync,
    /// Callbacks, with up to `in_flight` sends outstanding per thread.
    Async,
    /// No answer.
    Oneway,
}

/// Parsed options.
#[derive(Debug, Clone)]
pub struct Options {
    /// The benchmark.
    pub command: Command,
    /// Name server list (`host:port;host:port`).
    pub namesrv: String,
    /// Topic.
    pub topic: String,
    /// Producer or consumer group.
    pub group: String,
    /// Concurrent senders (producer, transaction) or listener threads (consumer).
    pub threads: usize,
    /// Body size in bytes.
    pub size: usize,
    /// How long to run; `None` until interrupted.
    pub duration: Option<Duration>,
    /// Producer send mode.
    pub mode: SendMode,
    /// Messages per batch (producer, sync mode); 1 sends single messages.
    pub batch: usize,
    /// Outstanding async sends per thread.
    pub in_flight: usize,
    /// Report period.
    pub interval: Duration,
    /// JSON lines instead of text.
    pub json: bool,
}

/// The usage text.
pub const USAGE: &str = "usage: mqbench <producer|consumer|transaction> [options]
  -n, --namesrv <addr>     name servers, host:port[;host:port] (default 127.0.0.1:9876)
  -t, --topic <topic>      topic (default BenchmarkTest)
  -g, --group <group>      producer / consumer group (default benchmark_<command>)
  -w, --threads <n>        concurrent senders, or listener threads (default 16)
  -s, --size <bytes>       message body size (default 128)
  -d, --duration <secs>    stop after this many seconds (default: run until Ctrl-C)
  -m, --mode <mode>        producer: sync | async | oneway (default sync)
  -b, --batch <n>          producer, sync: messages per batch (default 1)
      --in-flight <n>      async: outstanding sends per thread (default 64)
  -i, --interval <secs>    report period (default 10)
      --json               one JSON object per report line
  -h, --help               print this help";

fn number<T: std::str::FromStr>(flag: &str, value: Option<String>) -> Result<T, String> {
    let value = value.ok_or_else(|| format!("{flag} needs a value"))?;
    value
        .parse()
        .map_err(|_| format!("{flag}: `{value}` is not a number"))
}

/// Parses `args` (without the program name); `Ok(None)` asks for the help text.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Option<Options>, String> {
    let mut it = args.into_iter();
    let command = match it.next().as_deref() {
        Some("producer") => Command::Producer,
        Some("consumer") => Command::Consumer,
        Some("transaction") => Command::Transaction,
        Some("-h" | "--help") | None => return Ok(None),
        Some(other) => return Err(format!("unknown command `{other}`")),
    };
    let mut o = Options {
        command,
        namesrv: "127.0.0.1:9876".to_owned(),
        topic: "BenchmarkTest".to_owned(),
        group: String::new(),
        threads: 16,
        size: 128,
        duration: None,
        mode: SendMode::Sync,
        batch: 1,
        in_flight: 64,
        interval: Duration::from_secs(10),
        json: false,
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "-n" | "--namesrv" => o.namesrv = it.next().ok_or("--namesrv needs a value")?,
            "-t" | "--topic" => o.topic = it.next().ok_or("--topic needs a value")?,
            "-g" | "--group" => o.group = it.next().ok_or("--group needs a value")?,
            "-w" | "--threads" => o.threads = number(&arg, it.next())?,
            "-s" | "--size" => o.size = number(&arg, it.next())?,
            "-d" | "--duration" => {
                o.duration = Some(Duration::from_secs_f64(number(&arg, it.next())?))
            }
            "-m" | "--mode" => {
                o.mode = match it.next().as_deref() {
                    Some("sync") => SendMode::Sync,
                    Some("async") => SendMode::Async,
                    Some("oneway") => SendMode::Oneway,
                    other => {
                        return Err(format!(
                            "--mode: `{}` is not sync, async or oneway",
                            other.unwrap_or("")
                        ))
                    }
                }
            }
            "-b" | "--batch" => o.batch = number(&arg, it.next())?,
            "--in-flight" => o.in_flight = number(&arg, it.next())?,
            "-i" | "--interval" => o.interval = Duration::from_secs_f64(number(&arg, it.next())?),
            "--json" => o.json = true,
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    if o.threads == 0 || o.size == 0 || o.batch == 0 || o.in_flight == 0 {
        return Err("threads, size, batch and in-flight must be at least 1".to_owned());
    }
    if o.batch > 1 && o.mode != SendMode::Sync {
        return Err("--batch needs --mode sync".to_owned());
    }
    if o.group.is_empty() {
        o.group = match o.command {
            Command::Producer => "benchmark_producer",
            Command::Consumer => "benchmark_consumer",
            Command::Transaction => "benchmark_transaction",
        }
        .to_owned();
    }
    Ok(Some(o))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn parses_options_and_rejects_bad_ones() {
        let o = parse(args("producer -n a:1 -w 4 -s 1024 -d 2.5 -m async --json"))
            .expect("ok")
            .expect("options");
        assert_eq!(o.command, Command::Producer);
        assert_eq!(o.threads, 4);
        assert_eq!(o.size, 1024);
        assert_eq!(o.duration, Some(Duration::from_millis(2500)));
        assert_eq!(o.mode, SendMode::Async);
        assert!(o.json);
        assert_eq!(o.group, "benchmark_producer");
        assert!(parse(args("producer -b 4 -m oneway")).is_err());
        assert!(parse(args("producer -w x")).is_err());
        assert!(parse(args("bogus")).is_err());
        assert!(parse(args("--help")).expect("ok").is_none());
    }
}
