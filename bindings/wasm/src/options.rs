//! Settings shared by every client object, and the WebSocket transport they all use.
//!
//! Common options: `namesrvAddr` (name servers' WebSocket URLs, `;`-separated, e.g.
//! `ws://127.0.0.1:9877/` or `wss://ns.example.com:9877/`), `instanceName` (objects with the
//! same name servers and instance name share one client and its connections; by default the
//! core's `DEFAULT`, which the core makes unique per loaded module), `requestTimeoutMs` (3000),
//! `credentials` (`{accessKey, secretKey, securityToken?}`: ACL 1.0, every request signed),
//! `namespace` (Apache's client namespace: producers and consumers put topics and groups on
//! the wire as `namespace%name` and show the bare names; `Admin` ignores it, as Apache's
//! admin does).
//!
//! TLS (`wss://`) is the platform's: the browser or Node's WebSocket checks the server's
//! certificate against the trust store it uses, so there are no TLS options here.

use std::sync::Arc;
use std::time::Duration;

use ferromq_client::{ClientConfig, Credentials, Transport, TransportFactory};
use wasm_bindgen::prelude::*;

use crate::error::{invalid, OrJs};
use crate::js;
use crate::transport::{is_ws_url, WsTransport};

/// The client settings in `options`, with the WebSocket transport.
pub(crate) fn client_config(options: &JsValue, op: &'static str) -> Result<ClientConfig, JsValue> {
    let namesrv_addr = js::string(options, "namesrvAddr", op)?;
    let namesrvs: Vec<String> = namesrv_addr
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if namesrvs.is_empty() {
        return Err(invalid(op, "`namesrvAddr` has no name server"));
    }
    if let Some(bad) = namesrvs.iter().find(|a| !is_ws_url(a)) {
        return Err(invalid(
            op,
            format!(
                "name server {bad:?} is not a WebSocket URL (ws://host:port/ or wss://host:port/)"
            ),
        ));
    }
    let mut c = ClientConfig::new(namesrv_addr, js::opt_string(options, "instanceName", op)?);
    if let Some(ms) = js::opt_u32(options, "requestTimeoutMs", op)? {
        c.request_timeout = Duration::from_millis(u64::from(ms));
    }
    c.credentials = credentials(options, op)?;
    if let Some(ns) = js::opt_string(options, "namespace", op)?.filter(|ns| !ns.is_empty()) {
        ferromq_client::namespace::validate(&ns).or_js()?;
        c.namespace = Some(ns);
    }
    let timeout = c.request_timeout;
    c.transport = Some(TransportFactory::new(move |inbound| {
        Arc::new(WsTransport::new(namesrvs.clone(), inbound, timeout)) as Arc<dyn Transport>
    }));
    Ok(c)
}

/// The `credentials` option: `{accessKey, secretKey, securityToken?}`, both keys non-empty.
fn credentials(options: &JsValue, op: &'static str) -> Result<Option<Credentials>, JsValue> {
    let Some(c) = js::get(options, "credentials") else {
        return Ok(None);
    };
    if !c.is_object() {
        return Err(invalid(
            op,
            "`credentials` must be an object {accessKey, secretKey, securityToken?}",
        ));
    }
    let access_key = js::string(&c, "accessKey", op)?;
    let secret_key = js::string(&c, "secretKey", op)?;
    if access_key.is_empty() || secret_key.is_empty() {
        return Err(invalid(
            op,
            "`credentials.accessKey` and `credentials.secretKey` must not be empty",
        ));
    }
    Ok(Some(Credentials {
        access_key,
        secret_key,
        security_token: js::opt_string(&c, "securityToken", op)?.filter(|t| !t.is_empty()),
    }))
}

/// An optional duration in ms.
pub(crate) fn opt_ms(
    options: &JsValue,
    key: &str,
    op: &'static str,
) -> Result<Option<Duration>, JsValue> {
    Ok(js::opt_u32(options, key, op)?.map(|ms| Duration::from_millis(u64::from(ms))))
}
