//! What a producer is configured with ([`ProducerOptions`]) and the constants its defaults use.

use std::time::Duration;

use crate::client::ClientConfig;

/// The topic whose route a producer borrows for a topic the name servers do not know yet; the
/// broker then creates the topic on the first send (`autoCreateTopicEnable`).
pub const AUTO_CREATE_TOPIC: &str = "TBW102";

/// Largest body (and batch) a producer sends, 4 MiB as Java.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 4 * 1024 * 1024;

/// Producer settings (Java `DefaultMQProducer`).
#[derive(Debug, Clone)]
pub struct ProducerOptions {
    /// Shared client settings (name servers, instance name, timeouts).
    pub client: ClientConfig,
    /// Producer group (required for transactions; heartbeats carry it).
    pub group: String,
    /// Timeout of one send attempt (3 s).
    pub send_timeout: Duration,
    /// Extra attempts of a failed sync or async send, on another broker if there is one (2).
    pub retry_times: u32,
    /// Bodies longer than this are zlib-compressed (4 KiB).
    pub compress_threshold: usize,
    /// zlib level (5).
    pub compress_level: u32,
    /// Largest body or batch accepted (4 MiB).
    pub max_message_size: usize,
    /// Avoid brokers that were slow or failing for a while (Java `sendLatencyFaultEnable`).
    pub latency_fault_enable: bool,
    /// Queues of a topic the broker auto-creates on first send (4).
    pub default_topic_queue_nums: i32,
    /// Records each accepted send in the trace topic (Java `enableMsgTrace`, off;
    /// docs/message-trace.md).
    pub enable_msg_trace: bool,
    /// The trace topic when tracing (Java `customizedTraceTopic`); `None` or blank is
    /// `RMQ_SYS_TRACE_TOPIC`.
    pub trace_topic: Option<String>,
}

impl Default for ProducerOptions {
    fn default() -> Self {
        ProducerOptions {
            client: ClientConfig::default(),
            group: "DEFAULT_PRODUCER".to_owned(),
            send_timeout: Duration::from_secs(3),
            retry_times: 2,
            compress_threshold: 4 * 1024,
            compress_level: 5,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            latency_fault_enable: false,
            default_topic_queue_nums: 4,
            enable_msg_trace: false,
            trace_topic: None,
        }
    }
}
