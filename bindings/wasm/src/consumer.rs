//! `PushConsumer`: the client pulls and calls a JavaScript listener for every message.
//!
//! The listener contract, the option rules and the lifecycle are the core's
//! (`ferromq_client::consumer::per_message`, `ferromq_client::choices`,
//! `ferromq_client::lifecycle`); this file translates a JavaScript answer into the core's
//! `Answer` and JavaScript options into the core's.

use std::cell::RefCell;
use std::rc::Rc;

use ferromq_client::{
    Allocation, Answer, AsyncPerMessageListener, ConsumeFrom, ConsumeFromKind, ConsumeResult,
    EachMessageAsync, FilterExpression, Lifecycle, MessageModel, MessageView,
    PushConsumer as CorePushConsumer, PushConsumerOptions, State,
};
use futures::future::BoxFuture;
use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{future_to_promise, JsFuture};

use crate::error::{illegal_state, js_text, to_js, OrJs};
use crate::js;
use crate::message::{queue_to_js, to_js as message_to_js};
use crate::options::{client_config, opt_ms};
use crate::registry;

/// The core's per-message listener calling the JavaScript function registered under `id`.
///
/// The JavaScript side runs in a local task (JavaScript values are not `Send`); the future
/// given to the core only waits for its `Answer`.
#[derive(Debug)]
struct JsListener {
    id: u32,
}

impl AsyncPerMessageListener for JsListener {
    fn consume_one(&self, message: MessageView) -> BoxFuture<'static, ConsumeResult> {
        let (tx, rx) = futures::channel::oneshot::channel();
        let id = self.id;
        wasm_bindgen_futures::spawn_local(async move {
            let answer = match registry::get(id).and_then(|f| f.dyn_into::<Function>().ok()) {
                Some(f) => answer_of(f.call1(&JsValue::NULL, &message_to_js(&message))).await,
                None => Answer::Failed("the listener was released (consumer shut down)".into()),
            };
            let _ = tx.send(answer);
        });
        Box::pin(async move {
            rx.await
                .unwrap_or_else(|_| Answer::Failed("the listener call was dropped".into()))
                .outcome()
        })
    }
}

/// The core's `Answer` for what a listener call did: threw, returned a value, or returned a
/// Promise (awaited; a rejection is a failure).
async fn answer_of(returned: Result<JsValue, JsValue>) -> Answer {
    let value = match returned {
        Err(thrown) => return Answer::Failed(js_text(&thrown)),
        Ok(v) => v,
    };
    let value = match value.dyn_into::<Promise>() {
        Ok(p) => match JsFuture::from(p).await {
            Ok(v) => v,
            Err(rejected) => return Answer::Failed(js_text(&rejected)),
        },
        Err(v) => v,
    };
    if value.is_undefined() || value.is_null() {
        Answer::Nothing
    } else if let Some(b) = value.as_bool() {
        Answer::Bool(b)
    } else if let Some(s) = value.as_string() {
        Answer::Text(s)
    } else if value.as_f64().is_some() {
        Answer::Unusable("a number".to_owned())
    } else if value.is_function() {
        Answer::Unusable("a function".to_owned())
    } else if value.is_object() {
        Answer::Unusable("an object".to_owned())
    } else {
        Answer::Unusable("a value of another type".to_owned())
    }
}

/// A subscription filter: a tag expression string (`'A || C'`, `'*'`), `{ tag }` or
/// `{ sql92 }` (not both); everything when omitted.
pub(crate) fn filter_from(v: &JsValue, op: &'static str) -> Result<FilterExpression, JsValue> {
    if v.is_undefined() || v.is_null() {
        return Ok(FilterExpression::all());
    }
    if let Some(s) = v.as_string() {
        return Ok(FilterExpression::tag(s));
    }
    FilterExpression::from_parts(
        js::opt_string(v, "tag", op)?,
        js::opt_string(v, "sql92", op)?,
    )
    .or_js()
}

/// The consume-from position from `consumeFrom` and `consumeTimestamp`.
pub(crate) fn consume_from(v: &JsValue, op: &'static str) -> Result<ConsumeFrom, JsValue> {
    let kind = js::opt_string(v, "consumeFrom", op)?
        .map(|s| s.parse::<ConsumeFromKind>())
        .transpose()
        .or_js()?;
    ConsumeFrom::new(kind, js::opt_i64(v, "consumeTimestamp", op)?).or_js()
}

/// A count option as the core's `i32`.
pub(crate) fn opt_i32(v: &JsValue, key: &str, op: &'static str) -> Result<Option<i32>, JsValue> {
    Ok(js::opt_u32(v, key, op)?.map(|n| i32::try_from(n).unwrap_or(i32::MAX)))
}

fn options_from(v: &JsValue) -> Result<(PushConsumerOptions, bool), JsValue> {
    const OP: &str = "push consumer";
    let mut o = PushConsumerOptions {
        client: client_config(v, OP)?,
        group: js::string(v, "group", OP)?,
        consume_from: consume_from(v, OP)?,
        ..PushConsumerOptions::default()
    };
    if let Some(m) = js::opt_string(v, "messageModel", OP)? {
        o.message_model = m.parse::<MessageModel>().or_js()?;
    }
    if let Some(a) = js::opt_string(v, "allocation", OP)? {
        o.allocate = a.parse::<Allocation>().or_js()?.strategy();
    }
    if let Some(n) = js::opt_i64(v, "maxReconsumeTimes", OP)? {
        o.max_reconsume_times = i32::try_from(n).unwrap_or(i32::MAX);
    }
    if let Some(n) = js::opt_u32(v, "consumeThreads", OP)? {
        o.consume_threads = n as usize;
    }
    if let Some(n) = js::opt_u32(v, "consumeBatchSize", OP)? {
        o.consume_batch_size = n as usize;
    }
    if let Some(n) = opt_i32(v, "pullBatchSize", OP)? {
        o.pull_batch_size = n;
    }
    if let Some(d) = opt_ms(v, "rebalanceIntervalMs", OP)? {
        o.rebalance_interval = d;
    }
    if let Some(d) = opt_ms(v, "persistIntervalMs", OP)? {
        o.persist_interval = d;
    }
    o.enable_msg_trace = js::opt_bool(v, "enableMsgTrace", OP)?.unwrap_or(false);
    o.trace_topic = js::opt_string(v, "traceTopic", OP)?;
    if let Some(d) = opt_ms(v, "consumeTimeoutMs", OP)? {
        o.consume_timeout = d;
    }
    if let Some(d) = opt_ms(v, "suspendCurrentQueueTimeMs", OP)? {
        o.suspend_current_queue_time = d;
    }
    if let Some(d) = opt_ms(v, "awaitTerminationMs", OP)? {
        o.await_termination = d;
    }
    if let Some(n) = js::opt_u32(v, "pullThresholdForQueue", OP)? {
        o.pull_threshold_for_queue = n as usize;
    }
    if let Some(n) = js::opt_u32(v, "pullThresholdSizeForQueue", OP)? {
        o.pull_threshold_size_for_queue = n as usize;
    }
    o.pull_threshold_for_topic = js::opt_u32(v, "pullThresholdForTopic", OP)?.map(|n| n as usize);
    o.pull_threshold_size_for_topic =
        js::opt_u32(v, "pullThresholdSizeForTopic", OP)?.map(|n| n as usize);
    o.validate().or_js()?;
    let orderly = js::opt_bool(v, "orderly", OP)?.unwrap_or(false);
    Ok((o, orderly))
}

/// What is set before `start`: subscriptions and the listener; then the registered listener.
#[derive(Debug, Default)]
struct Setup {
    subscriptions: Vec<(String, FilterExpression)>,
    listener: Option<Function>,
    listener_id: Option<u32>,
}

/// A push consumer: `subscribe(topic, filter)`, then `start(listener)` (or `onMessage(listener)`
/// and `start()`); `shutdown()` at the end. It starts once: a second `start`, or a `start` after
/// `shutdown`, rejects with `IllegalState` (create a new consumer).
///
/// The listener gets one message per call and may return a Promise. It returns (or resolves
/// to) `undefined`, `null`, `true` or `'success'` when the message is consumed, and `false` or
/// `'reconsumeLater'` to have it redelivered; a throw, a rejection or any other value also
/// asks for a redelivery (clustering: later, through `%RETRY%<group>`, with `reconsumeTimes`
/// + 1, and after `maxReconsumeTimes` to `%DLQ%<group>`; orderly: the queue pauses and the
/// message is offered again). This contract is the same in every FerroMQ binding.
///
/// Options: `namesrvAddr`, `group` (required), `instanceName`, `requestTimeoutMs`,
/// `consumeFrom` (`lastOffset`), `consumeTimestamp`, `messageModel` (`clustering`),
/// `allocation` (`averagely`), `orderly` (false), `maxReconsumeTimes` (16), `consumeThreads`
/// (20), `consumeBatchSize` (1), `pullBatchSize` (32), `rebalanceIntervalMs` (20000),
/// `persistIntervalMs` (5000), `enableMsgTrace` (false), `traceTopic` (`RMQ_SYS_TRACE_TOPIC`),
/// `consumeTimeoutMs` (900000; a message whose listener call runs longer is redelivered and
/// its queue moves on; 0 is refused), `suspendCurrentQueueTimeMs` (orderly: 1000, 10 to
/// 30000), `awaitTerminationMs` (10000: how long `shutdown()` waits for listener calls in
/// flight), `pullThresholdForQueue` (1000 cached messages), `pullThresholdSizeForQueue`
/// (100 MiB of cached bodies), `pullThresholdForTopic` and `pullThresholdSizeForTopic` (off;
/// when set, shared among the queues held instead of the per-queue ones).
#[wasm_bindgen]
#[derive(Debug)]
pub struct PushConsumer {
    options: PushConsumerOptions,
    orderly: bool,
    lifecycle: Lifecycle<CorePushConsumer>,
    setup: Rc<RefCell<Setup>>,
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
            lifecycle: Lifecycle::new("push consumer"),
            setup: Rc::new(RefCell::new(Setup::default())),
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
        let lifecycle = self.lifecycle.clone();
        let setup = self.setup.clone();
        let expression = filter_from(&filter, "subscribe");
        future_to_promise(async move {
            let expression = expression?;
            match lifecycle.state() {
                State::Created | State::Starting => {
                    let subs = &mut setup.borrow_mut().subscriptions;
                    subs.retain(|(t, _)| *t != topic);
                    subs.push((topic, expression));
                }
                State::Started | State::ShutDown => {
                    let c = lifecycle.get("subscribe").or_js()?;
                    c.subscribe(&topic, expression).await.or_js()?;
                }
            }
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Sets the listener `start()` uses when given none; before `start`.
    #[wasm_bindgen(js_name = onMessage)]
    pub fn on_message(
        &self,
        #[wasm_bindgen(unchecked_param_type = "MessageListener")] listener: Function,
    ) -> Result<(), JsValue> {
        if self.lifecycle.state() != State::Created {
            return Err(illegal_state(
                "onMessage",
                "the listener is set before start()",
            ));
        }
        self.setup.borrow_mut().listener = Some(listener);
        Ok(())
    }

    /// Joins the group and starts consuming with `listener` (else the one set by
    /// `onMessage`).
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn start(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "MessageListener")] listener: Option<
            Function,
        >,
    ) -> Promise {
        let lifecycle = self.lifecycle.clone();
        let setup = self.setup.clone();
        let options = self.options.clone();
        let orderly = self.orderly;
        future_to_promise(async move {
            let (subs, f) = {
                let s = setup.borrow();
                (
                    s.subscriptions.clone(),
                    listener.or_else(|| s.listener.clone()),
                )
            };
            let Some(f) = f else {
                // Refused as a second start when it is one, else for the missing listener.
                let no_listener = || async {
                    Err(ferromq_client::Error::invalid(
                        "start",
                        "no listener: call start(listener) or onMessage(listener) first",
                    ))
                };
                return lifecycle
                    .start(no_listener)
                    .await
                    .map(|_| JsValue::UNDEFINED)
                    .or_js();
            };
            let id = registry::register(f.into());
            let js = EachMessageAsync::new(JsListener { id });
            let started = lifecycle
                .start(|| async move {
                    if orderly {
                        CorePushConsumer::start_orderly_async(options, subs, js).await
                    } else {
                        CorePushConsumer::start_async(options, subs, js).await
                    }
                })
                .await;
            match started {
                Ok(_) => {
                    setup.borrow_mut().listener_id = Some(id);
                    Ok(JsValue::UNDEFINED)
                }
                Err(e) => {
                    registry::release(id);
                    Err(to_js(&e))
                }
            }
        })
    }

    /// The queues currently assigned to this member: `[{ topic, brokerName, queueId }]`.
    #[wasm_bindgen(js_name = assignedQueues, unchecked_return_type = "MessageQueue[]")]
    pub fn assigned_queues(&self) -> js_sys::Array {
        self.lifecycle
            .current()
            .map(|c| c.assigned_queues().iter().map(queue_to_js).collect())
            .unwrap_or_default()
    }

    /// The consumer's client-side counters since it started (a snapshot): messages consumed
    /// and failed, a histogram of listener latency, rebalances, and each held queue with its
    /// lag. Throws `IllegalState` unless started.
    #[wasm_bindgen(unchecked_return_type = "ConsumerMetrics")]
    pub fn metrics(&self) -> Result<JsValue, JsValue> {
        let c = self.lifecycle.get("metrics").or_js()?;
        Ok(crate::metrics::consumer_to_js(&c.metrics()))
    }

    /// Stops pulling, waits for listener calls in flight, commits offsets, leaves the group and
    /// releases the listener. For good: a second call does nothing.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn shutdown(&self) -> Promise {
        let lifecycle = self.lifecycle.clone();
        let setup = self.setup.clone();
        future_to_promise(async move {
            lifecycle.shutdown().await;
            if let Some(id) = setup.borrow_mut().listener_id.take() {
                registry::release(id);
            }
            Ok(JsValue::UNDEFINED)
        })
    }
}
