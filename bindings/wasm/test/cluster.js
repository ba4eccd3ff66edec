'use strict'
// Starts the real FerroMQ name server and broker (target/debug/mqnamesrv, target/debug/mqbroker,
// or FERROMQ_BIN_DIR) on free loopback ports, both with a WebSocket port, and a temporary data
// directory; loads the built package (bindings/wasm/pkg, Node flavour) with `ws` as the global
// WebSocket.

const { spawn } = require('node:child_process')
const fs = require('node:fs')
const net = require('node:net')
const os = require('node:os')
const path = require('node:path')

const REPO = path.resolve(__dirname, '..', '..', '..')
const BIN_DIR = process.env.FERROMQ_BIN_DIR || path.join(REPO, 'target', 'debug')
const PKG = path.resolve(__dirname, '..', 'pkg')

// Node 20 has no global WebSocket: the package uses whatever `globalThis.WebSocket` is.
if (typeof globalThis.WebSocket === 'undefined') globalThis.WebSocket = require('ws')

/** The package built by build.sh (its Node flavour). */
function load() {
  return require(PKG)
}

// Servers still running when this process exits (a crash, an interrupted run) die with it.
const running = new Set()
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL')
})

/** Resolves when `port` on 127.0.0.1 can be bound (and releases it). */
function canBind(port) {
  return new Promise((resolve) => {
    const s = net.createServer()
    s.once('error', () => resolve(false))
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)))
  })
}

const taken = new Set()
/** A free port p with p-2, p+1 and p+2 free too (fast port, HA port, WebSocket port). */
async function freePorts() {
  for (let i = 0; i < 200; i++) {
    const p = 20000 + Math.floor(Math.random() * 40000)
    const all = [p - 2, p, p + 1, p + 2]
    if (all.some((x) => taken.has(x))) continue
    let ok = true
    for (const x of all) if (!(await canBind(x))) ok = false
    if (ok) {
      all.forEach((x) => taken.add(x))
      return p
    }
  }
  throw new Error('no free ports')
}

/** Starts `bin -c conf` and resolves once a stdout line contains "boot success". */
function startServer(bin, conf, logFile, timeoutMs = 30000) {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(BIN_DIR, bin), ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] })
    running.add(child)
    child.once('exit', () => running.delete(child))
    const log = fs.createWriteStream(logFile)
    let out = ''
    let done = false
    const timer = setTimeout(() => finish(new Error(`${bin} did not boot within ${timeoutMs} ms`)), timeoutMs)
    function finish(err) {
      if (done) return
      done = true
      clearTimeout(timer)
      if (err) {
        child.kill('SIGKILL')
        reject(err)
      } else resolve(child)
    }
    child.stdout.on('data', (d) => {
      log.write(d)
      out += d
      if (out.includes('boot success')) finish()
    })
    child.stderr.on('data', (d) => log.write(d))
    child.once('error', finish)
    child.once('exit', (code) => finish(new Error(`${bin} exited with ${code} before booting (log: ${logFile})`)))
  })
}

function stop(child) {
  return new Promise((resolve) => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return resolve()
    const t = setTimeout(() => child.kill('SIGKILL'), 5000)
    child.once('exit', () => {
      clearTimeout(t)
      resolve()
    })
    child.kill('SIGTERM')
  })
}

/** Polls `check` every 50 ms until it returns a truthy value; throws after `timeoutMs`. */
async function waitFor(what, timeoutMs, check) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await check()
    if (v) return v
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

const RUN = `${process.pid}${Date.now().toString(36)}`
let seq = 0
/** A fresh name for a topic or group of this run. */
function fresh(prefix) {
  seq += 1
  return `${prefix}_${RUN}_${seq}`
}

/**
 * A name server and a broker on free ports, both serving WebSocket too. `namesrvAddr` is the
 * TCP address (for native clients), `namesrvWs` the WebSocket URL (for this package). The
 * broker is set up for tests: SQL92 filtering on, short delay levels (level 2 stays 5 s as in
 * Apache; every other level is 1 s so retries come quickly). `brokerWebSocket: false` starts
 * the broker without a WebSocket port.
 */
async function startCluster({ brokerWebSocket = true } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferromq-wasm-test-'))
  const nsPort = await freePorts()
  const nsWs = nsPort + 2
  const nsConf = path.join(dir, 'namesrv.properties')
  fs.writeFileSync(
    nsConf,
    [
      `listenPort=${nsPort}`,
      `webSocketListenPort=${nsWs}`,
      `kvConfigPath=${path.join(dir, 'kvConfig.json')}`,
      `configStorePath=${path.join(dir, 'namesrv.conf')}`,
      '',
    ].join('\n'),
  )
  const namesrv = await startServer('mqnamesrv', nsConf, path.join(dir, 'namesrv.log'))
  const namesrvAddr = `127.0.0.1:${nsPort}`
  let broker
  const port = await freePorts()
  const brokerConf = path.join(dir, 'broker.properties')
  let starts = 0
  async function startBroker(wsPort) {
    const levels = ['1s', '5s', ...Array(16).fill('1s')].join(' ')
    fs.writeFileSync(
      brokerConf,
      [
        'brokerClusterName=DefaultCluster',
        'brokerName=wasm-broker-a',
        'brokerIP1=127.0.0.1',
        `listenPort=${port}`,
        wsPort ? `webSocketListenPort=${wsPort}` : '',
        `namesrvAddr=${namesrvAddr}`,
        `storePathRootDir=${path.join(dir, 'store')}`,
        'mappedFileSizeCommitLog=16777216',
        'enablePropertyFilter=true',
        `messageDelayLevel=${levels}`,
        'transactionCheckInterval=1000',
        'transactionTimeOut=1000',
        '',
      ].join('\n'),
    )
    starts += 1
    return startServer('mqbroker', brokerConf, path.join(dir, `broker-${starts}.log`))
  }
  try {
    broker = await startBroker(brokerWebSocket ? port + 2 : 0)
  } catch (e) {
    await stop(namesrv)
    throw e
  }
  return {
    namesrvAddr,
    namesrvWs: `ws://127.0.0.1:${nsWs}/`,
    brokerAddr: `127.0.0.1:${port}`,
    brokerWs: brokerWebSocket ? `ws://127.0.0.1:${port + 2}/` : null,
    dir,
    /** Restarts the broker (same store and TCP port) with its WebSocket on another port. */
    async restartBroker() {
      await stop(broker)
      const other = await freePorts()
      broker = await startBroker(other)
      this.brokerWs = `ws://127.0.0.1:${other}/`
    },
    async stop() {
      await stop(broker)
      await stop(namesrv)
      fs.rmSync(dir, { recursive: true, force: true })
    },
  }
}

/**
 * A cluster and this package's `Admin` on it, once the broker has registered (a topic can be
 * created). `createTopic(topic, queueNums)` waits for the route; `stop()` shuts both down.
 */
async function startReadyCluster(opts) {
  const { Admin } = load()
  const cluster = await startCluster(opts)
  const admin = new Admin({ namesrvAddr: cluster.namesrvWs })
  await waitFor('the broker to register', 20000, async () => {
    try {
      await admin.createTopic(fresh('warmup'), { queueNums: 1 })
      return true
    } catch (e) {
      return false
    }
  })
  return {
    cluster,
    admin,
    async createTopic(topic, queueNums) {
      await admin.createTopic(topic, { queueNums })
      await waitFor('the route', 20000, async () => admin.topicRoute(topic).then(() => true, () => false))
    },
    async stop() {
      await admin.shutdown()
      await cluster.stop()
    },
  }
}

module.exports = { startCluster, startReadyCluster, waitFor, fresh, load, REPO, BIN_DIR, PKG }
