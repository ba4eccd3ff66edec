'use strict'
// The servers of the tests: `ferromq/testing`'s LocalCluster from the Node package
// (bindings/node; ci.sh builds its addon and points NAPI_RS_NATIVE_LIBRARY_PATH at it), with
// FERROMQ_BIN_DIR's servers, a name server and a broker on free loopback ports, both with a
// WebSocket port; loads the built package (bindings/wasm/pkg, Node flavour) with `ws` as the
// global WebSocket.
//
// With FERROMQ_WASM_TLS_DIR set (a directory holding ca.pem, server.pem and server.key; ci.sh
// makes them with the openssl CLI and runs Node with NODE_EXTRA_CA_CERTS=<dir>/ca.pem), both
// servers serve TLS only (tls.server.mode=enforcing, WebSocket ports included) and the broker
// checks ACL 1.0 with one admin account: the clusters' URLs are wss:// and `client` carries
// the account's credentials.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const { LocalCluster } = require('../../node/testing.js')
const { REPO, BIN_DIR, TEST_BROKER_CONFIG, freePorts, waitFor, fresh } = require('../../../tests/js/servers.js')

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
 * A name server and a broker on free ports (a `LocalCluster`, in `local`), both serving
 * WebSocket too. `namesrvAddr` is the TCP address (for native clients), `namesrvWs` the
 * WebSocket URL (for this package). The broker is set up for tests (`TEST_BROKER_CONFIG`: SQL92
 * filtering on, short delay levels, fast transaction check-backs). `brokerWebSocket: false`
 * starts the broker without a WebSocket port. In the secure run, `tlsMode` is the servers'
 * `tls.server.mode` (`enforcing` by default); an enforcing name server cannot be asked in
 * plaintext whether the broker registered, so start returns once the broker has booted
 * (`startReadyCluster` then waits for the registration).
 */
async function startCluster({ brokerWebSocket = true, tlsMode = 'enforcing' } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferromq-wasm-test-'))
  // WebSocket ports: LocalCluster picks the TCP ports; these are checked free here.
  const nsWs = await freePorts([])
  const wsPort = brokerWebSocket ? await freePorts([]) : 0
  let local
  try {
    local = await LocalCluster.start({
      namesrvConfig: [`webSocketListenPort=${nsWs}`, ...(TLS_DIR ? tlsServerKeys(dir, tlsMode) : [])],
      brokerConfig: [
        ...TEST_BROKER_CONFIG,
        `webSocketListenPort=${wsPort}`,
        ...(TLS_DIR ? secureBrokerKeys(dir, tlsMode) : []),
      ],
      waitForRegistration: !(TLS_DIR && tlsMode === 'enforcing'),
    })
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true })
    throw e
  }
  const broker = local.broker(0)
  const namesrvWs = `${SCHEME}://127.0.0.1:${nsWs}/`
  return {
    local,
    namesrvAddr: local.namesrvAddr,
    namesrvWs,
    /** The options every client object of the tests starts from: the name server's URL and, in the secure run, the credentials. */
    client: TLS_DIR ? { namesrvAddr: namesrvWs, credentials: CREDENTIALS } : { namesrvAddr: namesrvWs },
    brokerAddr: broker.addr,
    brokerWs: brokerWebSocket ? `${SCHEME}://127.0.0.1:${wsPort}/` : null,
    dir,
    /** Restarts the broker (SIGKILL; same store and TCP port) with its WebSocket on another port. */
    async restartBroker() {
      const other = await freePorts([])
      broker.addConfig(`webSocketListenPort=${other}`)
      await broker.restart()
      this.brokerWs = `${SCHEME}://127.0.0.1:${other}/`
    },
    async stop() {
      await local.stop()
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
