// Compiled with `tsc --noEmit` by test/types.test.js against the generated declarations of both
// flavours: the package's API as a TypeScript user writes it must type-check.
import init, {
  Admin, Producer, PushConsumer, PullConsumer, decodeMessages, encodeMessage, sql92Matches,
  sql92Outcome, tagHashCode, TransactionProducer, createReply, type FerroMQError, type TransactionSendResult, type ReceivedMessage, type SendResult,
  type ListenerResult, type MessageListener, type Credentials, type QueueSelector, type ClusterInfo, type QueueStats, type QueueProgress,
  type ProducerMetrics, type ConsumerMetrics, type QueueLag,
} from '../../pkg/web/ferromq_wasm.js'

export async function demo(): Promise<void> {
  await init()
  const admin = new Admin({ namesrvAddr: 'ws://127.0.0.1:9877/' })
  await admin.createTopic('Orders', { queueNums: 4 })
  const route = await admin.topicRoute('Orders')
  const writable: number = route.queues[0].writeQueueNums + route.queues[0].perm
  const info: ClusterInfo = await admin.clusterInfo()
  const members: string[] = info.clusters[info.brokers[0].cluster]
  const stats: QueueStats[] = await admin.topicStats('Orders')
  const progress: QueueProgress[] = await admin.consumerProgress('g', 'Orders')
  const byKey: ReceivedMessage[] = await admin.queryByKey('Orders', 'k', members.length + stats.length + progress.length)
  if (byKey.length) await admin.viewMessage(byKey[0].offsetMsgId)
  await admin.deleteTopic('Old', 'DefaultCluster')
  await admin.deleteTopic('Older')
  const producer = new Producer({ namesrvAddr: 'ws://127.0.0.1:9877/', group: 'p', retryTimes: 1 })
  const credentials: Credentials = { accessKey: 'app-orders', secretKey: 'change-me-0f2a9c', securityToken: undefined }
  await new Producer({ namesrvAddr: 'wss://ns.example.com:9877/', group: 'signed', credentials }).shutdown()
  await producer.start()
  const r: SendResult = await producer.send({ topic: 'Orders', body: 'x', tag: 'A', keys: ['k'], properties: { a: 1 }, deliverAt: Date.now() + 1000 })
  const offset: number = r.queueOffset + writable
  await producer.sendWithShardingKey({ topic: 'Orders', body: new Uint8Array([1]) }, 'key')
  await producer.sendOneway({ topic: 'Orders', body: 'y', delayLevel: 2, shardingKey: 'k' })
  const batch: SendResult[] = await producer.sendBatch([{ topic: 'Orders', body: 'z' }])
  const last: QueueSelector = (m, queueCount) => (m.text().length > 0 ? queueCount - 1 : 0)
  await producer.sendWithSelector({ topic: 'Orders', body: 's' }, last)
  const reply: ReceivedMessage = await producer.request({ topic: 'Rpc', body: 'ping' }, 3000)
  const answered: SendResult = await producer.sendReply(createReply(reply, `pong:${reply.text()}`))
  if (answered.queueOffset < 0) return
  const consumer = new PushConsumer({ namesrvAddr: 'ws://127.0.0.1:9877/', group: 'g', consumeFrom: 'firstOffset', orderly: true, allocation: 'consistentHash', consumeBatchSize: 4, consumeThreads: 2 })
  await consumer.subscribe('Orders', { sql92: 'a > 1' })
  await consumer.subscribe('Other', 'A || B')
  consumer.onMessage((m: ReceivedMessage) => (m.text().length > offset + batch.length ? undefined : 'reconsumeLater'))
  await consumer.start()
  const answers: ListenerResult[] = [undefined, null, true, false, 'success', 'reconsumeLater']
  const listener: MessageListener = async (m) => answers[m.queueOffset % answers.length]
  const other = new PushConsumer({ namesrvAddr: 'ws://127.0.0.1:9877/', group: 'g3' })
  await other.start(listener)
  await other.shutdown()
  const pull = new PullConsumer({ namesrvAddr: 'ws://127.0.0.1:9877/', group: 'g2' })
  await pull.subscribe('Orders', undefined)
  await pull.start()
  for await (const m of pull) {
    const tag: string | null = m.tag
    if (tag) break
  }
  const [q] = await pull.fetchQueues('Orders')
  await pull.assign([q])
  await pull.seek(q, 0)
  await pull.seekToBegin(q)
  await pull.seekToEnd(q)
  pull.pause([q])
  pull.resume(pull.assignment())
  const committed: number | null = await pull.committed(q)
  const next: ReceivedMessage | null = await pull.nextMessage(100)
  const polled: ReceivedMessage[] = await pull.poll(committed ?? (next ? 1 : 500))
  const bytes: Uint8Array = encodeMessage({ topic: 'T', body: 'b', queueId: polled.length })
  const decoded: ReceivedMessage[] = decodeMessages(bytes)
  const ok: boolean = sql92Matches('a > 1', { a: '2' }) && sql92Outcome('a > 1', {}) === 'UNKNOWN'
  const hash: number = tagHashCode('TagA') + decoded.length + (ok ? 1 : 0)
  try {
    await producer.send({ topic: 'bad topic', body: String(hash) })
  } catch (e) {
    const err = e as FerroMQError
    if (err.code === 'InvalidArgument' && !err.retryable) console.log(err.operation)
  }
  const tp = new TransactionProducer({ namesrvAddr: 'ws://127.0.0.1:9877/', group: 'tx' })
  await tp.start({ execute: (m, id) => (m.text() === id ? 'commit' : 'unknown'), check: (m) => (m.tag ? 'rollback' : 'commit') })
  const tr: TransactionSendResult = await tp.send({ topic: 'Orders', body: 'tx' })
  const sent: ProducerMetrics = producer.metrics()
  const consumed: ConsumerMetrics = consumer.metrics()
  const lags: QueueLag[] = consumed.queues.filter((q) => q.lag > 0 && q.brokerName.length > 0)
  const p99: number = sent.sendLatency.boundsMs[sent.sendLatency.counts.length - 2] + tp.metrics().sends
  console.log(sent.sends + sent.messages + sent.sendFailures + consumed.consumed + consumed.consumeFailures + consumed.rebalances + consumed.totalLag + lags.length + p99 + consumed.consumeLatency.sumMs)
  if (tr.state === 'commit') await tp.shutdown()
  await consumer.shutdown()
  await pull.shutdown()
  await producer.shutdown()
  await admin.shutdown()
}
