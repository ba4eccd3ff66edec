'use strict'
// Starts the real FerroMQ name server and broker (target/debug/mqnamesrv, target/debug/mqbroker,
// or FERROMQ_BIN_DIR) on free loopback ports, both with a WebSocket port, and a temporary data
// directory; loads the built package (bindings/wasm/pkg, Node flavour) with `ws` as the global
// WebSocket.
//
// With FERROMQ_WASM_TLS_DIR set (a directory holding ca.pem, server.pem and server.key; ci.sh
// makes them with the openssl CLI and runs Node with NODE_EXTRA_CA_CERTS=<dir>/ca.pem), both
// servers serve TLS only (tls.server.mode=enforcing, WebSocket ports included) and the broker
// checks ACL 1.0 with one admin account: the clusters' URLs are wss:// and `client` carries
// the account's credentials.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const { REPO, BIN_DIR, freePorts, startServer, stop, writeTestBrokerConf, waitFor, fresh } =
  require('../../../tests/js/servers.js')

const PKG = path.resolve(__dirname, '..', 'pkg')

/** The TLS files' directory of the secure run, or undefined. */
const TLS_DIR = process.env.FERROMQ_WASM_TLS_DIR || undefined
/** The ACL account of the secure run. */
const CREDENTIALS = { accessKey: 'ferromq-wasm-test', secretKey: 'ferromq-wasm-secret-0042' }
const SCHEME = TLS_DIR ? 'wss' : 'ws'

/** The tls.server.* keys of a server in `mode` (its WebSocket port too). */
function tlsServerKeys(dir, mode) {
  return [
    `tls.server.mode=${mode}`,
    `tls.server.certPath=${path.join(TLS_DIR, 'server.pem')}`,
    `tls.server.keyPath=${path.join(TLS_DIR, 'server.key')}`,
    `tls.config.file=${path.join(dir, 'no-tls.properties')}`,
  ]
}

/** The broker's keys of the secure run: TLS, its own TLS connections, ACL. */
function secureBrokerKeys(dir, mode) {
  const acl = path.join(dir, 'plain_acl.yml')
  fs.writeFileSync(
    acl,
    ['accounts:', `  - accessKey: ${CREDENTIALS.accessKey}`, `    secretKey: ${CREDENTIALS.secretKey}`, '    admin: true', ''].join('\n'),
  )
  return [
    ...tlsServerKeys(dir, mode),
    'tls.enable=true',
    `tls.client.trustCertPath=${path.join(TLS_DIR, 'ca.pem')}`,
    'aclEnable=true',
    `aclFilePath=${acl}`,
  ]
}

// Node 20 has no global WebSocket: the package uses whatever `globalThis.WebSocket` is.
if (typeof globalThis.WebSocket === 'undefined') globalThis.WebSocket = require('ws')

/** The package built by build.sh (its Node flavour). */
function load() {
  return require(PKG)
}

/**
 * A name server and a broker on free ports, both serving WebSocket too. `namesrvAddr` is the
 * TCP address (for native clients), `namesrvWs` the WebSocket URL (for this package). The
 * broker is set up for tests: SQL92 filtering on, short delay levels (level 2 stays 5 s as in
 * Apache; every other level is 1 s so retries come quickly). `brokerWebSocket: false` starts
 * the broker without a WebSocket port. In the secure run, `tlsMode` is the servers'
 * `tls.server.mode` (`enforcing` by default).
 */
async function startCluster({ brokerWebSocket = true, tlsMode = 'enforcing' } = {}) {
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
      ...(TLS_DIR ? tlsServerKeys(dir, tlsMode) : []),
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
    writeTestBrokerConf(brokerConf, {
      brokerName: 'wasm-broker-a',
      port,
      namesrvAddr,
      dir,
      extra: [...(wsPort ? [`webSocketListenPort=${wsPort}`] : []), ...(TLS_DIR ? secureBrokerKeys(dir, tlsMode) : [])],
    })
    starts += 1
    return startServer('mqbroker', brokerConf, path.join(dir, `broker-${starts}.log`))
  }
  try {
    broker = await startBroker(brokerWebSocket ? port + 2 : 0)
  } catch (e) {
    await stop(namesrv)
    throw e
  }
  const namesrvWs = `${SCHEME}://127.0.0.1:${nsWs}/`
  return {
    namesrvAddr,
    namesrvWs,
    /** The options every client object of the tests starts from: the name server's URL and, in the secure run, the credentials. */
    client: TLS_DIR ? { namesrvAddr: namesrvWs, credentials: CREDENTIALS } : { namesrvAddr: namesrvWs },
    brokerAddr: `127.0.0.1:${port}`,
    brokerWs: brokerWebSocket ? `${SCHEME}://127.0.0.1:${port + 2}/` : null,
    dir,
    /** Restarts the broker (same store and TCP port) with its WebSocket on another port. */
    async restartBroker() {
      await stop(broker)
      const other = await freePorts()
      broker = await startBroker(other)
      this.brokerWs = `${SCHEME}://127.0.0.1:${other}/`
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
  const admin = new Admin(cluster.client)
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

module.exports = { startCluster, startReadyCluster, waitFor, fresh, load, REPO, BIN_DIR, PKG, TLS_DIR, CREDENTIALS }
