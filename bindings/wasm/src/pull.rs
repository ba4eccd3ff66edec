//! `PullConsumer`: the lite pull consumer, with `poll()` and `for await (const m of consumer)`.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use ferromq_client::{FilterExpression, PullConsumer as CorePullConsumer, PullConsumerOptions};
use js_sys::{Array, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::consumer::{consume_from, filter_from, remember};
use crate::error::{illegal_state, to_js};
use crate::js;
use crate::message::{queue_from_js, queue_to_js, to_js as message_to_js};
use crate::options::{client_config, opt_ms};

fn options_from(v: &JsValue) -> Result<PullConsumerOptions, JsValue> {
    const OP: &str = "pull consumer";
    let mut o = PullConsumerOptions {
        client: client_config(v, OP)?,
        group: js::string(v, "group", OP)?,
        consume_from: consume_from(v, OP)?,
        ..PullConsumerOptions::default()
    };
    if let Some(n) = js::opt_u32(v, "pullBatchSize", OP)? {
        o.pull_batch_size = i32::try_from(n).unwrap_or(i32::MAX);
    }
    if let Some(b) = js::opt_bool(v, "autoCommit", OP)? {
        o.auto_commit = b;
    }
    if let Some(d) = opt_ms(v, "autoCommitIntervalMs", OP)? {
        o.auto_commit_interval = d;
    }
    if let Some(d) = opt_ms(v, "rebalanceIntervalMs", OP)? {
        o.rebalance_interval = d;
    }
    Ok(o)
}

#[derive(Debug, Default)]
struct State {
    subscriptions: Vec<(String, FilterExpression)>,
    core: Option<CorePullConsumer>,
    closed: bool,
}

/// A lite pull consumer: `subscribe(topic, filter)`, `await start()`, then `await poll()` or
/// `for await (const message of consumer) { ... }` (ends after `shutdown()`).
///
/// Options: `namesrvAddr`, `group` (required), `instanceName`, `requestTimeoutMs`,
/// `consumeFrom` (`lastOffset`), `consumeTimestamp`, `pullBatchSize` (10), `autoCommit`
/// (true), `autoCommitIntervalMs` (5000), `rebalanceIntervalMs` (20000).
#[wasm_bindgen]
#[derive(Debug)]
pub struct PullConsumer {
    options: PullConsumerOptions,
    state: Rc<RefCell<State>>,
}

fn core(state: &Rc<RefCell<State>>, op: &'static str) -> Result<CorePullConsumer, JsValue> {
    state
        .borrow()
        .core
        .clone()
        .ok_or_else(|| illegal_state(op, "the consumer is not started"))
}

#[wasm_bindgen]
impl PullConsumer {
    /// A consumer with `options` (not started yet). Throws on unusable options.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "PullConsumerOptions")] options: JsValue,
    ) -> Result<PullConsumer, JsValue> {
        Ok(PullConsumer {
            options: options_from(&options)?,
            state: Rc::new(RefCell::new(State::default())),
        })
    }

    /// Subscribes to `topic` with `filter` (as `PushConsumer.subscribe`); before or after
    /// `start`.
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
            let c = state.borrow().core.clone();
            match c {
                Some(c) => c
                    .subscribe(&topic, expression)
                    .await
                    .map_err(|e| to_js(&e))?,
                None => remember(&mut state.borrow_mut().subscriptions, topic, expression),
            }
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Joins the group and starts pulling in the background.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn start(&self) -> Promise {
        let state = self.state.clone();
        let options = self.options.clone();
        future_to_promise(async move {
            if state.borrow().core.is_some() {
                return Err(illegal_state("start", "the consumer is already started"));
            }
            let c = CorePullConsumer::start(options)
                .await
                .map_err(|e| to_js(&e))?;
            let subs = std::mem::take(&mut state.borrow_mut().subscriptions);
            for (topic, expression) in subs {
                if let Err(e) = c.subscribe(&topic, expression).await {
                    c.shutdown().await;
                    return Err(to_js(&e));
                }
            }
            state.borrow_mut().core = Some(c);
            Ok(JsValue::UNDEFINED)
        })
    }

    /// The next batch of messages of one queue, waiting up to `timeoutMs` (1000); empty if none
    /// came.
    #[wasm_bindgen(unchecked_return_type = "Promise<ReceivedMessage[]>")]
    pub fn poll(&self, #[wasm_bindgen(js_name = timeoutMs)] timeout_ms: Option<u32>) -> Promise {
        let state = self.state.clone();
        future_to_promise(async move {
            let c = core(&state, "poll")?;
            let timeout = Duration::from_millis(u64::from(timeout_ms.unwrap_or(1000)));
            let batch = c.poll(timeout).await.map_err(|e| to_js(&e))?;
            Ok(batch.iter().map(message_to_js).collect::<Array>().into())
        })
    }

    /// The queues of `topic` (to `assign`).
    #[wasm_bindgen(js_name = fetchQueues, unchecked_return_type = "Promise<MessageQueue[]>")]
    pub fn fetch_queues(&self, topic: String) -> Promise {
        let state = self.state.clone();
        future_to_promise(async move {
            let c = core(&state, "fetch queues")?;
            let queues = c.fetch_queues(&topic).await.map_err(|e| to_js(&e))?;
            Ok(queues.iter().map(queue_to_js).collect::<Array>().into())
        })
    }

    /// Reads exactly `queues` (instead of subscriptions and rebalancing).
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn assign(
        &self,
        #[wasm_bindgen(unchecked_param_type = "MessageQueue[]")] queues: Array,
    ) -> Promise {
        let state = self.state.clone();
        let parsed: Result<Vec<_>, JsValue> =
            queues.iter().map(|q| queue_from_js(&q, "assign")).collect();
        future_to_promise(async move {
            let queues = parsed?;
            let c = core(&state, "assign")?;
            c.assign(queues).await.map_err(|e| to_js(&e))?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Continues `queue` from `offset`.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn seek(
        &self,
        #[wasm_bindgen(unchecked_param_type = "MessageQueue")] queue: JsValue,
        offset: f64,
    ) -> Promise {
        let state = self.state.clone();
        let parsed = queue_from_js(&queue, "seek");
        future_to_promise(async move {
            let mq = parsed?;
            let c = core(&state, "seek")?;
            c.seek(&mq, offset as i64).await.map_err(|e| to_js(&e))?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Stores the consumed offsets on the broker now.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn commit(&self) -> Promise {
        let state = self.state.clone();
        future_to_promise(async move {
            let c = core(&state, "commit")?;
            c.commit().await.map_err(|e| to_js(&e))?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Whether `shutdown()` was called.
    #[wasm_bindgen(getter)]
    pub fn closed(&self) -> bool {
        self.state.borrow().closed
    }

    /// Commits offsets (auto commit), leaves the group and stops; iteration ends.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn shutdown(&self) -> Promise {
        let state = self.state.clone();
        future_to_promise(async move {
            let c = {
                let mut s = state.borrow_mut();
                s.closed = true;
                s.core.take()
            };
            if let Some(c) = c {
                c.shutdown().await;
            }
            Ok(JsValue::UNDEFINED)
        })
    }
}

/// Makes `PullConsumer` async-iterable: `for await (const m of consumer)` polls until the
/// consumer is shut down. Installed on the class prototype when the module loads.
pub(crate) fn install_async_iterator() -> Result<(), JsValue> {
    let generator = crate::pull_iterator();
    let probe = PullConsumer {
        options: PullConsumerOptions::default(),
        state: Rc::new(RefCell::new(State::default())),
    };
    let obj = JsValue::from(probe);
    let proto = js_sys::Reflect::get_prototype_of(&obj)?;
    js_sys::Reflect::set(&proto, &js_sys::Symbol::async_iterator(), &generator)?;
    // Free the probe's Rust side.
    if let Ok(free) = js_sys::Reflect::get(&obj, &JsValue::from_str("free")) {
        if let Some(free) = wasm_bindgen::JsCast::dyn_ref::<js_sys::Function>(&free) {
            let _ = free.call0(&obj);
        }
    }
    Ok(())
}
