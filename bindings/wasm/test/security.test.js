'use strict'
// ACL credentials and wss:// with the WebAssembly package. The option checks run always; the
// rest needs the secure run of ci.sh (FERROMQ_WASM_TLS_DIR, NODE_EXTRA_CA_CERTS: servers with
// TLS enforcing on every port and ACL 1.0 on the broker, test/cluster.js): a wrong secret key is
// refused by the broker (code Broker, responseCode 1, Apache's AclException remark), unsigned
// requests too, and a plain ws:// client of the enforcing WebSocket port gets an error at once
// instead of hanging; with permissive servers (which announce ws:// broker endpoints) a client
// of wss:// name servers still reaches the broker over wss://.

const { describe, it, before, after } = require('node:test')
const assert = require('node:assert/strict')

const { startReadyCluster, waitFor, fresh, load, TLS_DIR, CREDENTIALS } = require('./cluster')

const { Producer, PushConsumer, Admin } = load()

describe('credentials option', () => {
  const namesrvAddr = 'wss://127.0.0.1:9877/'
  it('accepts {accessKey, secretKey, securityToken?} and a wss:// name server', async () => {
    const p = new Producer({ namesrvAddr, credentials: { accessKey: 'app-orders', secretKey: 'change-me-0f2a9c' } })
    await p.shutdown()
    const c = new PushConsumer({ namesrvAddr, group: 'g', credentials: { accessKey: 'a', secretKey: 's', securityToken: 't' } })
    await c.shutdown()
    const a = new Admin({ namesrvAddr, credentials: undefined })
    await a.shutdown()
  })

  it('refuses incomplete or mistyped credentials with InvalidArgument', () => {
    const bad = [
      'ak:sk',
      { accessKey: 'only' },
      { secretKey: 'only' },
      { accessKey: '', secretKey: 'sk' },
      { accessKey: 'ak', secretKey: 7 },
    ]
    for (const credentials of bad) {
      assert.throws(() => new Producer({ namesrvAddr, credentials }), (e) => e.code === 'InvalidArgument' && /credentials|accessKey|secretKey/.test(e.message), JSON.stringify(credentials))
    }
  })
})

describe('against servers with TLS and ACL 1.0', { skip: !TLS_DIR && 'needs FERROMQ_WASM_TLS_DIR (bindings/wasm/ci.sh)' }, () => {
  let ready
  let topic
  before(async () => {
    ready = await startReadyCluster()
    topic = fresh('Security')
    await ready.createTopic(topic, 2)
  })
  after(async () => {
    if (ready) await ready.stop()
  })

  async function sendWith(options) {
    const p = new Producer({ group: fresh('p'), instanceName: fresh('i'), retryTimes: 0, sendTimeoutMs: 3000, ...options })
    await p.start()
    try {
      return await p.send({ topic, body: 'x' })
    } finally {
      await p.shutdown()
    }
  }

  it('the right credentials over wss:// send', async () => {
    assert.match(ready.cluster.namesrvWs, /^wss:\/\//)
    const r = await sendWith(ready.cluster.client)
    assert.equal(r.status, 'SEND_OK')
  })

  it('a wrong secret key: Broker error, response code 1, the AclException remark', async () => {
    const credentials = { accessKey: CREDENTIALS.accessKey, secretKey: 'not-the-secret-key' }
    await assert.rejects(sendWith({ namesrvAddr: ready.cluster.namesrvWs, credentials }), (e) => {
      assert.equal(e.code, 'Broker', e.message)
      assert.equal(e.responseCode, 1, e.message)
      assert.match(e.remark, /AclException.*[Cc]heck signature failed/)
      return true
    })
  })

  it('no credentials: refused by the broker', async () => {
    await assert.rejects(sendWith({ namesrvAddr: ready.cluster.namesrvWs }), (e) => e.code === 'Broker' && /AclException/.test(e.remark))
  })

  it('plain ws:// to the enforcing port: an error at once, not a hang', async () => {
    const plain = ready.cluster.namesrvWs.replace(/^wss:/, 'ws:')
    // Closed by the server (Connect / ConnectionClosed), not a request timing out (Timeout).
    await assert.rejects(sendWith({ namesrvAddr: plain, credentials: CREDENTIALS, requestTimeoutMs: 10000 }), (e) => {
      assert.ok(['Connect', 'ConnectionClosed'].includes(e.code), `${e.code}: ${e.message}`)
      return true
    })
  })

  it('permissive servers: a client of wss:// name servers dials the brokers over wss:// too', async () => {
    // A permissive broker announces ws:// (it serves both); the client must not drop TLS.
    const opened = []
    const Base = globalThis.WebSocket
    globalThis.WebSocket = class extends Base {
      constructor(url, protocols) {
        super(url, protocols)
        opened.push(String(url))
      }
    }
    let permissive
    try {
      permissive = await startReadyCluster({ tlsMode: 'permissive' })
      const t = fresh('Permissive')
      await permissive.createTopic(t, 1)
      const p = new Producer({ ...permissive.cluster.client, group: fresh('p'), instanceName: fresh('i') })
      await p.start()
      try {
        const r = await waitFor('a send', 20000, () => p.send({ topic: t, body: 'x' }).catch(() => null))
        assert.equal(r.status, 'SEND_OK')
      } finally {
        await p.shutdown()
      }
      const brokerUrl = permissive.cluster.brokerWs
      assert.ok(opened.includes(brokerUrl), `${brokerUrl} not among ${opened.join(', ')}`)
      assert.deepEqual(opened.filter((u) => !u.startsWith('wss://')), [])
    } finally {
      globalThis.WebSocket = Base
      if (permissive) await permissive.stop()
    }
  })
})
