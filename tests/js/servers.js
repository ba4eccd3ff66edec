'use strict'
// Helpers of the JavaScript test suites: the broker lines of their tests, polling and naming
// (bindings/node and bindings/wasm start their servers with `ferromq/testing`'s LocalCluster),
// and a launcher of the real FerroMQ servers on free loopback ports from FERROMQ_BIN_DIR
// (target/debug by default), used by dashboard/ui-test. Only Node's standard library.

const { spawn } = require('node:child_process')
const fs = require('node:fs')
const net = require('node:net')
const path = require('node:path')

const REPO = path.resolve(__dirname, '..', '..')
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

const taken = new Set()
/**
 * A free port p such that p + each of `offsets` is free too, and none of them was handed out
 * before in this process. The default covers a broker: p - 2 (fast port), p + 1 (HA port) and
 * p + 2 (WebSocket port).
 */
async function freePorts(offsets = [-2, 1, 2]) {
  for (let i = 0; i < 200; i++) {
    const p = 20000 + Math.floor(Math.random() * 40000)
    const all = [p, ...offsets.map((o) => p + o)]
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

/** Stops a server with SIGTERM (SIGKILL after 5 s) and resolves once it has exited. */
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
 * The broker lines of the suites' tests: SQL92 filtering on, short delay levels (level 2 stays
 * 5 s as in Apache; every other level is 1 s so retries come quickly), fast transaction
 * check-backs. The Node and WASM suites pass them to `LocalCluster` (`brokerConfig`).
 */
const TEST_BROKER_CONFIG = [
  'enablePropertyFilter=true',
  `messageDelayLevel=${['1s', '5s', ...Array(16).fill('1s')].join(' ')}`,
  'transactionCheckInterval=1000',
  'transactionTimeOut=1000',
]

/**
 * Writes a test broker's properties file: `brokerName`, `listenPort`, `namesrvAddr` and the
 * store under `dir`, the lines of `TEST_BROKER_CONFIG`; `extra` lines are appended.
 */
function writeTestBrokerConf(file, { brokerName, port, namesrvAddr, dir, extra = [] }) {
  fs.writeFileSync(
    file,
    [
      'brokerClusterName=DefaultCluster',
      `brokerName=${brokerName}`,
      'brokerIP1=127.0.0.1',
      `listenPort=${port}`,
      `namesrvAddr=${namesrvAddr}`,
      `storePathRootDir=${path.join(dir, 'store')}`,
      'mappedFileSizeCommitLog=16777216',
      ...TEST_BROKER_CONFIG,
      ...extra,
      '',
    ].join('\n'),
  )
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

module.exports = { REPO, BIN_DIR, TEST_BROKER_CONFIG, canBind, freePorts, startServer, stop, writeTestBrokerConf, waitFor, fresh }
