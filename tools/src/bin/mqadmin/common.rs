//! What every command shares: the name server flag, the admin client, failures and their exit
//! line, output to stdout, and Apache's time format.

use std::fmt;
use std::io::Write as _;

use clap::Args;
use ferromq_client::{Admin, ClientConfig, Error};
use ferromq_protocol::body::{BrokerData, ClusterInfo};

/// `-n`: the name servers, as in every Apache command.
#[derive(Args, Debug, Clone)]
pub(crate) struct Namesrv {
    /// Name servers, `host:port;host:port`.
    #[arg(short = 'n', long = "namesrvAddr", env = "NAMESRV_ADDR")]
    pub(crate) namesrv: String,
}

/// `--json`: a listing printed as one JSON document instead of Apache's columns (FerroMQ's
/// addition).
#[derive(Args, Debug, Clone, Copy)]
pub(crate) struct Json {
    /// Print JSON instead of Apache's text layout.
    #[arg(long = "json")]
    pub(crate) json: bool,
}

/// Why a command failed: the error, and the server (or servers) that answered it.
#[derive(Debug)]
pub(crate) struct Failure {
    at: Option<String>,
    error: Error,
}

impl Failure {
    /// Attaches the address of the server that refused (or could not be reached).
    pub(crate) fn at(addr: &str) -> impl FnOnce(Error) -> Failure + '_ {
        move |error| Failure {
            at: Some(addr.to_owned()),
            error,
        }
    }

    /// A bad argument, found before any request.
    pub(crate) fn usage(op: &'static str, message: impl Into<String>) -> Failure {
        Failure {
            at: None,
            error: Error::invalid(op, message),
        }
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure { at: None, error }
    }
}

impl fmt::Display for Failure {
    /// `<server> <code> <reason>` for a refusal (the response code as a number, so scripts can
    /// match it), else `<server>: <error>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = self.at.as_deref().unwrap_or("-");
        match self.error.response_code() {
            Some(code) => write!(
                f,
                "{at} {} {}",
                code.0,
                self.error.remark().unwrap_or("no reason given")
            ),
            None if self.at.is_some() => write!(f, "{at}: {}", self.error),
            None => write!(f, "{}", self.error),
        }
    }
}

/// What a command returns.
pub(crate) type Outcome = Result<(), Failure>;

/// The admin client for `-n`.
pub(crate) fn connect(ns: &Namesrv) -> Result<Admin, Failure> {
    Admin::new(&ClientConfig::new(
        ns.namesrv.as_str(),
        Some("mqadmin".to_owned()),
    ))
    .map_err(Failure::at(&ns.namesrv))
}

/// The cluster table, with the name servers named on failure.
pub(crate) async fn cluster_info(admin: &Admin, ns: &Namesrv) -> Result<ClusterInfo, Failure> {
    admin.cluster_info().await.map_err(Failure::at(&ns.namesrv))
}

/// The broker groups (master and slaves) of `cluster`; an unknown cluster is an error.
pub(crate) fn brokers_of<'a>(
    info: &'a ClusterInfo,
    cluster: &str,
) -> Result<Vec<&'a BrokerData>, Failure> {
    if !info.cluster_addr_table.contains_key(cluster) {
        return Err(Failure::usage("cluster", format!("no cluster {cluster}")));
    }
    Ok(info.brokers_of(cluster).collect())
}

/// Writes `text` to stdout; a reader that went away (`| head`) is not an error.
pub(crate) fn print_out(text: &str) {
    if let Err(e) = std::io::stdout().write_all(text.as_bytes()) {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("mqadmin: cannot write the output: {e}");
        }
    }
}

/// `value` as pretty JSON on stdout.
pub(crate) fn print_json(value: &serde_json::Value) {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    print_out(&text);
}

/// Apache's `UtilAll.timeMillisToHumanString2` layout, `yyyy-MM-dd HH:mm:ss,SSS`, in UTC (Apache
/// uses the local zone).
pub(crate) fn human_time(millis: i64) -> String {
    let secs = millis.div_euclid(1000);
    let ms = millis.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Days to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02},{ms:03}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Apache's `PermName.perm2String`: `RWX` with `-` for each missing bit.
pub(crate) fn perm_string(perm: i32) -> String {
    let bit = |mask: i32, c: char| if perm & mask == mask { c } else { '-' };
    [bit(4, 'R'), bit(2, 'W'), bit(1, 'X')].iter().collect()
}

/// Java's `String.hashCode` (over UTF-16 code units).
pub(crate) fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

/// The order in which a default `java.util.HashMap` / `HashSet` iterates distinct keys with
/// these hash codes, inserted in this order: bucket by bucket of its final table (16 slots,
/// doubled while more than 3/4 full), insertion order within a bucket. (Java turns a bucket of
/// 8 or more keys into a tree, which never happens for the key counts of a topic's queues.)
pub(crate) fn java_hash_order(hashes: &[i32]) -> Vec<usize> {
    let mut capacity = 16usize;
    while hashes.len() > capacity / 4 * 3 {
        capacity *= 2;
    }
    let mut order: Vec<usize> = (0..hashes.len()).collect();
    order.sort_by_key(|&i| {
        let h = u32::from_ne_bytes(hashes[i].to_ne_bytes());
        ((h ^ (h >> 16)) as usize & (capacity - 1), i)
    });
    order
}

/// `items` in the order a default `java.util.HashSet` of them iterates (see
/// [`java_hash_order`]), given in insertion order.
pub(crate) fn java_set_order<'a>(items: impl IntoIterator<Item = &'a String>) -> Vec<&'a String> {
    let items: Vec<&String> = items.into_iter().collect();
    let hashes: Vec<i32> = items.iter().map(|s| java_string_hash(s)).collect();
    java_hash_order(&hashes)
        .into_iter()
        .map(|i| items[i])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_time_is_apaches_layout_in_utc() {
        assert_eq!(human_time(0), "1970-01-01 00:00:00,000");
        assert_eq!(human_time(1_709_251_199_007), "2024-02-29 23:59:59,007");
        assert_eq!(human_time(951_782_400_000), "2000-02-29 00:00:00,000");
    }

    #[test]
    fn perm_string_is_apaches() {
        assert_eq!(perm_string(6), "RW-");
        assert_eq!(perm_string(7), "RWX");
        assert_eq!(perm_string(2), "-W-");
    }

    #[test]
    fn java_string_hash_is_javas() {
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("hello"), 99_162_322);
        // Overflows wrap as in Java.
        assert_eq!(java_string_hash("polygenelubricants"), i32::MIN);
    }

    #[test]
    fn java_set_order_is_a_hash_sets() {
        // Java: new HashSet<>(List.of("TBW102", "DefaultCluster", "AdminTopic", "a", "b"))
        // iterates a, b, AdminTopic, TBW102, DefaultCluster (buckets 1, 2, 8, 11, 15 of 16).
        let names: Vec<String> = ["TBW102", "DefaultCluster", "AdminTopic", "a", "b"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let order: Vec<&str> = java_set_order(&names)
            .into_iter()
            .map(String::as_str)
            .collect();
        assert_eq!(order, ["a", "b", "AdminTopic", "TBW102", "DefaultCluster"]);
    }
}
