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
    /// Sign requests with this access key (ACL; FerroMQ's addition). Default: `accessKey` of
    /// `$ROCKETMQ_HOME/conf/tools.yml`, as Apache's tools.
    #[arg(long = "accessKey", requires = "secret_key")]
    pub(crate) access_key: Option<String>,
    /// The secret key for `--accessKey`.
    #[arg(long = "secretKey", requires = "access_key")]
    pub(crate) secret_key: Option<String>,
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

/// The client settings for `-n`, signing with the credentials of `crate::credentials`.
pub(crate) fn client_config(ns: &Namesrv) -> Result<ClientConfig, Failure> {
    let mut config = ClientConfig::new(ns.namesrv.as_str(), Some("mqadmin".to_owned()));
    config.credentials = crate::credentials::credentials(ns)?;
    Ok(config)
}

/// The admin client for `-n`.
pub(crate) fn connect(ns: &Namesrv) -> Result<Admin, Failure> {
    Admin::new(&client_config(ns)?).map_err(Failure::at(&ns.namesrv))
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

/// Apache's `PermName.perm2String`: `RWX` with `-` for each missing bit.
pub(crate) fn perm_string(perm: i32) -> String {
    let bit = |mask: i32, c: char| if perm & mask == mask { c } else { '-' };
    [bit(4, 'R'), bit(2, 'W'), bit(1, 'X')].iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perm_string_is_apaches() {
        assert_eq!(perm_string(6), "RW-");
        assert_eq!(perm_string(7), "RWX");
        assert_eq!(perm_string(2), "-W-");
    }
}
