'use strict'
// Interop with the official Apache RocketMQ Java client (5.3.3) through a FerroMQ broker:
// messages produced from Node are read by Java with tags, keys and properties intact, and the
// other way round. Uses the Java programs of tests/compat (built by Maven for the Rust compat
// tests: `mvn -q -B -f tests/compat/pom.xml compile dependency:copy-dependencies
// -DincludeScope=runtime`, so run this suite after `cargo test`); skipped when they or `java`
// are missing, unless FERROMQ_COMPAT_REQUIRED=1 (set on CI) or FERROMQ_NODE_INTEROP_REQUIRED=1.

const { describe, it, before, after } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { execFile, execFileSync } = require('node:child_process')

const { Producer, PushConsumer } = require('..')
const { startReadyCluster, waitFor, fresh, REPO } = require('./cluster')

const JAVA_DIR = path.join(REPO, 'tests', 'compat', 'java', 'target')
const CLASSPATH = `${path.join(JAVA_DIR, 'classes')}:${path.join(JAVA_DIR, 'dependency')}/*`

function javaMissing() {
  if (!fs.existsSync(path.join(JAVA_DIR, 'classes', 'org', 'ferromq', 'compat', 'StoreConsume.class'))) {
    return 'the Java compat programs are not built (tests/compat, Maven)'
  }
  try {
    execFileSync('java', ['-version'], { stdio: 'ignore' })
  } catch (e) {
    return 'java not found'
  }
  return false
}

const missing = javaMissing()
const required = process.env.FERROMQ_COMPAT_REQUIRED === '1' || process.env.FERROMQ_NODE_INTEROP_REQUIRED === '1'
if (missing && required) throw new Error(`interop: ${missing}`)

function java(program, args) {
  return new Promise((resolve, reject) => {
    execFile('java', ['-Dcompat.timeoutMs=60000', '-cp', CLASSPATH, `org.ferromq.compat.${program}`, ...args], { timeout: 90000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${program}: ${err.message}\n${stdout}\n${stderr}`)) : resolve(stdout))
  })
}

describe('interop with the Java client', { skip: missing }, () => {
  let ready
  let cluster
  before(async () => {
    ready = await startReadyCluster()
    cluster = ready.cluster
  })
  after(async () => {
    if (ready) await ready.stop()
  })

  it('Node produces, Java consumes: tag, keys and properties intact', async () => {
    const topic = fresh('n2j')
    await ready.createTopic(topic, 4)
    const producer = new Producer({ namesrvAddr: cluster.namesrvAddr, group: fresh('n2jp') })
    await producer.start()
    const N = 5
    const ids = []
    try {
      for (let i = 0; i < N; i++) {
        const r = await producer.send({ topic, body: `from node ${i}`, tag: 'TagNode', keys: [`nk-${i}`, 'nkg'], properties: { idx: String(i), note: `nü€中-${i}` } })
        ids.push(r.msgId)
      }
    } finally {
      await producer.shutdown()
    }
    const out = await java('StoreConsume', [cluster.namesrvAddr, topic, String(N)])
    assert.match(out, new RegExp(`OK: received ${N}`))
    const recv = out.split('\n').filter((l) => l.startsWith('RECV\t')).map((l) => Object.fromEntries(l.split('\t').slice(1).map((f) => {
      const eq = f.indexOf('=')
      return [f.slice(0, eq), f.slice(eq + 1)]
    })))
    assert.equal(recv.length, N)
    for (const m of recv) {
      const i = Number(m['p.idx'])
      assert.equal(m['p.TAGS'], 'TagNode')
      assert.equal(m['p.KEYS'], `nk-${i} nkg`)
      assert.equal(m['p.note'], `nü€中-${i}`)
      assert.equal(m.msgId, ids[i])
      assert.equal(Number(m.len), Buffer.byteLength(`from node ${i}`))
    }
  })

  it('Java produces, Node consumes: tag, keys, properties and bodies intact', async () => {
    const topic = fresh('j2n')
    const N = 6
    const out = await java('StoreProduce', [cluster.namesrvAddr, topic, String(N)])
    assert.match(out, new RegExp(`OK: sent ${N}`))
    const sent = new Map(out.split('\n').filter((l) => l.startsWith('SENT\t')).map((l) => {
      const [, i, , , , msgId] = l.split('\t')
      return [Number(i), msgId]
    }))
    const received = []
    const consumer = new PushConsumer({ namesrvAddr: cluster.namesrvAddr, group: fresh('j2nc'), consumeFrom: 'firstOffset' })
    await consumer.subscribe(topic)
    await consumer.start((m) => { received.push(m) })
    try {
      await waitFor('every Java message', 30000, () => received.length >= N)
    } finally {
      await consumer.shutdown()
    }
    assert.equal(received.length, N)
    for (const m of received) {
      const i = Number(m.properties.idx)
      assert.equal(m.tag, ['TagA', 'TagB', 'TagC'][i % 3])
      assert.deepEqual(m.keys, [`SK-${i}`, `SKG-${i % 5}`])
      assert.equal(m.properties.note, `nü€中-${i}`)
      assert.equal(m.body.length, Number(m.properties.size))
      assert.equal(m.msgId, sent.get(i))
    }
  })
})
