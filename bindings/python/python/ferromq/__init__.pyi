"""FerroMQ client: producers, consumers, transactions and admin over the Rust client core.

Blocking calls release the GIL; listener callables run on client threads that take the GIL
for the call. Timeouts are in seconds, except those named `..._ms`. Options left at None take the client core's defaults.

Lifecycle (the same in every FerroMQ binding): an object is created, started once, and shut
down once. A second `start()` raises IllegalStateError, and so does `start()` after
`shutdown()`: a shut-down object cannot be restarted, create a new one. A second `shutdown()`
does nothing.

Listener contract (the same in every FerroMQ binding): a message listener returns None, True,
ConsumeResult.SUCCESS or "success" when the message is consumed; False,
ConsumeResult.RECONSUME_LATER or "reconsumeLater" to have it redelivered later. Raising an
exception, or returning anything else, also means redelivery (and is logged on the `ferromq`
logger).
"""

from __future__ import annotations

import asyncio
from os import PathLike
from pathlib import Path
from types import TracebackType
from typing import Awaitable, Callable, ClassVar, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, TypedDict, Union

__version__: str

_ListenerResult = Union["ConsumeResult", bool, str, None]
_TransactionAnswer = Union["TransactionState", bool, None]
_Credentials = Union[Tuple[str, str], Tuple[str, str, str]]
_Path = Union[str, PathLike[str]]

# The dicts metrics() returns (types for checkers only; at run time they are plain dicts).

class _LatencyHistogram(TypedDict):
    bounds_ms: List[int]
    """Upper bounds of the buckets, milliseconds (inclusive)."""
    counts: List[int]
    """Observations per bucket (not cumulative), one more than `bounds_ms`: the last counts
    those above the largest bound."""
    count: int
    sum_ms: int

class _ProducerMetrics(TypedDict):
    sends: int
    """Send calls that succeeded (a batch is one call; oneway sends once written)."""
    messages: int
    """Messages in those calls."""
    send_failures: int
    """Send calls that failed after their retries."""
    send_latency: _LatencyHistogram

class _QueueLag(TypedDict):
    topic: str
    broker_name: str
    queue_id: int
    consumer_offset: int
    """The next offset to consume; -1 while unknown."""
    broker_max_offset: int
    """The queue's end at the last pull; -1 before the first pull."""
    lag: int
    """Messages between the two (0 while either is unknown)."""

class _ConsumerMetrics(TypedDict):
    consumed: int
    consume_failures: int
    consume_latency: _LatencyHistogram
    rebalances: int
    """Rebalances that changed the consumer's queues."""
    queues: List[_QueueLag]
    """The queues the consumer holds now, in queue order (its retry topic's too)."""
    total_lag: int

class FerroMQError(Exception):
    """Base class of every FerroMQ error."""

    code: str
    """The stable kind name: InvalidArgument, Connect, Timeout, ConnectionClosed,
    TopicNotFound, Broker, Protocol, IllegalState or Io."""
    retryable: bool
    """Whether trying again (possibly on another broker) may succeed."""
    operation: str
    """The operation that failed (send, pull, route, ...)."""
    response_code: Optional[int]
    """The RocketMQ response code when a server answered with an error."""
    remark: Optional[str]
    """The server's remark when a server answered with an error."""

class InvalidArgumentError(FerroMQError):
    """The caller passed something unusable (empty topic, oversized body, bad expression)."""

class ConnectError(FerroMQError):
    """No connection could be made to a name server or broker."""

class RequestTimeoutError(FerroMQError):
    """No answer within the request timeout."""

class ConnectionClosedError(FerroMQError):
    """The connection closed before the answer arrived."""

class TopicNotFoundError(FerroMQError):
    """The topic has no route or no usable queue."""

class BrokerError(FerroMQError):
    """A broker or name server answered with an error response code."""

class ProtocolError(FerroMQError):
    """A peer sent something that could not be decoded."""

class IllegalStateError(FerroMQError):
    """Not started, already shut down, or created in another process (before fork())."""

class FerroIOError(FerroMQError):
    """A local file (broadcast offsets) could not be read or written."""

class TlsConfig:
    """TLS settings of a client: pass as `tls=` to any client constructor (`tls=True` is
    `TlsConfig()`, the system's trusted roots). Every connection of the client, to name
    servers and brokers, then uses TLS."""

    def __init__(
        self,
        ca_file: Optional[_Path] = None,
        *,
        cert_file: Optional[_Path] = None,
        key_file: Optional[_Path] = None,
        server_name: Optional[str] = None,
        verify_hostname: bool = True,
        trust_any_server: bool = False,
    ) -> None:
        """The files must exist (InvalidArgumentError otherwise); `cert_file` and `key_file`
        go together. A file that does not parse is reported by `start()`."""
    @property
    def ca_file(self) -> Optional[Path]:
        """The PEM file of the CAs server certificates must chain to; None: the system's roots."""
    @property
    def cert_file(self) -> Optional[Path]:
        """The client certificate chain (PEM) for servers that require one (mTLS)."""
    @property
    def key_file(self) -> Optional[Path]:
        """The client certificate's private key (PEM, not encrypted)."""
    @property
    def server_name(self) -> Optional[str]:
        """The name every server certificate is checked against instead of the host dialed."""
    @property
    def verify_hostname(self) -> bool:
        """Whether the certificate must name the host dialed (or `server_name`)."""
    @property
    def trust_any_server(self) -> bool:
        """Whether any server certificate is accepted unverified (tests only)."""
    def __eq__(self, other: object) -> bool: ...

class SendStatus:
    """How a broker stored an accepted message."""

    SEND_OK: ClassVar[SendStatus]
    FLUSH_DISK_TIMEOUT: ClassVar[SendStatus]
    FLUSH_SLAVE_TIMEOUT: ClassVar[SendStatus]
    SLAVE_NOT_AVAILABLE: ClassVar[SendStatus]
    UNKNOWN: ClassVar[SendStatus]

class ConsumeResult:
    """What a listener did with a message (None/True/"success" also mean SUCCESS,
    False/"reconsumeLater" RECONSUME_LATER; raising means RECONSUME_LATER)."""

    SUCCESS: ClassVar[ConsumeResult]
    RECONSUME_LATER: ClassVar[ConsumeResult]

class ConsumeFrom:
    """Where a consumer group without a committed offset starts on a queue. Consumers also
    take it as text, read by the client core: "lastOffset", "first_offset",
    "CONSUME_FROM_TIMESTAMP", ... (anything else raises InvalidArgumentError)."""

    LAST_OFFSET: ClassVar[ConsumeFrom]
    FIRST_OFFSET: ClassVar[ConsumeFrom]
    TIMESTAMP: ClassVar[ConsumeFrom]

class TransactionState:
    """The state of a local transaction."""

    COMMIT: ClassVar[TransactionState]
    ROLLBACK: ClassVar[TransactionState]
    UNKNOWN: ClassVar[TransactionState]

class Message:
    """A message to send."""

    def __init__(
        self,
        topic: str,
        body: Union[bytes, str],
        *,
        tag: Optional[str] = None,
        keys: Union[str, Sequence[str], None] = None,
        properties: Optional[Mapping[str, str]] = None,
        delay_level: Optional[int] = None,
        deliver_time_ms: Optional[int] = None,
        delay_ms: Optional[int] = None,
        flag: int = 0,
    ) -> None: ...
    @property
    def topic(self) -> str:
        """The topic."""
    @property
    def body(self) -> bytes:
        """The body."""
    @property
    def tag(self) -> Optional[str]:
        """The tag."""
    @property
    def keys(self) -> List[str]:
        """The keys."""
    @property
    def flag(self) -> int:
        """The user flag."""
    @property
    def properties(self) -> Dict[str, str]:
        """All properties (system ones included)."""
    def property(self, name: str) -> Optional[str]:
        """A property by name."""
    @staticmethod
    def reply_to(request: MessageView, body: Union[bytes, str]) -> Message:
        """The reply to a received request, to send with `Producer.send_reply`: addressed to
        the reply topic of the request's cluster, carrying its correlation id, reply-to client
        and TTL. InvalidArgumentError when `request` has no CLUSTER property."""
    @property
    def is_reply(self) -> bool:
        """Whether this is a reply built with `Message.reply_to`."""

class MessageQueue:
    """A queue of a topic on one broker."""

    def __init__(self, topic: str, broker_name: str, queue_id: int) -> None: ...
    @property
    def topic(self) -> str:
        """The topic."""
    @property
    def broker_name(self) -> str:
        """The broker name."""
    @property
    def queue_id(self) -> int:
        """The queue id on that broker."""
    def __eq__(self, other: object) -> bool: ...
    def __hash__(self) -> int: ...

class MessageView:
    """A received message."""

    @property
    def topic(self) -> str:
        """The topic the producer sent to (also for redeliveries)."""
    @property
    def body(self) -> bytes:
        """The body."""
    @property
    def tag(self) -> Optional[str]:
        """The tag."""
    @property
    def keys(self) -> List[str]:
        """The keys."""
    @property
    def properties(self) -> Dict[str, str]:
        """All properties (system ones included)."""
    def property(self, name: str) -> Optional[str]:
        """A property by name."""
    @property
    def msg_id(self) -> str:
        """The message id."""
    @property
    def offset_msg_id(self) -> str:
        """The broker's offset message id."""
    @property
    def queue(self) -> MessageQueue:
        """The queue it was pulled from (the retry queue for redeliveries)."""
    @property
    def queue_id(self) -> int:
        """The id of that queue."""
    @property
    def broker_name(self) -> str:
        """The broker it came from."""
    @property
    def queue_offset(self) -> int:
        """Its offset in that queue."""
    @property
    def reconsume_times(self) -> int:
        """How many times it was redelivered before."""
    @property
    def born_timestamp(self) -> int:
        """When the producer created it, ms since the epoch."""
    @property
    def store_timestamp(self) -> int:
        """When the broker stored it, ms since the epoch."""

class SendResult:
    """The result of an accepted send."""

    @property
    def status(self) -> SendStatus:
        """How it was stored."""
    @property
    def msg_id(self) -> str:
        """The message id (comma-joined for a batch)."""
    @property
    def offset_msg_id(self) -> str:
        """The broker's offset message id (comma-joined for a batch)."""
    @property
    def queue(self) -> MessageQueue:
        """The queue written."""
    @property
    def queue_offset(self) -> int:
        """The offset in that queue (of the first message of a batch)."""
    @property
    def transaction_id(self) -> Optional[str]:
        """The transaction id (transactional sends)."""

class TransactionSendResult:
    """What a transactional send did."""

    @property
    def send_result(self) -> SendResult:
        """The half message's SendResult."""
    @property
    def state(self) -> TransactionState:
        """What the local transaction decided."""

class Producer:
    """A producer; `with Producer(...) as p:` starts it and shuts it down."""

    def __init__(
        self,
        namesrv: str,
        group: Optional[str] = None,
        *,
        instance_name: Optional[str] = None,
        send_timeout: Optional[float] = None,
        retry_times: Optional[int] = None,
        compress_threshold: Optional[int] = None,
        max_message_size: Optional[int] = None,
        request_timeout: Optional[float] = None,
        credentials: Optional[_Credentials] = None,
        tls: Union[bool, TlsConfig, None] = None,
        namespace: Optional[str] = None,
        enable_msg_trace: bool = False,
        trace_topic: Optional[str] = None,
    ) -> None:
        """None takes the core's default: group DEFAULT_PRODUCER, 3 s timeouts, 2 retries,
        compression above 4096 bytes, 4 MiB messages.

        `enable_msg_trace` records each accepted send in the trace topic (`trace_topic`, else
        RMQ_SYS_TRACE_TOPIC) in Apache's trace format (Java's enableMsgTrace /
        customizedTraceTopic); an illegal trace topic fails `start()`.

        `credentials` is `(access_key, secret_key)` or `(access_key, secret_key,
        security_token)`: every request is signed for brokers with ACL 1.0 on. `tls` is True
        (the system's trusted roots) or a TlsConfig; every client constructor takes both.
        Objects sharing an instance name share the first one's credentials and TLS settings.
        `namespace` (Apache's client namespace) puts topics and groups on the wire as
        `namespace%name` while messages, results and queues show the bare names; producers
        and consumers take it, letters, digits, `_`, `-` and `|` only (docs/namespaces.md).
        Unusable values raise InvalidArgumentError; a TLS file that does not parse, `start()`."""
    @property
    def group(self) -> str:
        """The producer group."""
    def start(self) -> None:
        """Starts the producer; IllegalStateError when started or shut down already."""
    def shutdown(self) -> None:
        """Stops the producer for good (a second call does nothing)."""
    def __enter__(self) -> Producer: ...
    def __exit__(
        self,
        *_args: Union[type[BaseException], BaseException, TracebackType, None],
    ) -> bool: ...
    def __aenter__(self) -> Awaitable[Producer]:
        """`async with Producer(...) as p:` starts the producer without blocking the loop."""
    def __aexit__(
        self,
        *_args: Union[type[BaseException], BaseException, TracebackType, None],
    ) -> Awaitable[bool]:
        """Shuts the producer down at the end of `async with`."""
    def send(
        self,
        message: Message,
        *,
        queue: Optional[MessageQueue] = None,
        sharding_key: Optional[str] = None,
    ) -> SendResult:
        """Sends and waits for the broker's answer; to `queue`, or the queue `sharding_key`
        hashes to, when given."""
    def send_to_queue(self, message: Message, queue: MessageQueue) -> SendResult:
        """Sends to the given queue (one attempt)."""
    def send_with_selector(self, message: Message, selector: Callable[[Message, int], int]) -> SendResult:
        """Sends to the queue `selector(message, queue_count)` picks (an int from 0 to
        queue_count - 1); an exception or any other answer raises InvalidArgumentError and
        nothing is sent."""
    def send_async(
        self,
        message: Message,
        *,
        queue: Optional[MessageQueue] = None,
        sharding_key: Optional[str] = None,
    ) -> asyncio.Future[SendResult]:
        """Sends without blocking; await the returned future (needs a running event loop)."""
    def send_oneway(self, message: Message) -> None:
        """Sends without waiting for any answer."""
    def send_batch(self, messages: Sequence[Message]) -> List[SendResult]:
        """Sends messages of one topic as batches; one SendResult per batch."""
    def request(
        self,
        message: Message,
        *,
        timeout_ms: int = 3000,
        queue: Optional[MessageQueue] = None,
        sharding_key: Optional[str] = None,
    ) -> MessageView:
        """Sends `message` as a request and returns its reply (docs/request-reply.md);
        RequestTimeoutError without a reply within `timeout_ms` (send included)."""
    def request_to_queue(self, message: Message, queue: MessageQueue, *, timeout_ms: int = 3000) -> MessageView:
        """A request to the given queue."""
    def request_with_selector(
        self, message: Message, selector: Callable[[Message, int], int], *, timeout_ms: int = 3000
    ) -> MessageView:
        """A request to the queue `selector(message, queue_count)` picks."""
    def request_async(
        self,
        message: Message,
        *,
        timeout_ms: int = 3000,
        queue: Optional[MessageQueue] = None,
        sharding_key: Optional[str] = None,
    ) -> asyncio.Future[MessageView]:
        """`request` without blocking; await the returned future (needs a running event loop)."""
    def send_reply(self, reply: Message) -> SendResult:
        """Sends a reply built with `Message.reply_to`; InvalidArgumentError for anything else."""
    def metrics(self) -> _ProducerMetrics:
        """Client-side counters since start: sends, messages, send_failures, send_latency."""

class TransactionProducer:
    """A producer of transactional messages."""

    def __init__(
        self,
        namesrv: str,
        group: str,
        execute: Callable[[Message, str], _TransactionAnswer],
        check: Callable[[MessageView], _TransactionAnswer],
        *,
        instance_name: Optional[str] = None,
        send_timeout: Optional[float] = None,
        request_timeout: Optional[float] = None,
        credentials: Optional[_Credentials] = None,
        tls: Union[bool, TlsConfig, None] = None,
        namespace: Optional[str] = None,
        enable_msg_trace: bool = False,
        trace_topic: Optional[str] = None,
    ) -> None:
        """Options as for Producer. With `enable_msg_trace` the sends are traced as a
        Producer's are, and each transaction's end (the local decision, and each answer to a
        check-back with fromTransactionCheck=true) is recorded as an EndTransaction record."""
    @property
    def group(self) -> str:
        """The producer group."""
    def start(self) -> None:
        """Starts the producer; IllegalStateError when started or shut down already."""
    def shutdown(self) -> None:
        """Stops the producer for good (a second call does nothing)."""
    def __enter__(self) -> TransactionProducer: ...
    def __exit__(
        self,
        *_args: Union[type[BaseException], BaseException, TracebackType, None],
    ) -> bool: ...
    def __aenter__(self) -> Awaitable[TransactionProducer]:
        """`async with TransactionProducer(...)` starts the producer without blocking the loop."""
    def __aexit__(
        self,
        *_args: Union[type[BaseException], BaseException, TracebackType, None],
    ) -> Awaitable[bool]:
        """Shuts the producer down at the end of `async with`."""
    def send(self, message: Message) -> TransactionSendResult:
        """Half message, `execute(message, transaction_id)`, then commit or rollback."""
    def metrics(self) -> _ProducerMetrics:
        """Client-side counters since start, as Producer.metrics()."""

class PushConsumer:
    """A push consumer calling `listener(message)` on client threads."""

    def __init__(
        self,
        namesrv: str,
        group: str,
        topic: str,
        expression: Optional[str] = None,
        *,
        sql: Optional[str] = None,
        listener: Callable[[MessageView], _ListenerResult],
        orderly: bool = False,
        broadcasting: bool = False,
        consume_from: Union[ConsumeFrom, str, None] = None,
        consume_timestamp_ms: Optional[int] = None,
        consume_threads: Optional[int] = None,
        consume_batch_size: Optional[int] = None,
        allocation: Optional[str] = None,
        max_reconsume_times: Optional[int] = None,
        instance_name: Optional[str] = None,
        offset_store_dir: Union[str, PathLike[str], None] = None,
        request_timeout: Optional[float] = None,
        credentials: Optional[_Credentials] = None,
        tls: Union[bool, TlsConfig, None] = None,
        namespace: Optional[str] = None,
        enable_msg_trace: bool = False,
        trace_topic: Optional[str] = None,
        consume_timeout: Optional[float] = None,
        suspend_current_queue_time: Optional[float] = None,
        await_termination: Optional[float] = None,
        pull_threshold_for_queue: Optional[int] = None,
        pull_threshold_size_for_queue: Optional[int] = None,
        pull_threshold_for_topic: Optional[int] = None,
        pull_threshold_size_for_topic: Optional[int] = None,
    ) -> None:
        """None takes the core's default: LAST_OFFSET, 20 consume threads, a consume batch
        of 1, "averagely" allocation ("averagelyByCircle", "consistentHash"), 16 redeliveries
        before the DLQ. `consume_timestamp_ms` goes with ConsumeFrom.TIMESTAMP only.
        `enable_msg_trace` records each delivery and the listener's answer in the trace topic
        (`trace_topic`, else RMQ_SYS_TRACE_TOPIC). Times in seconds: `consume_timeout` (900;
        a message whose listener call runs longer is redelivered and its queue moves on; more
        than 0), `suspend_current_queue_time` (1; orderly: the pause before a refused message
        is offered again; 0.01 to 30), `await_termination` (10; how long shutdown() waits for
        listener calls in flight, later ones are abandoned and redelivered). Pulling a queue
        pauses above `pull_threshold_for_queue` cached messages (1000) or
        `pull_threshold_size_for_queue` body bytes (100 MiB); `pull_threshold_for_topic` and
        `pull_threshold_size_for_topic` (bytes), when given, are shared among the queues held
        instead. Invalid values raise InvalidArgumentError."""
    @property
    def group(self) -> str:
        """The consumer group."""
    def start(self) -> None:
        """Joins the group and starts consuming; IllegalStateError when started or shut down
        already."""
    def __aenter__(self) -> Awaitable[PushConsumer]:
        """`async with PushConsumer(...)` starts the consumer without blocking the loop."""
    def __aexit__(
        self,
        *_args: Union[type[BaseException], BaseException, TracebackType, None],
    ) -> Awaitable[bool]:
        """Shuts the consumer down at the end of `async with`."""
    def subscribe(self, topic: str, expression: Optional[str] = None, *, sql: Optional[str] = None) -> None:
        """Adds (or replaces) a subscription of a started consumer."""
    def assigned_queues(self) -> List[MessageQueue]:
        """The queues currently assigned to this member."""
    def metrics(self) -> _ConsumerMetrics:
        """Client-side counters since start: consumed, consume_failures, consume_latency,
        rebalances, the held queues with their lag, total_lag."""
    def shutdown(self) -> None:
        """Stops consuming, waits up to `await_termination` for listener calls in flight,
        commits offsets and leaves the group, for good."""
    def __enter__(self) -> PushConsumer: ...
    def __exit__(
        self,
        *_args: Union[type[BaseException], BaseException, TracebackType, None],
    ) -> bool: ...

class PullConsumer:
    """A lite pull consumer; also a blocking iterator and an async iterator of messages."""

    def __init__(
        self,
        namesrv: str,
        group: str,
        *,
        consume_from: Union[ConsumeFrom, str, None] = None,
        consume_timestamp_ms: Optional[int] = None,
        auto_commit: Optional[bool] = None,
        pull_batch_size: Optional[int] = None,
        iter_timeout: Optional[float] = None,
        instance_name: Optional[str] = None,
        request_timeout: Optional[float] = None,
        credentials: Optional[_Credentials] = None,
        tls: Union[bool, TlsConfig, None] = None,
        namespace: Optional[str] = None,
    ) -> None:
        """None takes the core's default: LAST_OFFSET, auto commit, 10 messages per pull."""
    @property
    def group(self) -> str:
        """The consumer group."""
    def start(self) -> None:
        """Starts the consumer with no queues yet; IllegalStateError when started or shut down
        already."""
    def shutdown(self) -> None:
        """Commits (with auto commit), stops fetching and leaves the group, for good."""
    def __enter__(self) -> PullConsumer: ...
    def __exit__(
        self,
        *_args: Union[type[BaseException], BaseException, TracebackType, None],
    ) -> bool: ...
    def __aenter__(self) -> Awaitable[PullConsumer]:
        """`async with PullConsumer(...) as c:` starts the consumer without blocking the loop."""
    def __aexit__(
        self,
        *_args: Union[type[BaseException], BaseException, TracebackType, None],
    ) -> Awaitable[bool]:
        """Shuts the consumer down at the end of `async with`."""
    def subscribe(self, topic: str, expression: Optional[str] = None, *, sql: Optional[str] = None) -> None:
        """Subscribes to `topic`; the group's members share its queues."""
    def assign(self, queues: Sequence[MessageQueue]) -> None:
        """Reads exactly `queues` (no rebalancing)."""
    def fetch_queues(self, topic: str) -> List[MessageQueue]:
        """The readable queues of `topic`."""
    def assignment(self) -> List[MessageQueue]:
        """The queues currently read."""
    def poll(self, timeout: float = 1.0) -> List[MessageView]:
        """The next batch of one queue, waiting up to `timeout` seconds (empty if none)."""
    def poll_async(self, timeout: float = 1.0) -> asyncio.Future[List[MessageView]]:
        """`poll` as an awaitable."""
    def seek(self, queue: MessageQueue, offset: int) -> None:
        """Continues `queue` from `offset`."""
    def seek_to_begin(self, queue: MessageQueue) -> None:
        """Continues `queue` from its first message."""
    def seek_to_end(self, queue: MessageQueue) -> None:
        """Continues `queue` after its last message."""
    def commit(self) -> None:
        """Stores the consumed offsets on the broker now."""
    def committed(self, queue: MessageQueue) -> Optional[int]:
        """The offset committed on the broker for `queue`."""
    def pause(self, queues: Sequence[MessageQueue]) -> None:
        """Stops fetching `queues`."""
    def resume(self, queues: Sequence[MessageQueue]) -> None:
        """Restarts fetching `queues`."""
    def __iter__(self) -> Iterator[MessageView]: ...
    def __next__(self) -> MessageView: ...
    def __aiter__(self) -> PullConsumer: ...
    def __anext__(self) -> asyncio.Future[MessageView]: ...

class Admin:
    """Admin operations: topics, cluster and route queries, statistics, consumer progress,
    messages by key or id, broker runtime figures."""

    def __init__(
        self,
        namesrv: str,
        *,
        instance_name: Optional[str] = None,
        request_timeout: Optional[float] = None,
        credentials: Optional[_Credentials] = None,
        tls: Union[bool, TlsConfig, None] = None,
    ) -> None:
        """`credentials` and `tls` as for Producer; a file named by `tls` that does not load
        raises InvalidArgumentError here."""
    def create_topic(
        self, topic: str, *, queue_nums: Optional[int] = None, cluster: Optional[str] = None, order: bool = False
    ) -> None:
        """Creates (or updates) `topic` on every master of `cluster` (DefaultCluster) with
        `queue_nums` (8) queues."""
    def cluster_info(self) -> Dict[str, Dict[str, Dict[int, str]]]:
        """`{cluster: {broker_name: {broker_id: address}}}`."""
    def topic_route(self, topic: str) -> List[Dict[str, Union[str, int]]]:
        """The topic's queues per broker."""
    def delete_topic(self, topic: str, *, cluster: Optional[str] = None) -> None:
        """Deletes `topic` from every master of `cluster` (DefaultCluster) and from the name
        servers."""
    def topic_stats(self, topic: str) -> List[Dict[str, Union[str, int]]]:
        """Per queue: topic, broker_name, queue_id, min_offset, max_offset,
        last_update_timestamp."""
    def consumer_progress(self, group: str, topic: str) -> List[Dict[str, Union[str, int]]]:
        """Per queue: topic, broker_name, queue_id, broker_offset, consumer_offset, pull_offset,
        last_timestamp."""
    def query_by_key(self, topic: str, key: str, *, max: int = 32) -> List[MessageView]:
        """The messages of `topic` with `key` among their keys (at most `max` per broker)."""
    def view_by_offset_id(self, offset_msg_id: str) -> MessageView:
        """The message with broker id `offset_msg_id` (SendResult.offset_msg_id)."""
    def broker_runtime_info(self, broker_addr: str) -> Dict[str, str]:
        """The runtime figures of the broker at `broker_addr` (putTps, brokerVersionDesc, ...)."""
    def shutdown(self) -> None:
        """Releases the connections; later calls raise IllegalStateError."""
    def __enter__(self) -> Admin: ...
    def __exit__(
        self,
        *_args: Union[type[BaseException], BaseException, TracebackType, None],
    ) -> bool: ...
