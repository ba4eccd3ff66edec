//! The refusal log: one line per refusal, at most one per second for each access key and request
//! code, the next line counting those left out, so a client hammering the broker without rights
//! cannot flood the log.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ferromq_protocol::RequestCode;

/// Lines per (access key, code) per this long.
const WINDOW: Duration = Duration::from_secs(1);
/// Entries kept before idle ones are dropped.
const MAX_KEYS: usize = 4096;
/// Longest access key written to the log (they come from the network).
const MAX_KEY_CHARS: usize = 64;

#[derive(Debug)]
struct Entry {
    logged_at: Instant,
    suppressed: u64,
}

/// Rate-limited refusal lines.
#[derive(Debug, Default)]
pub(crate) struct RefusalLog(Mutex<HashMap<(String, i32), Entry>>);

impl RefusalLog {
    /// Records a refusal; logs it unless a line for the same key and code went out less than a
    /// second ago. Returns whether a line was written.
    pub(crate) fn refused(
        &self,
        access_key: &str,
        code: RequestCode,
        ip: IpAddr,
        reason: &str,
    ) -> bool {
        let key: String = access_key.chars().take(MAX_KEY_CHARS).collect();
        let now = Instant::now();
        let suppressed = {
            let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
            if map.len() >= MAX_KEYS {
                map.retain(|_, e| now.duration_since(e.logged_at) < WINDOW);
            }
            match map.get_mut(&(key.clone(), code.0)) {
                Some(e) if now.duration_since(e.logged_at) < WINDOW => {
                    e.suppressed += 1;
                    return false;
                }
                Some(e) => {
                    let n = e.suppressed;
                    *e = Entry {
                        logged_at: now,
                        suppressed: 0,
                    };
                    n
                }
                None => {
                    map.insert(
                        (key.clone(), code.0),
                        Entry {
                            logged_at: now,
                            suppressed: 0,
                        },
                    );
                    0
                }
            }
        };
        tracing::warn!(
            access_key = ?key,
            remote = %ip,
            code = code.0,
            reason,
            suppressed,
            "ACL refused a request"
        );
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_second_per_key_and_code() {
        let log = RefusalLog::default();
        let ip: IpAddr = "127.0.0.1".parse().expect("ip");
        assert!(log.refused("ak", RequestCode::SEND_MESSAGE, ip, "x"));
        assert!(!log.refused("ak", RequestCode::SEND_MESSAGE, ip, "x"));
        assert!(!log.refused("ak", RequestCode::SEND_MESSAGE, ip, "x"));
        assert!(log.refused("ak", RequestCode::PULL_MESSAGE, ip, "x"));
        assert!(log.refused("other", RequestCode::SEND_MESSAGE, ip, "x"));
        let map = log.0.lock().expect("lock");
        assert_eq!(
            map[&("ak".to_owned(), RequestCode::SEND_MESSAGE.0)].suppressed,
            2
        );
    }
}
