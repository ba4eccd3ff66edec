//! `PushConsumer`: the client pulls and calls a JavaScript listener for every message.
//!
//! The listener runs on the one JavaScript thread, once per message, and may be `async`: a
//! returned Promise is awaited before the message counts as consumed (and, orderly, before the
//! queue's next message). Returning (or resolving to) anything but `false` /
//! `'reconsumeLater'` consumes the message; throwing, rejecting, or returning `false` or
//! `'reconsumeLater'` asks for a redelivery (clustering: later, through `%RETRY%<group>` with
//! `reconsumeTimes` + 1, then `%DLQ%<group>` after `maxReconsumeTimes`; orderly: the queue
//! pauses and the message comes again). At most `consumeThreads` (20) messages are in the
//! listener at once in clustering mode.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use ferromq_client::{
    AsyncMessageListener, AsyncOrderlyListener, ConsumeFrom, ConsumeResult, FilterExpression,
    MessageModel, MessageView, OrderlyResult, PushConsumer as CorePushConsumer,
    PushConsumerOptions,
};
use futures::future::BoxFuture;
use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{future_to_promise, JsFuture};

use crate::error::{illegal_state, invalid, to_js};
use crate::js;
use crate::message::{queue_to_js, to_js as message_to_js};
use crate::options::{client_config, opt_ms};

thread_local! {
    /// The JavaScript listeners by id: JavaScript functions are not `Send`, the core's
    /// listeners must be, so they hold the id and look the function up on the JS thread.
    static LISTENERS: RefCell<HashMap<u32, Function>> = RefCell::new(HashMap::new());
    static NEXT_ID: std::cell::Cell<u32> = const { std::cell::Cell::new(1) };
}

/// The core listener calling the JavaScript function registered under `id`.
#[derive(Debug)]
struct JsListener {
    id: u32,
}

impl JsListener {
    fn register(f: Function) -> JsListener {
        let id = NEXT_ID.with(|n| {
            let id = n.get();
            n.set(id.wrapping_add(1));
            id
        });
        LISTENERS.with(|l| l.borrow_mut().insert(id, f));
        JsListener { id }
    }

    fn release(id: u32) {
        LISTENERS.with(|l| l.borrow_mut().remove(&id));
    }

    /// Whether every message was consumed: the listener is called for each in turn and a
    /// returned Promise is awaited before the next. The JavaScript side runs in a local task;
    /// the returned future only waits on a channel, which keeps it `Send` for the core.
    fn consume_all(&self, messages: Vec<MessageView>) -> BoxFuture<'static, bool> {
        let (tx, rx) = futures::channel::oneshot::channel();
        let id = self.id;
        wasm_bindgen_futures::spawn_local(async move {
            let f = LISTENERS.with(|l| l.borrow().get(&id).cloned());
            let mut all = f.is_some();
            if let Some(f) = f {
                for m in &messages {
                    if !consumed(f.call1(&JsValue::NULL, &message_to_js(m))).await {
                        all = false;
                        break;
                    }
                }
            }
            let _ = tx.send(all);
        });
        Box::pin(async move { rx.await.unwrap_or(false) })
    }
}

/// Whether a listener's outcome (its return value or thrown error) means "consumed"; a Promise
/// is awaited first.
async fn consumed(outcome: Result<JsValue, JsValue>) -> bool {
    let value = match outcome {
        Err(_) => return false,
        Ok(v) => match v.dyn_into::<Promise>() {
            Ok(p) => match JsFuture::from(p).await {
                Ok(v) => v,
                Err(_) => return false,
            },
            Err(v) => v,
        },
    };
    !(value.as_bool() == Some(false)
        || value.as_string().is_some_and(|s| {
            s.eq_ignore_ascii_case("reconsumeLater") || s.eq_ignore_ascii_case("RECONSUME_LATER")
        }))
}

impl AsyncMessageListener for JsListener {
    fn consume(&self, messages: Vec<MessageView>) -> BoxFuture<'static, ConsumeResult> {
        let all = self.consume_all(messages);
        Box::pin(async move {
            if all.await {
                ConsumeResult::Success
            } else {
                ConsumeResult::ReconsumeLater
            }
        })
    }
}

impl AsyncOrderlyListener for JsListener {
    fn consume(&self, messages: Vec<MessageView>) -> BoxFuture<'static, OrderlyResult> {
        let all = self.consume_all(messages);
        Box::pin(async move {
            if all.await {
                OrderlyResult::Success
            } else {
                OrderlyResult::SuspendCurrentQueueAMoment
            }
        })
    }
}

/// A subscription filter: a tag expression string (`'A || C'`, `'*'`), `{ tag }` or
/// `{ sql92 }`; everything when omitted.
pub(crate) fn filter_from(v: &JsValue, op: &'static str) -> Result<FilterExpression, JsValue> {
    if v.is_undefined() || v.is_null() {
        return Ok(FilterExpression::all());
    }
    if let Some(s) = v.as_string() {
        return Ok(FilterExpression::tag(s));
    }
    let tag = js::opt_string(v, "tag", op)?;
    let sql = js::opt_string(v, "sql92", op)?;
    match (tag, sql) {
        (Some(_), Some(_)) => Err(invalid(op, "give either tag or sql92, not both")),
        (_, Some(e)) => Ok(FilterExpression::sql92(e)),
        (Some(e), None) => Ok(FilterExpression::tag(e)),
        (None, None) => Ok(FilterExpression::all()),
    }
}

/// Records a subscription made before `start`; a later one of the same topic replaces it.
pub(crate) fn remember(
    subscriptions: &mut Vec<(String, FilterExpression)>,
    topic: String,
    expression: FilterExpression,
) {
    subscriptions.retain(|(t, _)| *t != topic);
    subscriptions.push((topic, expression));
}

/// `consumeFrom` (`'lastOffset'`, `'firstOffset'`, `'timestamp'` with `consumeTimestamp`).
pub(crate) fn consume_from(v: &JsValue, op: &'static str) -> Result<ConsumeFrom, JsValue> {
    match js::opt_string(v, "consumeFrom", op)?.as_deref() {
        None | Some("lastOffset") => Ok(ConsumeFrom::LastOffset),
        Some("firstOffset") => Ok(ConsumeFrom::FirstOffset),
        Some("timestamp") => js::opt_i64(v, "consumeTimestamp", op)?
            .map(ConsumeFrom::Timestamp)
            .ok_or_else(|| invalid(op, "consumeFrom 'timestamp' needs consumeTimestamp")),
        Some(other) => Err(invalid(
            op,
            format!("consumeFrom {other:?} is not lastOffset, firstOffset or timestamp"),
        )),
    }
}

fn options_from(v: &JsValue) -> Result<(PushConsumerOptions, bool), JsValue> {
    const OP: &str = "push consumer";
    let mut o = PushConsumerOptions {
        client: client_config(v, OP)?,
        group: js::string(v, "group", OP)?,
        consume_from: consume_from(v, OP)?,
        ..PushConsumerOptions::default()
    };
    match js::opt_string(v, "messageModel", OP)?.as_deref() {
        None | Some("clustering") => {}
        Some("broadcasting") => o.message_model = MessageModel::Broadcasting,
        Some(other) => {
            return Err(invalid(
                OP,
                format!("messageModel {other:?} is not clustering or broadcasting"),
            ))
        }
    }
    if let Some(n) = js::opt_i64(v, "maxReconsumeTimes", OP)? {
        o.max_reconsume_times = i32::try_from(n).unwrap_or(i32::MAX);
    }
    if let Some(n) = js::opt_u32(v, "pullBatchSize", OP)? {
        o.pull_batch_size = i32::try_from(n).unwrap_or(i32::MAX);
    }
    if let Some(d) = opt_ms(v, "rebalanceIntervalMs", OP)? {
        o.rebalance_interval = d;
    }
    if let Some(d) = opt_ms(v, "persistIntervalMs", OP)? {
        o.persist_interval = d;
    }
    let orderly = js::opt_bool(v, "orderly", OP)?.unwrap_or(false);
    Ok((o, orderly))
}

#[derive(Debug, Default)]
struct State {
    subscriptions: Vec<(String, FilterExpression)>,
    listener: Option<Function>,
    listener_id: Option<u32>,
    core: Option<CorePushConsumer>,
}

/// A push consumer: `subscribe(topic, filter)`, `onMessage(listener)`, `await start()`;
/// `await shutdown()` at the end.
///
/// Options: `namesrvAddr`, `group` (required), `instanceName`, `requestTimeoutMs`,
/// `consumeFrom` (`lastOffset`), `consumeTimestamp`, `messageModel` (`clustering`),
/// `orderly` (false), `maxReconsumeTimes` (16), `pullBatchSize` (32), `rebalanceIntervalMs`
/// (20000), `persistIntervalMs` (5000).
#[wasm_bindgen]
#[derive(Debug)]
pub struct PushConsumer {
    options: PushConsumerOptions,
    orderly: bool,
    state: Rc<RefCell<State>>,
}

#[wasm_bindgen]
impl PushConsumer {
    /// A consumer with `options` (not started yet). Throws on unusable options.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "PushConsumerOptions")] options: JsValue,
    ) -> Result<PushConsumer, JsValue> {
        let (options, orderly) = options_from(&options)?;
        Ok(PushConsumer {
            options,
            orderly,
            state: Rc::new(RefCell::new(State::default())),
        })
    }

    /// Subscribes to `topic` with `filter` (a tag expression string, `{ tag }` or
    /// `{ sql92 }`; everything when omitted); before or after `start`.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn subscribe(
        &self,
        topic: String,
        #[wasm_bindgen(unchecked_param_type = "Filter | undefined")] filter: JsValue,
    ) -> Promise {
        let state = self.state.clone();
        let expression = filter_from(&filter, "subscribe");
        future_to_promise(async move {
            let expression = expression?;
            let core = state.borrow().core.clone();
            match core {
                Some(c) => c
                    .subscribe(&topic, expression)
                    .await
                    .map_err(|e| to_js(&e))?,
                None => remember(&mut state.borrow_mut().subscriptions, topic, expression),
            }
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Sets the listener, called once per message (see the module docs); before `start`.
    #[wasm_bindgen(js_name = onMessage)]
    pub fn on_message(
        &self,
        #[wasm_bindgen(
            unchecked_param_type = "(message: ReceivedMessage) => ListenerResult | Promise<ListenerResult>"
        )]
        listener: Function,
    ) -> Result<(), JsValue> {
        let mut s = self.state.borrow_mut();
        if s.core.is_some() {
            return Err(illegal_state(
                "onMessage",
                "the consumer is already started",
            ));
        }
        s.listener = Some(listener);
        Ok(())
    }

    /// Joins the group and starts consuming with the listener set by `onMessage`.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn start(&self) -> Promise {
        let state = self.state.clone();
        let options = self.options.clone();
        let orderly = self.orderly;
        future_to_promise(async move {
            let (subs, f) = {
                let s = state.borrow();
                if s.core.is_some() || s.listener_id.is_some() {
                    return Err(illegal_state("start", "the consumer is already started"));
                }
                let f = s.listener.clone().ok_or_else(|| {
                    invalid("start", "no listener: call onMessage(listener) first")
                })?;
                (s.subscriptions.clone(), f)
            };
            let js = JsListener::register(f);
            let id = js.id;
            state.borrow_mut().listener_id = Some(id);
            let started = if orderly {
                CorePushConsumer::start_orderly_async(options, subs, js).await
            } else {
                CorePushConsumer::start_async(options, subs, js).await
            };
            match started {
                Ok(c) => {
                    state.borrow_mut().core = Some(c);
                    Ok(JsValue::UNDEFINED)
                }
                Err(e) => {
                    JsListener::release(id);
                    state.borrow_mut().listener_id = None;
                    Err(to_js(&e))
                }
            }
        })
    }

    /// The queues currently assigned to this member: `[{ topic, brokerName, queueId }]`.
    #[wasm_bindgen(js_name = assignedQueues, unchecked_return_type = "MessageQueue[]")]
    pub fn assigned_queues(&self) -> js_sys::Array {
        let s = self.state.borrow();
        s.core
            .as_ref()
            .map(|c| c.assigned_queues().iter().map(queue_to_js).collect())
            .unwrap_or_default()
    }

    /// Stops pulling, waits for listener calls in flight, commits offsets, leaves the group and
    /// releases the listener.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn shutdown(&self) -> Promise {
        let state = self.state.clone();
        future_to_promise(async move {
            let core = state.borrow_mut().core.take();
            if let Some(c) = core {
                c.shutdown().await;
            }
            if let Some(id) = state.borrow_mut().listener_id.take() {
                JsListener::release(id);
            }
            Ok(JsValue::UNDEFINED)
        })
    }
}
