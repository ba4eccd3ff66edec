//! Settings shared by every client object.

use std::time::Duration;

use ferromq_client::ClientConfig;

/// The name-server and instance settings common to all options objects.
pub(crate) fn client_config(
    namesrv_addr: &str,
    instance_name: Option<&str>,
    request_timeout_ms: Option<u32>,
) -> ClientConfig {
    let mut c = ClientConfig {
        namesrv_addr: namesrv_addr.to_owned(),
        ..ClientConfig::default()
    };
    if let Some(name) = instance_name {
        c.instance_name = name.to_owned();
    }
    if let Some(ms) = request_timeout_ms {
        c.request_timeout = Duration::from_millis(u64::from(ms));
    }
    c
}
