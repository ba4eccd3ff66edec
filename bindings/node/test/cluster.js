'use strict'
// Starts the real FerroMQ name server and broker (target/debug/mqnamesrv, target/debug/mqbroker,
// or FERROMQ_BIN_DIR) on free loopback ports with a temporary data directory, for the tests.

const { spawn } = require('node:child_process')
const fs = require('node:fs')
const net = require('node:net')
const os = require('node:os')
const path = require('node:path')

const REPO = path.resolve(__dirname, '..', '..', '..')
const BIN_DIR = process.env.FERROMQ_BIN_DIR || path.join(REPO, 'target', 'debug')

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

/** A free port p with p-2 and p+1 free too (the broker's fast port and HA port). */
async function freeBrokerPort() {
  for (let i = 0; i < 200; i++) {
    const p = 20000 + Math.floor(Math.random() * 40000)
    if ((await canBind(p - 2)) && (await canBind(p)) && (await canBind(p + 1))) return p
  }
  throw new Error('no free port triple')
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

/**
 * A name server and a broker on free ports; `namesrvAddr` to connect, `stop()` at the end.
 * The broker is set up for tests: SQL92 filtering on, short delay levels (level 2 stays 5 s as
 * in Apache; every other level is 1 s so retries come quickly), fast transaction check-backs.
 */
async function startCluster() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferromq-node-test-'))
  const nsPort = await freeBrokerPort()
  const nsConf = path.join(dir, 'namesrv.properties')
  fs.writeFileSync(
    nsConf,
    `listenPort=${nsPort}\nkvConfigPath=${path.join(dir, 'kvConfig.json')}\nconfigStorePath=${path.join(dir, 'namesrv.conf')}\n`,
  )
  const namesrv = await startServer('mqnamesrv', nsConf, path.join(dir, 'namesrv.log'))
  const namesrvAddr = `127.0.0.1:${nsPort}`
  let broker
  try {
    const port = await freeBrokerPort()
    const levels = ['1s', '5s', ...Array(16).fill('1s')].join(' ')
    const brokerConf = path.join(dir, 'broker.properties')
    fs.writeFileSync(
      brokerConf,
      [
        'brokerClusterName=DefaultCluster',
        'brokerName=node-broker-a',
        'brokerIP1=127.0.0.1',
        `listenPort=${port}`,
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
    broker = await startServer('mqbroker', brokerConf, path.join(dir, 'broker.log'))
  } catch (e) {
    await stop(namesrv)
    throw e
  }
  return {
    namesrvAddr,
    dir,
    async stop() {
      await stop(broker)
      await stop(namesrv)
      fs.rmSync(dir, { recursive: true, force: true })
    },
  }
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
 * A cluster and an `Admin` on it, once the broker has registered (a topic can be created).
 * `stop()` shuts both down.
 */
async function startReadyCluster() {
  const { Admin } = require('..')
  const cluster = await startCluster()
  const admin = new Admin({ namesrvAddr: cluster.namesrvAddr })
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
    /** Creates `topic` with `queueNums` queues and waits for its route. */
    async createTopic(topic, queueNums) {
      await admin.createTopic(topic, { queueNums })
      await waitFor('the route', 20000, async () => admin.topicRoute(topic).then(() => true, () => false))
    },
    async stop() {
      await admin.shutdown()
      await cluster.stop()
    }
  }
}

module.exports = { startCluster, startReadyCluster, waitFor, fresh, REPO }
