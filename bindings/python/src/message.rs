//! Messages and the small value types around them: `Message` (to send), `MessageView`
//! (received), `MessageQueue`, `SendResult` and the enums.

use std::collections::HashMap;

use ferromq_client::{Message, MessageView, SendResult, SendStatus};
use ferromq_protocol::body::MessageQueue;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

/// A message body: bytes, or a str sent as UTF-8.
#[derive(FromPyObject)]
pub(crate) enum Body {
    Bytes(Vec<u8>),
    Text(String),
}

impl Body {
    fn into_bytes(self) -> Vec<u8> {
        match self {
            Body::Bytes(b) => b,
            Body::Text(s) => s.into_bytes(),
        }
    }
}

/// Message keys: one key or several.
#[derive(FromPyObject)]
pub(crate) enum Keys {
    One(String),
    Many(Vec<String>),
}

/// A message to send.
///
/// `Message(topic, body, *, tag=None, keys=None, properties=None, delay_level=None,
/// deliver_time_ms=None, delay_ms=None, flag=0)`: `body` is bytes (a str is sent as UTF-8);
/// `keys` one key or a list; `properties` user properties; `delay_level` delivers after the
/// broker's delay level (1-based); `deliver_time_ms` delivers at that time (ms since the epoch)
/// and `delay_ms` that many ms after it is stored (timer messages).
#[pyclass(name = "Message", module = "ferromq", frozen, from_py_object)]
#[derive(Clone)]
pub(crate) struct PyMessage {
    pub(crate) inner: Message,
}

#[pymethods]
impl PyMessage {
    #[new]
    #[pyo3(signature = (topic, body, *, tag=None, keys=None, properties=None, delay_level=None, deliver_time_ms=None, delay_ms=None, flag=0))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        topic: String,
        body: Body,
        tag: Option<String>,
        keys: Option<Keys>,
        properties: Option<HashMap<String, String>>,
        delay_level: Option<i32>,
        deliver_time_ms: Option<i64>,
        delay_ms: Option<i64>,
        flag: i32,
    ) -> Self {
        let mut m = Message::new(topic, body.into_bytes()).with_flag(flag);
        if let Some(tag) = tag {
            m = m.with_tag(tag);
        }
        match keys {
            Some(Keys::One(k)) => m = m.with_keys([k]),
            Some(Keys::Many(ks)) => m = m.with_keys(ks),
            None => {}
        }
        let mut props: Vec<_> = properties.unwrap_or_default().into_iter().collect();
        props.sort();
        for (k, v) in props {
            m = m.with_property(k, v);
        }
        if let Some(level) = delay_level {
            m = m.with_delay_level(level);
        }
        if let Some(at) = deliver_time_ms {
            m = m.with_deliver_time_ms(at);
        }
        if let Some(d) = delay_ms {
            m = m.with_delay_ms(d);
        }
        PyMessage { inner: m }
    }

    /// The topic.
    #[getter]
    fn topic(&self) -> &str {
        self.inner.topic()
    }

    /// The body.
    #[getter]
    fn body<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.inner.body())
    }

    /// The tag, or None.
    #[getter]
    fn tag(&self) -> Option<&str> {
        self.inner.tag()
    }

    /// The keys.
    #[getter]
    fn keys(&self) -> Vec<String> {
        split_keys(self.inner.property("KEYS"))
    }

    /// The user flag.
    #[getter]
    fn flag(&self) -> i32 {
        self.inner.flag()
    }

    /// All properties (system ones such as TAGS and KEYS included).
    #[getter]
    fn properties<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (k, v) in self.inner.properties().clone().into_map() {
            d.set_item(k, v)?;
        }
        Ok(d)
    }

    /// A property by name, or None.
    fn property(&self, name: &str) -> Option<&str> {
        self.inner.property(name)
    }

    /// The reply to a received request (docs/request-reply.md), with `body` (bytes, or a str
    /// sent as UTF-8): addressed to the reply topic of the cluster that stored the request and
    /// carrying its correlation id, reply-to client and TTL. Send it with
    /// `Producer.send_reply`. Raises InvalidArgumentError when `request` has no `CLUSTER`
    /// property (it was not stored by a broker).
    #[staticmethod]
    fn reply_to(py: Python<'_>, request: &Bound<'_, PyMessageView>, body: Body) -> PyResult<Self> {
        Message::reply_to(&request.get().inner, body.into_bytes())
            .map(|inner| PyMessage { inner })
            .map_err(|e| crate::error::to_py(py, &e))
    }

    /// Whether this is a reply built with `Message.reply_to` (`MSG_TYPE=reply`).
    #[getter]
    fn is_reply(&self) -> bool {
        self.inner.is_reply()
    }

    fn __repr__(&self) -> String {
        format!(
            "Message(topic={:?}, tag={}, keys={:?}, body=<{} bytes>)",
            self.inner.topic(),
            opt(self.inner.tag()),
            self.keys(),
            self.inner.body().len()
        )
    }
}

/// A Python-style repr of an optional string.
fn opt(s: Option<&str>) -> String {
    match s {
        Some(s) => format!("{s:?}"),
        None => "None".to_owned(),
    }
}

fn split_keys(keys: Option<&str>) -> Vec<String> {
    keys.map(|k| {
        k.split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    })
    .unwrap_or_default()
}

/// A queue of a topic on one broker: `MessageQueue(topic, broker_name, queue_id)`.
#[pyclass(
    name = "MessageQueue",
    module = "ferromq",
    frozen,
    eq,
    hash,
    from_py_object
)]
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct PyMessageQueue {
    pub(crate) inner: MessageQueue,
}

#[pymethods]
impl PyMessageQueue {
    #[new]
    fn new(topic: String, broker_name: String, queue_id: i32) -> Self {
        PyMessageQueue {
            inner: MessageQueue::new(topic, broker_name, queue_id),
        }
    }

    /// The topic.
    #[getter]
    fn topic(&self) -> &str {
        &self.inner.topic
    }

    /// The broker name.
    #[getter]
    fn broker_name(&self) -> &str {
        &self.inner.broker_name
    }

    /// The queue id on that broker.
    #[getter]
    fn queue_id(&self) -> i32 {
        self.inner.queue_id
    }

    fn __repr__(&self) -> String {
        format!(
            "MessageQueue(topic={:?}, broker_name={:?}, queue_id={})",
            self.inner.topic, self.inner.broker_name, self.inner.queue_id
        )
    }
}

impl From<MessageQueue> for PyMessageQueue {
    fn from(inner: MessageQueue) -> Self {
        PyMessageQueue { inner }
    }
}

/// A received message.
#[pyclass(name = "MessageView", module = "ferromq", frozen)]
pub(crate) struct PyMessageView {
    pub(crate) inner: MessageView,
}

#[pymethods]
impl PyMessageView {
    /// The topic the producer sent to (also for redeliveries).
    #[getter]
    fn topic(&self) -> &str {
        self.inner.topic()
    }

    /// The body.
    #[getter]
    fn body<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.inner.body())
    }

    /// The tag, or None.
    #[getter]
    fn tag(&self) -> Option<&str> {
        self.inner.tag()
    }

    /// The keys.
    #[getter]
    fn keys(&self) -> Vec<String> {
        self.inner.keys().into_iter().map(str::to_owned).collect()
    }

    /// All properties (system ones included).
    #[getter]
    fn properties<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (k, v) in self.inner.properties() {
            d.set_item(k, v)?;
        }
        Ok(d)
    }

    /// A property by name, or None.
    fn property(&self, name: &str) -> Option<&str> {
        self.inner.property(name)
    }

    /// The message id (UNIQ_KEY, else the offset message id).
    #[getter]
    fn msg_id(&self) -> String {
        self.inner.msg_id()
    }

    /// The broker's offset message id (store host and commit log offset).
    #[getter]
    fn offset_msg_id(&self) -> String {
        self.inner.offset_msg_id()
    }

    /// The queue it was pulled from (the group's retry queue for redeliveries).
    #[getter]
    fn queue(&self) -> PyMessageQueue {
        self.inner.queue().clone().into()
    }

    /// The id of that queue.
    #[getter]
    fn queue_id(&self) -> i32 {
        self.inner.queue().queue_id
    }

    /// The broker it came from.
    #[getter]
    fn broker_name(&self) -> &str {
        &self.inner.queue().broker_name
    }

    /// Its offset in that queue.
    #[getter]
    fn queue_offset(&self) -> i64 {
        self.inner.queue_offset()
    }

    /// How many times it was redelivered before.
    #[getter]
    fn reconsume_times(&self) -> i32 {
        self.inner.reconsume_times()
    }

    /// When the producer created it, ms since the epoch.
    #[getter]
    fn born_timestamp(&self) -> i64 {
        self.inner.born_timestamp()
    }

    /// When the broker stored it, ms since the epoch.
    #[getter]
    fn store_timestamp(&self) -> i64 {
        self.inner.store_timestamp()
    }

    fn __repr__(&self) -> String {
        format!(
            "MessageView(topic={:?}, tag={}, msg_id={:?}, queue_id={}, queue_offset={}, body=<{} bytes>)",
            self.inner.topic(),
            opt(self.inner.tag()),
            self.inner.msg_id(),
            self.inner.queue().queue_id,
            self.inner.queue_offset(),
            self.inner.body().len()
        )
    }
}

impl From<MessageView> for PyMessageView {
    fn from(inner: MessageView) -> Self {
        PyMessageView { inner }
    }
}

/// How a broker stored an accepted message.
#[pyclass(
    name = "SendStatus",
    module = "ferromq",
    eq,
    eq_int,
    frozen,
    from_py_object
)]
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum PySendStatus {
    /// Stored as configured.
    #[pyo3(name = "SEND_OK")]
    SendOk,
    /// Stored, but the disk flush timed out.
    #[pyo3(name = "FLUSH_DISK_TIMEOUT")]
    FlushDiskTimeout,
    /// Stored, but the slave did not confirm in time.
    #[pyo3(name = "FLUSH_SLAVE_TIMEOUT")]
    FlushSlaveTimeout,
    /// Stored, but no slave is available.
    #[pyo3(name = "SLAVE_NOT_AVAILABLE")]
    SlaveNotAvailable,
    /// A status this version of the binding does not know.
    #[pyo3(name = "UNKNOWN")]
    Unknown,
}

/// The result of an accepted send.
#[pyclass(name = "SendResult", module = "ferromq", frozen)]
pub(crate) struct PySendResult {
    /// How it was stored.
    #[pyo3(get)]
    status: PySendStatus,
    /// The message id (comma-joined for a batch).
    #[pyo3(get)]
    msg_id: String,
    /// The broker's offset message id (comma-joined for a batch).
    #[pyo3(get)]
    offset_msg_id: String,
    /// The queue written.
    #[pyo3(get)]
    queue: PyMessageQueue,
    /// The offset in that queue (of the first message of a batch).
    #[pyo3(get)]
    queue_offset: i64,
    /// The transaction id (transactional sends), or None.
    #[pyo3(get)]
    transaction_id: Option<String>,
}

#[pymethods]
impl PySendResult {
    fn __repr__(&self) -> String {
        format!(
            "SendResult(status=SendStatus.{}, msg_id={:?}, queue={}, queue_offset={})",
            self.status.name(),
            self.msg_id,
            self.queue.__repr__(),
            self.queue_offset
        )
    }
}

impl PySendStatus {
    fn name(self) -> &'static str {
        match self {
            PySendStatus::SendOk => "SEND_OK",
            PySendStatus::FlushDiskTimeout => "FLUSH_DISK_TIMEOUT",
            PySendStatus::FlushSlaveTimeout => "FLUSH_SLAVE_TIMEOUT",
            PySendStatus::SlaveNotAvailable => "SLAVE_NOT_AVAILABLE",
            PySendStatus::Unknown => "UNKNOWN",
        }
    }
}

impl From<SendResult> for PySendResult {
    fn from(r: SendResult) -> Self {
        let status = match r.status {
            SendStatus::Ok => PySendStatus::SendOk,
            SendStatus::FlushDiskTimeout => PySendStatus::FlushDiskTimeout,
            SendStatus::FlushSlaveTimeout => PySendStatus::FlushSlaveTimeout,
            SendStatus::SlaveNotAvailable => PySendStatus::SlaveNotAvailable,
            _ => PySendStatus::Unknown,
        };
        PySendResult {
            status,
            msg_id: r.msg_id,
            offset_msg_id: r.offset_msg_id,
            queue: r.queue.into(),
            queue_offset: r.queue_offset,
            transaction_id: r.transaction_id,
        }
    }
}

/// What a listener did with a message. A listener may also return None or True (success),
/// False (retry), or the strings "success" / "reconsumeLater"; raising an exception, or
/// returning anything else, means retry.
#[pyclass(
    name = "ConsumeResult",
    module = "ferromq",
    eq,
    eq_int,
    frozen,
    from_py_object
)]
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum PyConsumeResult {
    /// Consumed.
    #[pyo3(name = "SUCCESS")]
    Success,
    /// Failed: redeliver later (orderly consumers: suspend the queue a moment and retry).
    #[pyo3(name = "RECONSUME_LATER")]
    ReconsumeLater,
}

impl From<PyConsumeResult> for ferromq_client::ConsumeResult {
    fn from(r: PyConsumeResult) -> Self {
        match r {
            PyConsumeResult::Success => ferromq_client::ConsumeResult::Success,
            PyConsumeResult::ReconsumeLater => ferromq_client::ConsumeResult::ReconsumeLater,
        }
    }
}

/// Where a consumer group without a committed offset starts on a queue. Consumers also take
/// it as text, read by the client core: "lastOffset", "first_offset",
/// "CONSUME_FROM_TIMESTAMP", ... (anything else raises InvalidArgumentError).
#[pyclass(
    name = "ConsumeFrom",
    module = "ferromq",
    eq,
    eq_int,
    frozen,
    from_py_object
)]
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum PyConsumeFrom {
    /// After the last stored message (the default).
    #[pyo3(name = "LAST_OFFSET")]
    LastOffset,
    /// From the first stored message.
    #[pyo3(name = "FIRST_OFFSET")]
    FirstOffset,
    /// From the first message stored at or after `consume_timestamp_ms`.
    #[pyo3(name = "TIMESTAMP")]
    Timestamp,
}

impl From<PyConsumeFrom> for ferromq_client::ConsumeFromKind {
    fn from(c: PyConsumeFrom) -> Self {
        match c {
            PyConsumeFrom::LastOffset => ferromq_client::ConsumeFromKind::LastOffset,
            PyConsumeFrom::FirstOffset => ferromq_client::ConsumeFromKind::FirstOffset,
            PyConsumeFrom::Timestamp => ferromq_client::ConsumeFromKind::Timestamp,
        }
    }
}

/// A consume-from argument: the enum, or text read by the core (`"firstOffset"`,
/// `"CONSUME_FROM_FIRST_OFFSET"`, ...; anything else is an `InvalidArgumentError`).
#[derive(FromPyObject)]
pub(crate) enum ConsumeFromArg {
    Kind(PyConsumeFrom),
    Text(String),
}

/// The core's consume-from position (its rule: a timestamp exactly with `TIMESTAMP`).
pub(crate) fn consume_from(
    py: Python<'_>,
    kind: Option<ConsumeFromArg>,
    timestamp_ms: Option<i64>,
) -> PyResult<ferromq_client::ConsumeFrom> {
    let kind = match kind {
        None => None,
        Some(ConsumeFromArg::Kind(k)) => Some(k.into()),
        Some(ConsumeFromArg::Text(s)) => Some(
            s.parse::<ferromq_client::ConsumeFromKind>()
                .map_err(|e| crate::error::to_py(py, &e))?,
        ),
    };
    ferromq_client::ConsumeFrom::new(kind, timestamp_ms).map_err(|e| crate::error::to_py(py, &e))
}

/// The state of a local transaction.
#[pyclass(
    name = "TransactionState",
    module = "ferromq",
    eq,
    eq_int,
    frozen,
    from_py_object
)]
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum PyTransactionState {
    /// Deliver the message.
    #[pyo3(name = "COMMIT")]
    Commit,
    /// Discard the message.
    #[pyo3(name = "ROLLBACK")]
    Rollback,
    /// Not known yet: the broker asks again later through the check callable.
    #[pyo3(name = "UNKNOWN")]
    Unknown,
}
