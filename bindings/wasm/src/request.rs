//! Request-reply (docs/request-reply.md): `Producer.request`, `Producer.sendReply` and
//! `createReply`. The broker pushes a reply (PUSH_REPLY_MESSAGE_TO_CLIENT) down the
//! requester's own WebSocket, as down a TCP connection; the transport hands such requests from
//! the broker to the core, which matches the reply to its request.

use std::time::Duration;

use ferromq_client::Message as CoreMessage;
use js_sys::{Object, Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::error::{invalid, OrJs};
use crate::js;
use crate::message::{from_js, send_result_to_js, to_js};
use crate::producer::Producer;

/// A request timeout: a whole number of ms from 1 to 2^32 - 1.
fn timeout_arg(ms: f64, op: &'static str) -> Result<Duration, JsValue> {
    if !(ms.is_finite() && ms.fract() == 0.0 && ms >= 1.0 && ms <= f64::from(u32::MAX)) {
        return Err(invalid(
            op,
            format!("`timeoutMs` must be a whole number of ms from 1 to 4294967295, not {ms}"),
        ));
    }
    Ok(Duration::from_millis(ms as u64))
}

#[wasm_bindgen]
impl Producer {
    /// Sends `message` as a request and resolves with its reply (a received message) once a
    /// responder answered it with `sendReply(createReply(request, body))`. The `timeoutMs`
    /// covers the send and the wait; without a reply by then it rejects with `Timeout` (a
    /// later reply is dropped).
    #[wasm_bindgen(unchecked_return_type = "Promise<ReceivedMessage>")]
    pub fn request(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Message")] message: JsValue,
        #[wasm_bindgen(js_name = timeoutMs)] timeout_ms: f64,
    ) -> Promise {
        let lifecycle = self.lifecycle.clone();
        let parsed = from_js(&message, "request")
            .and_then(|(m, _)| Ok((m, timeout_arg(timeout_ms, "request")?)));
        future_to_promise(async move {
            let (m, timeout) = parsed?;
            let p = lifecycle.get("request").or_js()?;
            p.request(m, timeout).await.map(|r| to_js(&r)).or_js()
        })
    }

    /// Sends a reply made by `createReply`: the broker pushes it to the requester and answers
    /// once the requester took it (it rejects with `Broker` when the requester is gone).
    /// Rejects with `InvalidArgument` for a message that is not a reply.
    #[wasm_bindgen(js_name = sendReply, unchecked_return_type = "Promise<SendResult>")]
    pub fn send_reply(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Message")] reply: JsValue,
    ) -> Promise {
        let lifecycle = self.lifecycle.clone();
        let parsed = from_js(&reply, "send reply");
        future_to_promise(async move {
            let (m, _) = parsed?;
            let p = lifecycle.get("send reply").or_js()?;
            p.send_reply(m).await.map(|r| send_result_to_js(&r)).or_js()
        })
    }
}

/// The reply to `request` (a message a consumer received) with `body` (string, Uint8Array or
/// ArrayBuffer, not empty), to send with `Producer.sendReply`: `{ topic, body, properties }`
/// addressed to the reply topic of the request's cluster, carrying its `CORRELATION_ID`,
/// `REPLY_TO_CLIENT` and `TTL` and `MSG_TYPE=reply`. Tag, keys and more properties may be
/// added. Throws `InvalidArgument` when `request` has no `CLUSTER` property (it was not stored
/// by a broker).
#[wasm_bindgen(js_name = createReply, unchecked_return_type = "Message")]
pub fn create_reply(
    #[wasm_bindgen(unchecked_param_type = "ReceivedMessage")] request: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string | Uint8Array | ArrayBuffer")] body: JsValue,
) -> Result<JsValue, JsValue> {
    const OP: &str = "create reply";
    let Some(props) = js::get(&request, "properties") else {
        return Err(invalid(
            OP,
            "the request must be a received message with `properties`",
        ));
    };
    let props = js::string_map(&props, "properties", OP)?;
    let body = js::bytes(&body, "body", OP)?;
    if body.is_empty() {
        return Err(invalid(OP, "the reply body is empty"));
    }
    let props: std::collections::BTreeMap<String, String> = props.into_iter().collect();
    let reply =
        CoreMessage::reply_to_properties(|k| props.get(k).map(String::as_str), body).or_js()?;
    let o = Object::new();
    js::set(&o, "topic", reply.topic());
    js::set(&o, "body", Uint8Array::from(reply.body().as_ref()));
    let properties = Object::new();
    for (k, v) in reply.properties().clone().into_map() {
        js::set(&properties, &k, v);
    }
    js::set(&o, "properties", properties);
    Ok(o.into())
}
