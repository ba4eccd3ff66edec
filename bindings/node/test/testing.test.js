'use strict'
// `require('ferromq/testing').LocalCluster` against the real servers (FERROMQ_BIN_DIR, set by
// ci.sh): readiness, a broker killed and restarted on its store, clean stops, the dispose
// protocol, bad options, the error when no servers are found, and no servers left behind when
// the test process exits without stopping its cluster.

const { describe, it, before, after } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const net = require('node:net')
const os = require('node:os')
const path = require('node:path')
const { execFile } = require('node:child_process')

const { Admin, Producer, PullConsumer } = require('..')
const { LocalCluster } = require('../testing')
const { waitFor, fresh } = require('../../../tests/js/servers.js')

const TESTING = path.resolve(__dirname, '..', 'testing.js')

/** Whether 127.0.0.1:port accepts a TCP connection. */
function accepts(addr) {
  const [host, port] = addr.split(':')
  return new Promise((resolve) => {
    const s = net.connect({ host, port: Number(port) })
    s.once('connect', () => { s.destroy(); resolve(true) })
    s.once('error', () => resolve(false))
  })
}

/** Runs `node -e code` with `env`; resolves with { code, stdout, stderr }. */
function nodeEval(code, env) {
  return new Promise((resolve) => {
    execFile(process.execPath, ['-e', code], { env, timeout: 120000 }, (err, stdout, stderr) =>
      resolve({ code: err ? err.code : 0, stdout, stderr }))
  })
}

describe('LocalCluster', () => {
  let cluster
  let admin
  before(async () => {
    cluster = await LocalCluster.start({ brokers: 1, brokerConfig: ['enablePropertyFilter=true'] })
    admin = new Admin(cluster.client)
  })
  after(async () => {
    if (admin) await admin.shutdown()
    if (cluster) await cluster.stop()
  })

  it('is ready when start resolves: the name server lists the broker', async () => {
    assert.match(cluster.namesrvAddr, /^127\.0\.0\.1:\d+$/)
    assert.deepEqual(cluster.client, { namesrvAddr: cluster.namesrvAddr })
    assert.equal(cluster.brokerCount, 1)
    assert.ok(['bundled', 'FERROMQ_BIN_DIR', 'PATH'].includes(cluster.binaries.source), cluster.binaries.source)
    assert.ok(fs.existsSync(cluster.binaries.broker))
    const b = cluster.broker(0)
    assert.equal(b.brokerName, 'broker-a')
    assert.equal(b.brokerId, 0)
    assert.equal(b.addr, `127.0.0.1:${b.port}`)
    assert.equal(b.running, true)
    // No waiting: the broker is listed already.
    const info = await admin.clusterInfo()
    assert.deepEqual(info.clusters.DefaultCluster, ['broker-a'])
    assert.equal(info.brokers[0].addrs['0'], b.addr)
    // brokerConfig lines reach the broker's properties file.
    const props = fs.readFileSync(path.join(b.dir, 'broker.properties'), 'utf8')
    assert.match(props, /^enablePropertyFilter=true$/m)
  })

  it('a killed broker restarts on its store and keeps its messages', async () => {
    const topic = fresh('LcRestart')
    await admin.createTopic(topic, { queueNums: 1 })
    await waitFor('the route', 20000, () => admin.topicRoute(topic).then(() => true, () => false))
    const producer = new Producer({ ...cluster.client, group: fresh('p') })
    await producer.start()
    try {
      assert.equal((await producer.send({ topic, body: 'before the kill' })).status, 'SEND_OK')
    } finally {
      await producer.shutdown()
    }
    const b = cluster.broker(0)
    // SIGKILL keeps what the broker wrote to its mapped files (the kernel owns the pages).
    await b.kill()
    assert.equal(b.running, false)
    assert.equal(await accepts(b.addr), false)
    await b.restart()
    assert.equal(b.running, true)
    assert.equal(await accepts(b.addr), true)

    const consumer = new PullConsumer({ ...cluster.client, group: fresh('g'), consumeFrom: 'firstOffset' })
    await consumer.start()
    await consumer.subscribe(topic)
    try {
      const got = await waitFor('the message after the restart', 30000, async () => {
        const batch = await consumer.poll(1000)
        return batch.length ? batch : null
      })
      assert.deepEqual(got.map((m) => m.body.toString()), ['before the kill'])
    } finally {
      await consumer.shutdown()
    }
  })

  it('addConfig applies from the next restart', async () => {
    const b = cluster.broker(0)
    b.addConfig('brokerPermission=6')
    await b.restart()
    assert.match(fs.readFileSync(path.join(b.dir, 'broker.properties'), 'utf8'), /brokerPermission=6\n$/)
    assert.throws(() => b.addConfig('no equals sign'), /key=value/)
  })

  it('broker(i) out of range and slave() without slaves are clear errors', () => {
    assert.throws(() => cluster.broker(1), /no broker 1 \(the cluster has 1\)/)
    assert.throws(() => cluster.slave(0), /started without slaves/)
  })
})

describe('LocalCluster lifecycle', () => {
  it('stop() stops the servers and deletes the directory; Symbol.asyncDispose does too', async () => {
    const c = await LocalCluster.start()
    const { dir, namesrvAddr } = c
    const b = c.broker()
    const brokerAddr = b.addr
    assert.equal(typeof c[Symbol.asyncDispose], 'function')
    await c[Symbol.asyncDispose]()
    assert.equal(c.stopped, true)
    assert.equal(fs.existsSync(dir), false)
    assert.equal(await accepts(namesrvAddr), false)
    assert.equal(await accepts(brokerAddr), false)
    assert.equal(b.running, false)
    await assert.rejects(b.restart(), /the cluster is stopped/)
    await c.stop() // a second stop does nothing
  })

  it('a broker stopped cleanly leaves the name server listing', async () => {
    const c = await LocalCluster.start()
    const admin = new Admin(c.client)
    try {
      await c.broker(0).stop()
      assert.equal(c.broker(0).running, false)
      await waitFor('the broker to unregister', 20000, async () => {
        const info = await admin.clusterInfo()
        return info.brokers.length === 0
      })
    } finally {
      await admin.shutdown()
      await c.stop()
    }
  })

  it('two brokers side by side', async () => {
    const c = await LocalCluster.start({ brokers: 2 })
    const admin = new Admin(c.client)
    try {
      const info = await admin.clusterInfo()
      assert.deepEqual([...info.clusters.DefaultCluster].sort(), ['broker-a', 'broker-b'])
      assert.notEqual(c.broker(0).port, c.broker(1).port)
    } finally {
      await admin.shutdown()
      await c.stop()
    }
  })

  it('servers of a process that exits without stop() are killed and the directory deleted', async () => {
    const code = `
      const { LocalCluster } = require(${JSON.stringify(TESTING)})
      LocalCluster.start().then((c) => {
        console.log(JSON.stringify({ dir: c.dir, ns: c.namesrvAddr, broker: c.broker().addr }))
        process.exit(0)
      }, (e) => { console.error(e); process.exit(3) })`
    const r = await nodeEval(code, process.env)
    assert.equal(r.code, 0, r.stderr)
    const { dir, ns, broker } = JSON.parse(r.stdout.trim().split('\n').pop())
    assert.equal(fs.existsSync(dir), false)
    assert.equal(await accepts(ns), false)
    assert.equal(await accepts(broker), false)
  })
})

describe('LocalCluster errors', () => {
  it('refuses unknown options, bad counts and malformed config lines', async () => {
    await assert.rejects(LocalCluster.start({ broker: 2 }), /unknown option 'broker'/)
    await assert.rejects(LocalCluster.start({ brokers: 0 }), /brokers must be an integer >= 1/)
    await assert.rejects(LocalCluster.start({ brokerConfig: 'a=b' }), /brokerConfig must be an array/)
    await assert.rejects(LocalCluster.start({ namesrvConfig: ['listenPort'] }), /namesrvConfig must be an array of 'key=value'/)
    await assert.rejects(LocalCluster.start(null), /options must be an object/)
    assert.throws(() => new LocalCluster({}), /LocalCluster\.start/)
  })

  it('no servers anywhere: the error lists where it looked and what to install', async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'ferromq-no-servers-'))
    try {
      const env = { ...process.env, PATH: empty }
      delete env.FERROMQ_BIN_DIR
      const code = `
        require(${JSON.stringify(TESTING)}).LocalCluster.start({ bundledBinDir: ${JSON.stringify(empty)} })
          .then(() => process.exit(0), (e) => { console.error(e.message); process.exit(4) })`
      const r = await nodeEval(code, env)
      assert.equal(r.code, 4, r.stderr)
      assert.match(r.stderr, /mqnamesrv and mqbroker not found/)
      assert.ok(r.stderr.includes(`the package's own servers, ${empty}: neither`), r.stderr)
      assert.match(r.stderr, /FERROMQ_BIN_DIR: not set/)
      assert.match(r.stderr, /PATH \(1 directories\): neither/)
      assert.match(r.stderr, /FERROMQ_BIN_DIR=<its bin\/ directory>/)
    } finally {
      fs.rmSync(empty, { recursive: true, force: true })
    }
  })
})
