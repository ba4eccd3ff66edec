'use strict'
// `require('ferromq/testing')`: a real FerroMQ name server and brokers for tests, one line.
// The work is the Rust client core's `testing::LocalCluster` (src/testing.rs in the addon);
// this file passes the package's bundled servers, adds `Symbol.asyncDispose` (`await using`)
// and kills clusters still running when the process exits. Types: testing.d.ts.

const { NativeLocalCluster } = require('./index.js')
const { bundledBinDir } = require('./platform.js')

const OPTIONS = new Set(['brokers', 'slaves', 'brokerConfig', 'namesrvConfig', 'bootTimeoutMs', 'waitForRegistration', 'bundledBinDir'])

// Clusters not stopped yet: killed (blocking, at once) when the process exits, so a test run
// that fails or is interrupted leaves no servers behind. `SIGKILL` of the test process itself
// cannot be caught; those servers' directories name the process id.
const live = new Set()
let exitHook = false
function track(native) {
  live.add(native)
  if (!exitHook) {
    exitHook = true
    process.once('exit', () => {
      for (const n of live) n.destroySync()
    })
  }
}

function lines(name, value) {
  if (value === undefined) return undefined
  if (!Array.isArray(value) || value.some((l) => typeof l !== 'string' || !/^[^=\s#!][^=]*=/.test(l))) {
    throw new TypeError(`LocalCluster: ${name} must be an array of 'key=value' properties lines`)
  }
  return value
}

function checkOptions(options) {
  if (options === null || typeof options !== 'object') throw new TypeError('LocalCluster.start: options must be an object')
  for (const k of Object.keys(options)) {
    if (!OPTIONS.has(k)) throw new TypeError(`LocalCluster.start: unknown option '${k}' (known: ${[...OPTIONS].join(', ')})`)
  }
  const { brokers } = options
  if (brokers !== undefined && !(Number.isInteger(brokers) && brokers >= 1)) {
    throw new TypeError(`LocalCluster.start: brokers must be an integer >= 1, not ${brokers}`)
  }
  return {
    ...options,
    brokerConfig: lines('brokerConfig', options.brokerConfig),
    namesrvConfig: lines('namesrvConfig', options.namesrvConfig),
    bundledBinDir: options.bundledBinDir ?? bundledBinDir(),
  }
}

/** One broker process of a cluster. */
class LocalBroker {
  #native
  constructor(native) {
    this.#native = native
  }

  get brokerName() { return this.#native.brokerName }
  get brokerId() { return this.#native.brokerId }
  get addr() { return this.#native.addr }
  get port() { return this.#native.port }
  get dir() { return this.#native.dir }
  get running() { return this.#native.running }
  logTail() { return this.#native.logTail() }
  addConfig(line) {
    lines('addConfig', [line])
    this.#native.addConfig(line)
  }
  kill() { return this.#native.kill() }
  stop() { return this.#native.stop() }
  restart() { return this.#native.restart() }
}

/** A name server and brokers, real processes on free ports, with a temporary store. */
class LocalCluster {
  #native

  /** Use `LocalCluster.start(options)`. */
  constructor(native) {
    if (!(native instanceof NativeLocalCluster)) throw new TypeError('use `await LocalCluster.start(options)`')
    this.#native = native
  }

  static async start(options = {}) {
    const native = await NativeLocalCluster.start(checkOptions(options))
    track(native)
    return new LocalCluster(native)
  }

  get namesrvAddr() { return this.#native.namesrvAddr }
  get dir() { return this.#native.dir }
  get binaries() { return this.#native.binaries }
  get brokerCount() { return this.#native.brokerCount }
  get stopped() { return this.#native.stopped }
  /** `{ namesrvAddr }`, to spread into client options. */
  get client() { return { namesrvAddr: this.#native.namesrvAddr } }

  broker(index = 0) { return new LocalBroker(this.#native.broker(index)) }
  slave(index = 0) { return new LocalBroker(this.#native.slave(index)) }

  async stop() {
    try {
      await this.#native.stop()
    } finally {
      live.delete(this.#native)
    }
  }
}

if (typeof Symbol.asyncDispose === 'symbol') {
  LocalCluster.prototype[Symbol.asyncDispose] = function asyncDispose() {
    return this.stop()
  }
}

module.exports = { LocalCluster, LocalBroker }
