//! TypeScript declarations of the plain objects the classes take and return (added to the
//! generated `.d.ts`).

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = r#"
/** Options every class takes. */
export interface ClientOptions {
  /** Name servers' WebSocket URLs, `;`-separated (`ws://127.0.0.1:9877/`, or `wss://host:9877/` to servers with TLS; the platform checks their certificates). */
  namesrvAddr: string;
  /** Objects with the same name servers and instance name share one client (the core's `DEFAULT`, one per loaded module, by default). */
  instanceName?: string;
  /** Timeout of ordinary requests, ms (3000). */
  requestTimeoutMs?: number;
  /** ACL 1.0 credentials: every request is signed (brokers with `aclEnable=true`). */
  credentials?: Credentials;
  /** Namespace (Apache's client namespace): producers and consumers put topics and groups on the wire as `namespace%name` while messages, send results and queues show the bare names; letters, digits, `_`, `-` and `|` only. `Admin` ignores it. */
  namespace?: string;
}

/** ACL 1.0 credentials (an account of the broker's `plain_acl.yml`). */
export interface Credentials {
  accessKey: string;
  /** Never sent: it signs the requests. */
  secretKey: string;
  /** An STS token, sent with the requests. */
  securityToken?: string;
}

export interface ProducerOptions extends ClientOptions {
  /** Producer group (`DEFAULT_PRODUCER`). */
  group?: string;
  /** Timeout of one send attempt, ms (3000). */
  sendTimeoutMs?: number;
  /** Extra attempts of a failed send (2). */
  retryTimes?: number;
  /** Largest body or batch, bytes (4 MiB). */
  maxMessageSize?: number;
  /** Bodies longer than this are compressed, bytes (4096). */
  compressThreshold?: number;
  /** Record each accepted send in the trace topic, Apache's format (Java `enableMsgTrace`; false). */
  enableMsgTrace?: boolean;
  /** The trace topic (Java `customizedTraceTopic`; `RMQ_SYS_TRACE_TOPIC`). */
  traceTopic?: string;
}

/** Where a group without a committed offset starts (the core also accepts any case, `_`/`-` separators and Java names such as `'CONSUME_FROM_FIRST_OFFSET'`). */
export type ConsumeFrom = 'lastOffset' | 'firstOffset' | 'timestamp';

/** How the group's queues are shared among its members. */
export type Allocation = 'averagely' | 'averagelyByCircle' | 'consistentHash';

export interface PushConsumerOptions extends ClientOptions {
  group: string;
  /** `lastOffset` (default). */
  consumeFrom?: ConsumeFrom;
  /** For `consumeFrom: 'timestamp'` only (required there), ms since the epoch. */
  consumeTimestamp?: number;
  /** `clustering` (default); `broadcasting` is refused on wasm32 (no local offset file). */
  messageModel?: 'clustering' | 'broadcasting';
  /** Queue allocation among the group's members (`averagely`). */
  allocation?: Allocation;
  /** One listener call at a time per queue, in order, with a broker lock on the queue. */
  orderly?: boolean;
  /** Redeliveries before `%DLQ%<group>` (16). */
  maxReconsumeTimes?: number;
  /** Listener calls running at once (20). */
  consumeThreads?: number;
  /** Messages handed to the consumer per delivery (1); the listener still gets them one per call, in order; when one is not consumed, the rest of the batch is not offered and the whole batch is redelivered. */
  consumeBatchSize?: number;
  /** Messages per pull (32). */
  pullBatchSize?: number;
  /** Rebalance period, ms (20000). */
  rebalanceIntervalMs?: number;
  /** Offset commit period, ms (5000). */
  persistIntervalMs?: number;
  /** Record each delivery and the listener's answer in the trace topic (Java `enableMsgTrace`; false). */
  enableMsgTrace?: boolean;
  /** The trace topic (Java `customizedTraceTopic`; `RMQ_SYS_TRACE_TOPIC`). */
  traceTopic?: string;
  /** A message whose listener call runs longer than this, ms, is redelivered (`reconsumeTimes` + 1) and its queue moves on; the call's answer then no longer counts (Java `consumeTimeout`; 900000; 0 is refused). Not for orderly consumers. */
  consumeTimeoutMs?: number;
  /** Orderly: the pause before a refused message is offered again, ms (Java `suspendCurrentQueueTimeMillis`; 1000; 10 to 30000). */
  suspendCurrentQueueTimeMs?: number;
  /** How long `shutdown()` waits for listener calls in flight, ms (Java `awaitTerminationMillisWhenShutdown`; 10000); later ones are abandoned and their messages redelivered. */
  awaitTerminationMs?: number;
  /** Pulling a queue pauses above this many cached messages (1000). */
  pullThresholdForQueue?: number;
  /** ... or above this many cached body bytes (100 MiB). */
  pullThresholdSizeForQueue?: number;
  /** Cached messages shared evenly among the queues held, replacing `pullThresholdForQueue` (Java `pullThresholdForTopic`; off when absent). */
  pullThresholdForTopic?: number;
  /** Cached body bytes shared the same way, replacing `pullThresholdSizeForQueue` (Java `pullThresholdSizeForTopic`, which counts MiB; off when absent). */
  pullThresholdSizeForTopic?: number;
}

export interface PullConsumerOptions extends ClientOptions {
  group: string;
  consumeFrom?: ConsumeFrom;
  consumeTimestamp?: number;
  pullBatchSize?: number;
  autoCommit?: boolean;
  autoCommitIntervalMs?: number;
  rebalanceIntervalMs?: number;
}

/** A message to send. */
export interface Message {
  topic: string;
  /** A string (sent as UTF-8), Uint8Array or ArrayBuffer; not empty. */
  body: string | Uint8Array | ArrayBuffer;
  tag?: string;
  /** Keys indexed by the broker (no spaces). */
  keys?: string | string[];
  /** User properties (SQL92 filters select on them). */
  properties?: Record<string, string | number | boolean>;
  /** Delay level, 1-based into the broker's `messageDelayLevel` (level 2 is 5 s by default). */
  delayLevel?: number;
  /** Deliver at this time, ms since the epoch (timer message); also spelled `deliverTimeMs`. */
  deliverAt?: number;
  deliverTimeMs?: number;
  /** Deliver this many ms after the broker stores it (timer message). */
  delayMs?: number;
  /** Choose the queue by hashing this key (ordered messages; one attempt). */
  shardingKey?: string;
}

/** A received (or decoded) message. */
export interface ReceivedMessage {
  topic: string;
  tag: string | null;
  /** Same as `tag`. */
  tags: string | null;
  keys: string[];
  /** All properties, system ones (`TAGS`, `KEYS`, `UNIQ_KEY`, ...) included. */
  properties: Record<string, string>;
  body: Uint8Array;
  /** The body decoded as UTF-8. */
  text(): string;
  msgId: string;
  offsetMsgId: string;
  brokerName: string;
  queueId: number;
  queueOffset: number;
  reconsumeTimes: number;
  bornTimestamp: number;
  storeTimestamp: number;
  commitLogOffset: number;
  flag: number;
  sysFlag: number;
  bornHost: string;
  storeHost: string;
}

/** The stored-record fields `encodeMessage` takes beside a message's. */
export interface StoredFields {
  queueId?: number;
  queueOffset?: number;
  commitLogOffset?: number;
  flag?: number;
  sysFlag?: number;
  bornTimestamp?: number;
  storeTimestamp?: number;
  /** `ip:port`. */
  bornHost?: string;
  storeHost?: string;
  reconsumeTimes?: number;
}

export interface SendResult {
  status: 'SEND_OK' | 'FLUSH_DISK_TIMEOUT' | 'FLUSH_SLAVE_TIMEOUT' | 'SLAVE_NOT_AVAILABLE';
  msgId: string;
  offsetMsgId: string;
  topic: string;
  brokerName: string;
  queueId: number;
  queueOffset: number;
  transactionId?: string;
}

export interface MessageQueue {
  topic: string;
  brokerName: string;
  queueId: number;
}

/** A latency histogram, ms. */
export interface LatencyHistogram {
  /** The buckets' upper bounds (inclusive). */
  boundsMs: number[];
  /** Observations per bucket, not cumulative: one more than `boundsMs`, the last for those above the largest bound. */
  counts: number[];
  count: number;
  sumMs: number;
}

/** What a producer counted since it started (`metrics()`). */
export interface ProducerMetrics {
  /** Send calls that succeeded (a batch is one call; oneway sends once written). */
  sends: number;
  /** Messages in those calls. */
  messages: number;
  /** Send calls that failed, after their retries. */
  sendFailures: number;
  /** Time of each send call, retries included. */
  sendLatency: LatencyHistogram;
}

/** One queue a push consumer holds, and how far behind it is. */
export interface QueueLag extends MessageQueue {
  /** The next offset to consume; -1 while unknown. */
  consumerOffset: number;
  /** The queue's end at the last pull; -1 before the first pull. */
  brokerMaxOffset: number;
  /** Messages between the two (0 while either is unknown). */
  lag: number;
}

/** What a push consumer counted since it started (`metrics()`). */
export interface ConsumerMetrics {
  /** Messages the listener consumed. */
  consumed: number;
  /** Messages the listener failed (to be redelivered or dead-lettered). */
  consumeFailures: number;
  /** Time of each listener call. */
  consumeLatency: LatencyHistogram;
  /** Rebalances that changed the consumer's queues. */
  rebalances: number;
  /** The queues the consumer holds now, in queue order (its retry topic's too). */
  queues: QueueLag[];
  /** The lag of all those queues. */
  totalLag: number;
}

/** A tag expression (`'A || B'`, `'*'`), `{ tag }` or `{ sql92 }`. */
export type Filter = string | { tag?: string; sql92?: string };

/**
 * What a message listener answers (or resolves to). `undefined`, `null`, `true` or `'success'`:
 * consumed. `false` or `'reconsumeLater'`: redeliver later. A throw, a rejected Promise or any
 * other value also redelivers. The same contract as every FerroMQ binding (Node included).
 */
export type ListenerResult = void | null | boolean | 'success' | 'reconsumeLater';

/** A push consumer's listener: one message per call; a returned Promise is awaited. */
export type MessageListener = (message: ReceivedMessage) => ListenerResult | Promise<ListenerResult>;

/**
 * Picks the queue of `Producer.sendWithSelector`: an integer index from 0 to `queueCount - 1`.
 * A throw or any other answer rejects the send with `InvalidArgument` (nothing is sent).
 */
export type QueueSelector = (message: OutgoingMessage, queueCount: number) => number;

/** A message as a producer hands it to a selector or a transaction's `execute`. */
export interface OutgoingMessage {
  topic: string;
  tag: string | null;
  keys: string[];
  properties: Record<string, string>;
  body: Uint8Array;
  text(): string;
}

export interface TopicOptions {
  /** `DefaultCluster` by default. */
  cluster?: string;
  /** Read and write queues per broker (8). */
  queueNums?: number;
  order?: boolean;
}

export interface RouteBroker {
  cluster: string;
  brokerName: string;
  /** Broker id (`0` = master) to `ip:port`. */
  addrs: Record<string, string>;
}

export interface TopicRoute {
  brokers: RouteBroker[];
  /** Permission bits: 2 = write, 4 = read, 6 = both. */
  queues: { brokerName: string; readQueueNums: number; writeQueueNums: number; perm: number }[];
}

export interface ClusterInfo {
  brokers: RouteBroker[];
  /** Cluster name to its broker names. */
  clusters: Record<string, string[]>;
}

export interface QueueStats extends MessageQueue {
  minOffset: number;
  /** The next offset to be written. */
  maxOffset: number;
  lastUpdateTimestamp: number;
}

export interface QueueProgress extends MessageQueue {
  brokerOffset: number;
  /** The group's committed offset. */
  consumerOffset: number;
  pullOffset: number;
  lastTimestamp: number;
}

/** What every failure throws or rejects with. */
export interface FerroMQError extends Error {
  code: 'InvalidArgument' | 'Connect' | 'Timeout' | 'ConnectionClosed' | 'TopicNotFound' | 'Broker' | 'Protocol' | 'IllegalState' | 'Io' | 'Unknown';
  retryable: boolean;
  operation: string;
  responseCode?: number;
  remark?: string;
}

export type TransactionState = 'commit' | 'rollback' | 'unknown';

/** The application's side of transactions (both run synchronously; a throw is `'unknown'`). */
export interface TransactionListener {
  /** Runs the local transaction for the half message just stored. */
  execute(message: OutgoingMessage, transactionId: string): TransactionState;
  /** Answers the broker's check-back for a half message still undecided. */
  check(message: ReceivedMessage): TransactionState;
}

export interface TransactionSendResult {
  state: TransactionState;
  send: SendResult;
}

export interface PullConsumer {
  [Symbol.asyncIterator](): AsyncIterator<ReceivedMessage>;
}
"#;
