'use strict'
// Starts the real FerroMQ name server and broker (target/debug/mqnamesrv, target/debug/mqbroker,
// or FERROMQ_BIN_DIR) on free loopback ports with a temporary data directory, for the tests.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const { REPO, freePorts, startServer, stop, writeTestBrokerConf, waitFor, fresh } =
  require('../../../tests/js/servers.js')

/**
 * A name server and a broker on free ports; `namesrvAddr` to connect, `stop()` at the end.
 * The broker is set up for tests: SQL92 filtering on, short delay levels (level 2 stays 5 s as
 * in Apache; every other level is 1 s so retries come quickly), fast transaction check-backs.
 */
async function startCluster() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferromq-node-test-'))
  const nsPort = await freePorts()
  const nsConf = path.join(dir, 'namesrv.properties')
  fs.writeFileSync(
    nsConf,
    `listenPort=${nsPort}\nkvConfigPath=${path.join(dir, 'kvConfig.json')}\nconfigStorePath=${path.join(dir, 'namesrv.conf')}\n`,
  )
  const namesrv = await startServer('mqnamesrv', nsConf, path.join(dir, 'namesrv.log'))
  const namesrvAddr = `127.0.0.1:${nsPort}`
  let broker
  try {
    const port = await freePorts()
    const brokerConf = path.join(dir, 'broker.properties')
    writeTestBrokerConf(brokerConf, { brokerName: 'node-broker-a', port, namesrvAddr, dir })
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
