'use strict'
// The servers of the tests: `ferromq/testing`'s LocalCluster (the package's bundled servers,
// else FERROMQ_BIN_DIR, which ci.sh sets to target/debug) with the suites' broker lines; with
// `secure`, both servers serve mutual TLS only and the broker checks ACL 1.0 (certificates made
// by the `openssl` command at test time).

const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const { LocalCluster } = require('../testing')
const { REPO, TEST_BROKER_CONFIG, waitFor, fresh } = require('../../../tests/js/servers.js')

/** The accounts of the secure cluster: an admin (creates topics) and an application that may
 * send to and consume every topic and group but use no admin code. */
const ACL_ADMIN = { accessKey: 'node-acl-admin', secretKey: 'node-acl-admin-secret' }
const ACL_APP = { accessKey: 'node-acl-app', secretKey: 'node-acl-app-secret' }

/**
 * PEM files in `dir`, made with the `openssl` command: a CA (`ca`), a certificate for 127.0.0.1
 * and localhost (`server`, `serverKey`) the servers serve, and a client certificate (`client`,
 * `clientKey`) for mutual TLS, both signed by the CA.
 */
function makePki(dir) {
  fs.mkdirSync(dir, { recursive: true })
  const f = (name) => path.join(dir, name)
  const openssl = (...args) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] })
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes']
  openssl('req', '-x509', ...ec, '-days', '2', '-subj', '/CN=ferromq-test-ca',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    '-keyout', f('ca.key'), '-out', f('ca.pem'))
  fs.writeFileSync(f('leaf.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' +
    'keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n')
  for (const [serial, name] of [[2, 'server'], [3, 'client']]) {
    openssl('req', '-new', ...ec, '-subj', `/CN=ferromq-test-${name}`, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`))
    openssl('x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-set_serial', String(serial),
      '-days', '2', '-extfile', f('leaf.cnf'), '-out', f(`${name}.pem`))
  }
  return { ca: f('ca.pem'), server: f('server.pem'), serverKey: f('server.key'), client: f('client.pem'), clientKey: f('client.key') }
}

/** The `tls.*` keys of a server that serves TLS only and requires client certificates. */
function serverTls(pki) {
  return [
    'tls.server.mode=enforcing',
    `tls.server.certPath=${pki.server}`,
    `tls.server.keyPath=${pki.serverKey}`,
    'tls.server.need.client.auth=require',
    `tls.server.trustCertPath=${pki.ca}`,
  ]
}

/**
 * A name server and a broker on free ports (a `LocalCluster`, in `local`); `namesrvAddr` to
 * connect, `stop()` at the end. The broker is set up for tests (`TEST_BROKER_CONFIG`: SQL92
 * filtering on, short delay levels, fast transaction check-backs). `client` and `adminClient`
 * are the options every client object of a test spreads in: the name server and, for a
 * `secure` cluster, the application's (the admin's) credentials and the client TLS settings
 * (`pki` has the files). The secure cluster's name server speaks TLS only, which LocalCluster's
 * registration check cannot: it returns once the broker has booted, and the tests' first topic
 * creation waits for the registration.
 */
async function startCluster({ secure = false } = {}) {
  const pkiDir = secure ? fs.mkdtempSync(path.join(os.tmpdir(), 'ferromq-node-pki-')) : null
  const pki = secure ? makePki(pkiDir) : null
  const brokerConfig = [...TEST_BROKER_CONFIG]
  let namesrvConfig = []
  if (pki) {
    const aclFile = path.join(pkiDir, 'plain_acl.yml')
    fs.writeFileSync(aclFile, [
      'accounts:',
      `  - accessKey: ${ACL_ADMIN.accessKey}`,
      `    secretKey: ${ACL_ADMIN.secretKey}`,
      '    admin: true',
      `  - accessKey: ${ACL_APP.accessKey}`,
      `    secretKey: ${ACL_APP.secretKey}`,
      '    admin: false',
      '    defaultTopicPerm: PUB|SUB',
      '    defaultGroupPerm: PUB|SUB',
      '',
    ].join('\n'))
    namesrvConfig = serverTls(pki)
    brokerConfig.push(
      'aclEnable=true',
      `aclFilePath=${aclFile}`,
      ...serverTls(pki),
      // The broker's own connections to the (enforcing, mTLS) name server.
      'tls.enable=true',
      `tls.client.trustCertPath=${pki.ca}`,
      `tls.client.certPath=${pki.client}`,
      `tls.client.keyPath=${pki.clientKey}`,
    )
  }
  let local
  try {
    local = await LocalCluster.start({ brokerConfig, namesrvConfig, waitForRegistration: !secure })
  } catch (e) {
    if (pkiDir) fs.rmSync(pkiDir, { recursive: true, force: true })
    throw e
  }
  const { namesrvAddr } = local
  const tls = pki && { caFile: pki.ca, certFile: pki.client, keyFile: pki.clientKey }
  return {
    local,
    namesrvAddr,
    dir: local.dir,
    pki,
    client: pki ? { namesrvAddr, credentials: ACL_APP, tls } : { namesrvAddr },
    adminClient: pki ? { namesrvAddr, credentials: ACL_ADMIN, tls } : { namesrvAddr },
    async stop() {
      await local.stop()
      if (pkiDir) fs.rmSync(pkiDir, { recursive: true, force: true })
    },
  }
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

module.exports = { startCluster, startReadyCluster, waitFor, fresh, REPO, ACL_APP, ACL_ADMIN, makePki }
