//! Settings shared by every client object.

use std::time::Duration;

use ferromq_client::ClientConfig;

/// The name-server and instance settings common to all options objects (the instance-name
/// rule and the defaults are the core's: `ClientConfig::new`).
pub(crate) fn client_config(
    namesrv_addr: &str,
    instance_name: Option<&str>,
    request_timeout_ms: Option<u32>,
) -> ClientConfig {
    let mut c = ClientConfig::new(namesrv_addr, instance_name.map(str::to_owned));
    if let Some(ms) = request_timeout_ms {
        c.request_timeout = Duration::from_millis(u64::from(ms));
    }
    c
}
