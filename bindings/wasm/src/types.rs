//! TypeScript declarations of the plain objects the classes take and return (added to the
//! generated `.d.ts`).

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = r#"
/** Options every class takes. */
export interface ClientOptions {
  /** Name servers' WebSocket URLs, `;`-separated (`ws://127.0.0.1:9877/`). */
  namesrvAddr: string;
  /** Objects with the same name servers and instance name share one client (one per module by default). */
  instanceName?: string;
  /** Timeout of ordinary requests, ms (3000). */
  requestTimeoutMs?: number;
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
}

export type ConsumeFrom = 'lastOffset' | 'firstOffset' | 'timestamp';

export interface PushConsumerOptions extends ClientOptions {
  group: string;
  consumeFrom?: ConsumeFrom;
  /** For `consumeFrom: 'timestamp'`, ms since the epoch. */
  consumeTimestamp?: number;
  /** `clustering` (default); `broadcasting` is refused on wasm32 (no local offset file). */
  messageModel?: 'clustering' | 'broadcasting';
  /** One listener call at a time per queue, in order, with a broker lock on the queue. */
  orderly?: boolean;
  /** Redeliveries before `%DLQ%<group>` (16). */
  maxReconsumeTimes?: number;
  pullBatchSize?: number;
  rebalanceIntervalMs?: number;
  persistIntervalMs?: number;
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

/** A tag expression (`'A || B'`, `'*'`), `{ tag }` or `{ sql92 }`. */
export type Filter = string | { tag?: string; sql92?: string };

/**
 * What a listener returns: nothing (consumed), or `false` / `'reconsumeLater'` (redeliver); or a
 * Promise of one of those, awaited (a rejection also redelivers).
 */
export type ListenerResult = void | boolean | 'reconsumeLater';

export interface TopicOptions {
  /** `DefaultCluster` by default. */
  cluster?: string;
  /** Read and write queues per broker (8). */
  queueNums?: number;
  order?: boolean;
}

export interface TopicRoute {
  brokers: { brokerName: string; addrs: Record<string, string> }[];
  queues: { brokerName: string; readQueueNums: number; writeQueueNums: number }[];
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
  execute(message: { topic: string; tag: string | null; keys: string[]; properties: Record<string, string>; body: Uint8Array; text(): string }, transactionId: string): TransactionState;
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
