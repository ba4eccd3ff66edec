//! Who may change the name server (`writeAllowList`, FerroMQ only; Apache's name server checks
//! nothing): broker registration, KV config, the name server's config and the other admin
//! writes. Off (everyone may) when the key is blank; else only clients whose address matches
//! one of its rules are served these codes, others get NO_PERMISSION with a remark naming the
//! code and their address, logged at most once a second per address and code. Reads stay open.
//!
//! The rules are ACL 1.0's address rules (`ferromq_common::address_rule`), separated by `;`
//! (a rule itself may hold commas: `10.0.0.1,10.0.0.2`, `10.0.0.{1,2}`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ferromq_common::address_rule::{canonical, AddressRule};
use ferromq_protocol::{RequestCode, ResponseCode};

/// One refusal line per (address, code) per this long.
const LOG_WINDOW: Duration = Duration::from_secs(1);
/// Log entries kept before old ones are dropped.
const MAX_LOG_KEYS: usize = 4096;

/// The codes that change the name server's state.
pub fn is_write(code: RequestCode) -> bool {
    matches!(
        code,
        RequestCode::REGISTER_BROKER
            | RequestCode::UNREGISTER_BROKER
            | RequestCode::BROKER_HEARTBEAT
            | RequestCode::PUT_KV_CONFIG
            | RequestCode::DELETE_KV_CONFIG
            | RequestCode::UPDATE_NAMESRV_CONFIG
            | RequestCode::WIPE_WRITE_PERM_OF_BROKER
            | RequestCode::ADD_WRITE_PERM_OF_BROKER
            | RequestCode::DELETE_TOPIC_IN_NAMESRV
            | RequestCode::REGISTER_TOPIC_IN_NAMESRV
    )
}

/// The parsed `writeAllowList`.
#[derive(Debug, Default)]
pub struct WriteAllowList {
    /// `None`: off.
    rules: Option<Vec<AddressRule>>,
    log: Mutex<HashMap<(IpAddr, i32), (Instant, u64)>>,
}

impl WriteAllowList {
    /// Parses the key's value; blank is off. The error names the bad rule.
    pub fn parse(text: &str) -> Result<WriteAllowList, String> {
        if text.trim().is_empty() {
            return Ok(WriteAllowList::default());
        }
        let rules = text
            .split(';')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(|r| AddressRule::parse(r).map_err(|e| format!("writeAllowList: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(WriteAllowList {
            rules: Some(rules),
            log: Mutex::default(),
        })
    }

    /// A list that admits nobody (a value that did not parse, past start-up's check).
    pub fn nobody() -> WriteAllowList {
        WriteAllowList {
            rules: Some(Vec::new()),
            log: Mutex::default(),
        }
    }

    /// Whether the list is on.
    pub fn is_on(&self) -> bool {
        self.rules.is_some()
    }

    /// `Ok` when `code` from `ip` may run; else the refusal's code and remark (logged,
    /// rate-limited).
    pub fn admit(&self, ip: IpAddr, code: RequestCode) -> Result<(), (ResponseCode, String)> {
        let Some(rules) = &self.rules else {
            return Ok(());
        };
        if !is_write(code) {
            return Ok(());
        }
        let ip = canonical(ip);
        if rules.iter().any(|r| r.matches(ip)) {
            return Ok(());
        }
        let remark = format!(
            "request code {} from {ip} refused: the address is not in this name server's writeAllowList",
            code.0
        );
        self.log_refusal(ip, code, &remark);
        Err((ResponseCode::NO_PERMISSION, remark))
    }

    fn log_refusal(&self, ip: IpAddr, code: RequestCode, remark: &str) {
        let now = Instant::now();
        let suppressed = {
            let mut map = self.log.lock().unwrap_or_else(|e| e.into_inner());
            if map.len() >= MAX_LOG_KEYS {
                map.retain(|_, (at, _)| now.duration_since(*at) < LOG_WINDOW);
            }
            match map.get_mut(&(ip, code.0)) {
                Some(entry) if now.duration_since(entry.0) < LOG_WINDOW => {
                    entry.1 += 1;
                    return;
                }
                Some(entry) => std::mem::replace(entry, (now, 0)).1,
                None => {
                    map.insert((ip, code.0), (now, 0));
                    0
                }
            }
        };
        tracing::warn!(client = %ip, code = code.0, suppressed, "{remark}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_codes_and_off() {
        let off = WriteAllowList::parse("  ").expect("blank");
        assert!(!off.is_on());
        assert!(off
            .admit(
                "10.9.9.9".parse().expect("ip"),
                RequestCode::REGISTER_BROKER
            )
            .is_ok());
        let on = WriteAllowList::parse("10.0.0.*; 192.168.1.{1,2} ;::1").expect("valid");
        let allowed = ["10.0.0.7", "192.168.1.2", "::1", "::ffff:10.0.0.3"];
        for ip in allowed {
            assert!(on
                .admit(ip.parse().expect("ip"), RequestCode::PUT_KV_CONFIG)
                .is_ok());
        }
        let stranger: IpAddr = "192.168.1.3".parse().expect("ip");
        let (code, remark) = on
            .admit(stranger, RequestCode::REGISTER_BROKER)
            .expect_err("refused");
        assert_eq!(code, ResponseCode::NO_PERMISSION);
        assert!(
            remark.contains("103") && remark.contains("192.168.1.3"),
            "{remark}"
        );
        assert!(on
            .admit(stranger, RequestCode::GET_ROUTEINFO_BY_TOPIC)
            .is_ok());
        assert!(WriteAllowList::parse("10.0.0")
            .expect_err("bad")
            .contains("writeAllowList"));
        assert!(WriteAllowList::nobody()
            .admit(
                "127.0.0.1".parse().expect("ip"),
                RequestCode::DELETE_KV_CONFIG
            )
            .is_err());
    }
}
