'use strict'
// Awaited sends are polled on the JavaScript thread and settled through one shared line to it
// (src/promise.rs). Against a real name server and broker: many sends in flight each settle
// with their own result, errors still reject with the binding's codes, and a pending send keeps
// the process alive (while an idle producer does not).

const { describe, it, before, after } = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { execFile } = require('node:child_process')

const { Producer, ErrorCode } = require('..')
const { startReadyCluster, fresh } = require('./cluster')

describe('awaited sends settled on the JavaScript thread', () => {
  let ready
  let producer

  before(async () => {
    ready = await startReadyCluster()
    producer = new Producer({ namesrvAddr: ready.cluster.namesrvAddr, group: fresh('p') })
    await producer.start()
  })

  after(async () => {
    if (producer) await producer.shutdown()
    if (ready) await ready.stop()
  })

  it('300 sends in flight each resolve with their own result', async () => {
    const topic = fresh('inflight')
    await ready.createTopic(topic, 4)
    const results = await Promise.all(Array.from({ length: 300 }, (_, i) => producer.send({ topic, body: `m${i}` })))
    assert.equal(new Set(results.map((r) => r.msgId)).size, 300)
    const offsets = new Set(results.map((r) => `${r.queue.queueId}/${r.queueOffset}`))
    assert.equal(offsets.size, 300, 'each message at its own queue offset')
    assert.ok(results.every((r) => r.status === 'SEND_OK' && r.queue.topic === topic))
  })

  it('failures reject with the binding codes, alongside sends that succeed', async () => {
    const topic = fresh('mixed')
    await ready.createTopic(topic, 1)
    const settled = await Promise.allSettled([
      producer.send({ topic, body: 'ok' }),
      producer.send({ topic: 'bad topic!', body: 'x' }),
      producer.sendToQueue({ topic, body: 'ok too' }, { topic, brokerName: 'no-such-broker', queueId: 0 }),
      new Producer({ namesrvAddr: ready.cluster.namesrvAddr }).send({ topic, body: 'x' }),
    ])
    assert.equal(settled[0].status, 'fulfilled')
    assert.equal(settled[1].reason.code, ErrorCode.InvalidArgument)
    assert.equal(settled[2].status, 'rejected')
    assert.ok(typeof settled[2].reason.code === 'string' && settled[2].reason.code !== ErrorCode.IllegalState, settled[2].reason.message)
    assert.equal(settled[3].reason.code, ErrorCode.IllegalState)
  })

  it('a pending send keeps the process alive until it settles; an idle producer does not', async () => {
    const topic = fresh('alive')
    await ready.createTopic(topic, 1)
    // Nothing but the send's Promise is pending once it is made: the child must still print
    // the result (the line is referenced while a Promise is pending), then exit by itself
    // without a shutdown (unreferenced again once idle).
    const script = `
      const { Producer } = require(${JSON.stringify(path.join(__dirname, '..'))})
      const p = new Producer({ namesrvAddr: ${JSON.stringify(ready.cluster.namesrvAddr)}, group: 'alive_${Date.now()}' })
      p.start().then(() => {
        p.send({ topic: ${JSON.stringify(topic)}, body: 'x' }).then((r) => console.log('sent', r.status))
      })
    `
    const out = await new Promise((resolve, reject) => {
      execFile(process.execPath, ['-e', script], { timeout: 30000 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`${err.message}\n${stderr}`))
        else resolve(stdout)
      })
    })
    assert.match(out, /^sent SEND_OK$/m)
  })
})
