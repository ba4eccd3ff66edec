//! `Admin`: the few admin operations a browser application (and the tests) need.

use std::rc::Rc;

use ferromq_client::{Admin as CoreAdmin, TopicOptions};
use js_sys::{Array, Object, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::error::to_js;
use crate::js;
use crate::options::client_config;

/// Admin operations: `new Admin({ namesrvAddr })`, `createTopic`, `topicRoute`, `shutdown`.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Admin {
    inner: Rc<CoreAdmin>,
}

#[wasm_bindgen]
impl Admin {
    /// An admin client. Throws on unusable options.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "ClientOptions")] options: JsValue,
    ) -> Result<Admin, JsValue> {
        let config = client_config(&options, "admin")?;
        let inner = CoreAdmin::new(&config).map_err(|e| to_js(&e))?;
        Ok(Admin {
            inner: Rc::new(inner),
        })
    }

    /// Creates (or updates) `topic` on every master of `options.cluster`
    /// (`DefaultCluster`) with `options.queueNums` queues (8).
    #[wasm_bindgen(js_name = createTopic, unchecked_return_type = "Promise<void>")]
    pub fn create_topic(
        &self,
        topic: String,
        #[wasm_bindgen(unchecked_param_type = "TopicOptions | undefined")] options: JsValue,
    ) -> Promise {
        let inner = self.inner.clone();
        let parsed = (|| -> Result<(String, TopicOptions), JsValue> {
            let cluster = js::opt_string(&options, "cluster", "create topic")?
                .unwrap_or_else(|| "DefaultCluster".to_owned());
            let mut o = TopicOptions::default();
            if let Some(n) = js::opt_u32(&options, "queueNums", "create topic")? {
                o.queue_nums = i32::try_from(n).unwrap_or(i32::MAX);
            }
            if let Some(b) = js::opt_bool(&options, "order", "create topic")? {
                o.order = b;
            }
            Ok((cluster, o))
        })();
        future_to_promise(async move {
            let (cluster, o) = parsed?;
            inner
                .create_topic(&cluster, &topic, &o)
                .await
                .map_err(|e| to_js(&e))?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// The route of `topic`: `{ brokers: [{ brokerName, addrs: { id: 'ip:port' } }],
    /// queues: [{ brokerName, readQueueNums, writeQueueNums }] }`.
    #[wasm_bindgen(js_name = topicRoute, unchecked_return_type = "Promise<TopicRoute>")]
    pub fn topic_route(&self, topic: String) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let route = inner.topic_route(&topic).await.map_err(|e| to_js(&e))?;
            let brokers: Array = route
                .broker_datas
                .iter()
                .map(|b| {
                    let o = Object::new();
                    js::set(&o, "brokerName", b.broker_name.as_str());
                    let addrs = Object::new();
                    for (id, addr) in &b.broker_addrs {
                        js::set(&addrs, &id.to_string(), addr.as_str());
                    }
                    js::set(&o, "addrs", addrs);
                    JsValue::from(o)
                })
                .collect();
            let queues: Array = route
                .queue_datas
                .iter()
                .map(|q| {
                    let o = Object::new();
                    js::set(&o, "brokerName", q.broker_name.as_str());
                    js::set(&o, "readQueueNums", q.read_queue_nums);
                    js::set(&o, "writeQueueNums", q.write_queue_nums);
                    JsValue::from(o)
                })
                .collect();
            let o = Object::new();
            js::set(&o, "brokers", brokers);
            js::set(&o, "queues", queues);
            Ok(o.into())
        })
    }

    /// Releases the shared client.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn shutdown(&self) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            inner.shutdown().await;
            Ok(JsValue::UNDEFINED)
        })
    }
}
