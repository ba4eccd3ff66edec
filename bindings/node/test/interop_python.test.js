'use strict'
// Interop between the two bindings through a FerroMQ broker: messages produced from Node are
// consumed by the Python package, and the other way round, with tags, keys, properties (non-ASCII
// included), bodies and msgIds intact. Uses the Python package built by bindings/python/ci.sh
// (its venv, bindings/python/.venv), so run this suite after that script; skipped when it is
// missing, unless FERROMQ_COMPAT_REQUIRED=1 or FERROMQ_NODE_INTEROP_REQUIRED=1.

const { describe, it, before, after } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { execFile, execFileSync } = require('node:child_process')

const { Producer, PushConsumer } = require('..')
const { startReadyCluster, waitFor, fresh, REPO } = require('./cluster')

const PYTHON = process.env.FERROMQ_PYTHON || path.join(REPO, 'bindings', 'python', '.venv', 'bin', 'python')
const PEER = path.join(__dirname, 'python_peer.py')

function pythonMissing() {
  if (!fs.existsSync(PYTHON)) return `no Python venv at ${PYTHON} (run bindings/python/ci.sh first)`
  try {
    execFileSync(PYTHON, ['-c', 'import ferromq'], { stdio: 'ignore' })
  } catch (e) {
    return 'the ferromq Python package is not installed in that venv'
  }
  return false
}

const missing = pythonMissing()
const required = process.env.FERROMQ_COMPAT_REQUIRED === '1' || process.env.FERROMQ_NODE_INTEROP_REQUIRED === '1'
if (missing && required) throw new Error(`interop with Python: ${missing}`)

function python(args) {
  return new Promise((resolve, reject) => {
    execFile(PYTHON, [PEER, ...args], { timeout: 90000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
      err ? reject(new Error(`python ${args[0]}: ${err.message}\n${stdout}\n${stderr}`)) : resolve(stdout))
  })
}

const jsonLines = (out) => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l))

describe('interop with the Python package', { skip: missing }, () => {
  let ready
  let cluster
  before(async () => {
    ready = await startReadyCluster()
    cluster = ready.cluster
  })
  after(async () => {
    if (ready) await ready.stop()
  })

  it('Node produces, Python consumes: tag, keys, properties and bodies intact', async () => {
    const topic = fresh('n2py')
    await ready.createTopic(topic, 4)
    const producer = new Producer({ namesrvAddr: cluster.namesrvAddr, group: fresh('n2pyp') })
    await producer.start()
    const N = 6
    const ids = []
    try {
      for (let i = 0; i < N; i++) {
        const r = await producer.send({ topic, body: `from node ${i}`, tag: 'TagNode', keys: [`nk-${i}`, 'nkg'], properties: { idx: String(i), note: `nü€中-${i}` } })
        ids.push(r.msgId)
      }
    } finally {
      await producer.shutdown()
    }
    const got = jsonLines(await python(['consume', cluster.namesrvAddr, topic, String(N), fresh('n2pyc')]))
    assert.equal(got.length, N)
    for (const m of got) {
      const i = Number(m.properties.idx)
      assert.equal(m.topic, topic)
      assert.equal(m.body, `from node ${i}`)
      assert.equal(m.tag, 'TagNode')
      assert.deepEqual(m.keys, [`nk-${i}`, 'nkg'])
      assert.equal(m.properties.note, `nü€中-${i}`)
      assert.equal(m.msgId, ids[i])
    }
  })

  it('Python produces, Node consumes: tag, keys, properties and bodies intact', async () => {
    const topic = fresh('py2n')
    await ready.createTopic(topic, 4)
    const N = 6
    const sent = jsonLines(await python(['produce', cluster.namesrvAddr, topic, String(N)])).map((r) => r.msgId)
    assert.equal(sent.length, N)
    const received = []
    const consumer = new PushConsumer({ namesrvAddr: cluster.namesrvAddr, group: fresh('py2nc'), consumeFrom: 'firstOffset' })
    await consumer.subscribe(topic)
    await consumer.start((m) => { received.push(m) })
    try {
      await waitFor('every Python message', 30000, () => received.length >= N)
    } finally {
      await consumer.shutdown()
    }
    assert.equal(received.length, N)
    for (const m of received) {
      const i = Number(m.properties.idx)
      assert.equal(m.body.toString(), `from python ${i}`)
      assert.equal(m.tag, 'TagPy')
      assert.deepEqual(m.keys, [`pk-${i}`, 'pkg'])
      assert.equal(m.properties.note, `pü€中-${i}`)
      assert.equal(m.msgId, sent[i])
    }
  })
})
