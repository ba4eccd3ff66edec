'use strict'
// Helpers of the JavaScript test suites: the broker lines of their tests, free ports, polling
// and naming. The suites start their servers with `ferromq/testing`'s LocalCluster (bindings/node,
// bindings/wasm) or scripts/local-cluster.sh (dashboard/ui-test), from FERROMQ_BIN_DIR
// (target/debug by default). Only Node's standard library.

const net = require('node:net')
const path = require('node:path')

const REPO = path.resolve(__dirname, '..', '..')
const BIN_DIR = process.env.FERROMQ_BIN_DIR || path.join(REPO, 'target', 'debug')

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

module.exports = { REPO, BIN_DIR, TEST_BROKER_CONFIG, canBind, freePorts, waitFor, fresh }
