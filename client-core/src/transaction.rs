//! Transactional messages (docs/protocol.md, "Transactions"): a half message, the user's local
//! transaction, then END_TRANSACTION (oneway, as Java); the broker's check-backs
//! (CHECK_TRANSACTION_STATE) are answered from the user's [`TransactionListener::check`].

use std::sync::{Arc, OnceLock};

use ferromq_protocol::header::transaction::{
    CheckTransactionStateRequestHeader, EndTransactionRequestHeader,
};
use ferromq_protocol::message::{property, MessageExt, MessageId};
use ferromq_protocol::{RemotingCommand, RequestCode};
use futures::future::BoxFuture;

use crate::client::{CheckHandler, Client};
use crate::error::{Error, Result};
use crate::message::{Message, MessageView, SendResult, SendStatus};
use crate::namespace::Namespace;
use crate::producer::{Producer, ProducerOptions};
use crate::trace::{EndTransactionTrace, Tracer};

/// The state of a local transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransactionState {
    /// Deliver the message.
    Commit,
    /// Discard the message.
    Rollback,
    /// Not known yet: the broker will ask again ([`TransactionListener::check`]).
    Unknown,
}

impl TransactionState {
    /// `commitOrRollback` of END_TRANSACTION (`MessageSysFlag` transaction types).
    fn wire(self) -> i32 {
        match self {
            TransactionState::Commit => 8,
            TransactionState::Rollback => 12,
            TransactionState::Unknown => 0,
        }
    }

    /// Java's `LocalTransactionState` name (trace records).
    pub(crate) fn java_name(self) -> &'static str {
        match self {
            TransactionState::Commit => "COMMIT_MESSAGE",
            TransactionState::Rollback => "ROLLBACK_MESSAGE",
            TransactionState::Unknown => "UNKNOW",
        }
    }
}

/// The user's side of a transaction.
pub trait TransactionListener: Send + Sync + 'static {
    /// Runs the local transaction for the half message just stored (called on the task that
    /// called [`TransactionProducer::send`]).
    fn execute(&self, message: &Message, transaction_id: &str) -> TransactionState;

    /// Answers a broker's check-back for a half message still undecided (called on a blocking
    /// worker thread).
    fn check(&self, message: &MessageView) -> TransactionState;
}

/// What a transactional send did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionSendResult {
    /// The half message's send result.
    pub send: SendResult,
    /// What the local transaction decided (Rollback when the half message was not stored).
    pub state: TransactionState,
}

/// A producer of transactional messages; cheap to clone.
#[derive(Clone)]
pub struct TransactionProducer {
    producer: Producer,
    listener: Arc<dyn TransactionListener>,
}

impl std::fmt::Debug for TransactionProducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransactionProducer")
            .field("producer", &self.producer)
            .finish_non_exhaustive()
    }
}

struct Checker {
    client: std::sync::Weak<crate::client::Inner>,
    group: String,
    listener: Arc<dyn TransactionListener>,
    /// The producer's namespace: the listener sees topics without it.
    ns: Namespace,
    /// The producer's tracer, set once it started (check-backs are traced too).
    tracer: Arc<OnceLock<Arc<Tracer>>>,
}

impl CheckHandler for Checker {
    fn check(
        &self,
        addr: String,
        header: CheckTransactionStateRequestHeader,
        message: MessageExt,
    ) -> BoxFuture<'static, ()> {
        let client = self.client.upgrade().map(|inner| Client { inner });
        let listener = self.listener.clone();
        let group = self.group.clone();
        let ns = self.ns.clone();
        let tracer = self.tracer.get().cloned();
        Box::pin(async move {
            let Some(client) = client else { return };
            let broker = client.broker_name_of(&addr).unwrap_or_default();
            let uniq = message
                .properties
                .uniq_key()
                .map(str::to_owned)
                .unwrap_or_else(|| message.msg_id());
            let view = ns.unwrap_view(MessageView::new(message, &broker, None));
            let checked = view.clone();
            let state = match crate::rt::spawn_blocking(move || listener.check(&checked)).await {
                Ok(s) => s,
                Err(_) => TransactionState::Unknown,
            };
            if let Some(tracer) = tracer {
                tracer.on_end_transaction(&EndTransactionTrace {
                    topic: view.topic(),
                    tags: view.tag(),
                    keys: view.property(property::KEYS),
                    region: view.property(property::MSG_REGION),
                    msg_id: &uniq,
                    transaction_id: header.transaction_id.as_deref(),
                    broker_addr: &addr,
                    state,
                    from_check: true,
                });
            }
            let end = EndTransactionRequestHeader {
                topic: header.topic.clone(),
                producer_group: group,
                tran_state_table_offset: header.tran_state_table_offset,
                commit_log_offset: header.commit_log_offset,
                commit_or_rollback: state.wire(),
                from_transaction_check: Some(true),
                msg_id: uniq,
                transaction_id: header.transaction_id.clone(),
                broker_name: header.broker_name.clone(),
            };
            let request = RemotingCommand::request_with_header(RequestCode::END_TRANSACTION, &end);
            if let Err(e) = client.broker_oneway(&addr, request).await {
                tracing::warn!(%addr, error = %e, "could not answer a transaction check");
            }
        })
    }
}

impl TransactionProducer {
    /// Starts a transactional producer of `options.group`; the broker's check-backs for that
    /// group go to `listener`.
    pub async fn start<L: TransactionListener>(
        options: ProducerOptions,
        listener: L,
    ) -> Result<Self> {
        let listener: Arc<dyn TransactionListener> = Arc::new(listener);
        let ns = Namespace::new(options.client.namespace.as_deref())?;
        let client = Client::shared(&options.client)?;
        let tracer = Arc::new(OnceLock::new());
        let checker = Arc::new(Checker {
            client: Arc::downgrade(&client.inner),
            group: ns.wrap(&options.group),
            listener: listener.clone(),
            ns,
            tracer: tracer.clone(),
        });
        let started = Producer::start_with(options, Some(checker)).await;
        // `start_with` took its own reference to the shared client.
        client.release();
        let producer = started?;
        if let Some(t) = producer.tracer_handle() {
            let _ = tracer.set(t);
        }
        Ok(TransactionProducer { producer, listener })
    }

    /// The underlying producer (for ordinary sends).
    pub fn producer(&self) -> &Producer {
        &self.producer
    }

    /// What the producer counted since it started ([`crate::ProducerMetrics`]): every
    /// transactional send is one send.
    pub fn metrics(&self) -> crate::ProducerMetrics {
        self.producer.metrics()
    }

    /// Sends `message` as a half message, runs the local transaction and ends the transaction
    /// with its outcome.
    pub async fn send(&self, message: Message) -> Result<TransactionSendResult> {
        let mut message = message;
        let props = message.properties_mut();
        props.remove(property::DELAY_TIME_LEVEL);
        props.insert(property::TRANSACTION_PREPARED, "true");
        props.insert(property::PRODUCER_GROUP, self.producer.group());
        let send = self.producer.send(message.clone()).await?;
        let state = if send.status == SendStatus::Ok {
            let id = send
                .transaction_id
                .clone()
                .unwrap_or_else(|| send.msg_id.clone());
            self.listener.execute(&message, &id)
        } else {
            TransactionState::Rollback
        };
        self.end(&message, &send, state).await?;
        Ok(TransactionSendResult { send, state })
    }

    async fn end(
        &self,
        message: &Message,
        send: &SendResult,
        state: TransactionState,
    ) -> Result<()> {
        let client = self.producer.client();
        let offset = MessageId::parse(&send.offset_msg_id)
            .map_err(|e| Error::protocol("end transaction", e))?
            .offset;
        // The send result names the topic without the namespace; the broker knows it with.
        let topic = self.producer.wrap(&send.queue.topic);
        let header = EndTransactionRequestHeader {
            topic: Some(topic.clone()),
            producer_group: self.producer.group().to_owned(),
            tran_state_table_offset: send.queue_offset,
            commit_log_offset: offset,
            commit_or_rollback: state.wire(),
            from_transaction_check: Some(false),
            msg_id: send.msg_id.clone(),
            transaction_id: send.transaction_id.clone(),
            broker_name: Some(send.queue.broker_name.clone()),
        };
        let addr = client
            .master_addr_for(&send.queue.broker_name, &topic)
            .await?;
        if let Some(tracer) = self.producer.tracer() {
            tracer.on_end_transaction(&EndTransactionTrace {
                topic: message.topic(),
                tags: message.tag(),
                keys: message.property(property::KEYS),
                region: message.property(property::MSG_REGION),
                msg_id: &send.msg_id,
                transaction_id: send.transaction_id.as_deref(),
                broker_addr: &addr,
                state,
                from_check: false,
            });
        }
        let request = RemotingCommand::request_with_header(RequestCode::END_TRANSACTION, &header);
        client.broker_oneway(&addr, request).await
    }

    /// Stops the producer.
    pub async fn shutdown(&self) {
        self.producer.shutdown().await;
    }
}
