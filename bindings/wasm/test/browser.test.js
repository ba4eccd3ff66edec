'use strict'
// The package in headless Chromium: examples/wasm/ served from a local static server, opened
// with playwright-core against real servers (WebSocket ports on). Covers the example page
// (send and receive), a send-rate figure, and the acceptance interop: a C producer (the C
// library, gcc) -> the browser, and the browser -> the official Java client (tests/compat,
// built by Maven during the Rust tests).
//
// Skipped when Chromium (/usr/bin/chromium or FERROMQ_CHROMIUM) is missing, unless
// FERROMQ_COMPAT_REQUIRED=1 (set on CI) or FERROMQ_WASM_BROWSER_REQUIRED=1; the Java part
// likewise when java or the compat programs are missing.

const { describe, it, before, after } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { execFile, execFileSync } = require('node:child_process')

const { startReadyCluster, fresh, REPO, BIN_DIR, PKG } = require('./cluster')
const { serve } = require(path.join(REPO, 'examples', 'wasm', 'serve.js'))

const CHROMIUM = process.env.FERROMQ_CHROMIUM || '/usr/bin/chromium'
const required = process.env.FERROMQ_COMPAT_REQUIRED === '1'
const browserMissing = fs.existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM}`
if (browserMissing && (required || process.env.FERROMQ_WASM_BROWSER_REQUIRED === '1')) {
  throw new Error(`browser tests: ${browserMissing}`)
}

const JAVA_DIR = path.join(REPO, 'tests', 'compat', 'java', 'target')
const CLASSPATH = `${path.join(JAVA_DIR, 'classes')}:${path.join(JAVA_DIR, 'dependency')}/*`
function javaMissing() {
  if (!fs.existsSync(path.join(JAVA_DIR, 'classes', 'org', 'ferromq', 'compat', 'StoreConsume.class'))) {
    return 'the Java compat programs are not built (tests/compat, Maven)'
  }
  try {
    execFileSync('java', ['-version'], { stdio: 'ignore' })
  } catch (e) {
    return 'java not found'
  }
  return false
}
const javaSkip = browserMissing || javaMissing()
if (javaSkip && !browserMissing && required) throw new Error(`interop with Java: ${javaSkip}`)

function run(file, args, timeout = 90000) {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${path.basename(file)}: ${err.message}\n${stdout}\n${stderr}`)) : resolve(stdout))
  })
}

describe('in headless Chromium', { skip: browserMissing }, () => {
  let ready
  let server
  let browser
  let base

  before(async () => {
    const { chromium } = require('playwright-core')
    ready = await startReadyCluster()
    server = await serve(0)
    base = `http://127.0.0.1:${server.address().port}/`
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    })
  })

  after(async () => {
    if (browser) await browser.close()
    if (server) await new Promise((r) => server.close(r))
    if (ready) await ready.stop()
  })

  /** Opens the example page with `params` and resolves with its `window.ferromq` once done. */
  async function page(params, { whileRunning, timeoutMs = 60000 } = {}) {
    const p = await browser.newPage()
    const logs = []
    p.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`))
    p.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`))
    try {
      const query = new URLSearchParams({ namesrv: ready.cluster.namesrvWs, ...params })
      await p.goto(`${base}?${query}`)
      if (whileRunning) {
        await p.waitForFunction(() => window.ferromq && window.ferromq.status !== 'starting', null, { timeout: timeoutMs })
        await whileRunning()
      }
      await p.waitForFunction(() => window.ferromq && ['done', 'error'].includes(window.ferromq.status), null, { timeout: timeoutMs })
      const state = await p.evaluate(() => window.ferromq)
      assert.equal(state.error, null, `the page failed: ${state.error}\n${logs.join('\n')}`)
      return state
    } finally {
      await p.close()
    }
  }

  it('the example page sends and receives its messages intact', async () => {
    const topic = fresh('page')
    await ready.createTopic(topic, 4)
    const N = 5
    const state = await page({ topic, mode: 'demo', count: String(N), run: 'r1' })
    assert.equal(state.sent.length, N)
    for (const s of state.sent) assert.equal(s.status, 'SEND_OK')
    assert.equal(state.received.length, N)
    const byBody = new Map(state.received.map((m) => [m.body, m]))
    for (let i = 0; i < N; i++) {
      const m = byBody.get(`hello from the browser ${i}`)
      assert.ok(m, `message ${i} received`)
      assert.equal(m.topic, topic)
      assert.equal(m.tag, 'TagWasm')
      assert.deepEqual(m.keys, [`wk-${i}`, 'wkg'])
      assert.equal(m.properties.note, `nü€中-${i}`)
      assert.equal(m.properties.run, 'r1')
      assert.equal(m.msgId, state.sent[i].msgId)
    }
  })

  it('send rate from the browser (figure, not asserted)', async () => {
    const topic = fresh('bench')
    await ready.createTopic(topic, 4)
    const n = Number(process.env.FERROMQ_WASM_BENCH_N || 500)
    const state = await page({ topic, mode: 'bench', count: String(n) }, { timeoutMs: 120000 })
    assert.ok(state.bench.sequential > 0 && state.bench.concurrent > 0)
    const line = `browser sends/s (${n} x ${state.bench.bodyBytes} B, ${path.basename(BIN_DIR)} servers): ` +
      `${state.bench.sequential} awaited one at a time, ${state.bench.concurrent} all in flight`
    console.log(line)
    fs.writeFileSync(path.join(PKG, 'bench.txt'), `${line}\n`)
  })

  it('interop: a C producer sends, the browser receives tag, keys, properties and body intact', async () => {
    const lib = path.join(BIN_DIR, 'libferromq_c.so')
    assert.ok(fs.existsSync(lib), `${lib} is built (cargo build -p ferromq-c)`)
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferromq-c2wasm-'))
    const exe = path.join(dir, 'c_producer')
    // The library is installed as libferromq.so (its soname; bindings/c/install.sh).
    fs.copyFileSync(lib, path.join(dir, 'libferromq.so'))
    execFileSync('gcc', ['-Wall', '-Werror', '-o', exe, path.join(__dirname, 'c_producer.c'),
      '-I', path.join(REPO, 'bindings', 'c', 'include'), '-L', dir, '-lferromq', `-Wl,-rpath,${dir}`])
    const topic = fresh('c2wasm')
    await ready.createTopic(topic, 4)
    const N = 6
    let out = ''
    const state = await page({ topic, mode: 'consume', count: String(N) }, {
      whileRunning: async () => {
        out = await run(exe, [ready.cluster.namesrvAddr, topic, String(N), 'c2w'])
      },
    })
    fs.rmSync(dir, { recursive: true, force: true })
    assert.match(out, new RegExp(`OK: sent ${N}`))
    const sent = new Map(out.split('\n').filter((l) => l.startsWith('SENT\t')).map((l) => {
      const [, i, msgId] = l.split('\t')
      return [Number(i), msgId]
    }))
    assert.equal(state.received.length, N)
    for (const m of state.received) {
      const i = Number(m.properties.idx)
      assert.equal(m.topic, topic)
      assert.equal(m.tag, 'TagC')
      assert.deepEqual(m.keys, [`ck-${i}`, 'ckg'])
      assert.equal(m.properties.note, `nü€中-${i}`)
      assert.equal(m.properties.run, 'c2w')
      const text = `from C ${i}`
      assert.equal(m.bodyHex, Buffer.concat([Buffer.from(text), Buffer.from([0, 1, 0xfe, 0xff])]).toString('hex'))
      assert.equal(m.msgId, sent.get(i))
    }
  })

  it('interop: the browser sends, the official Java client receives tag, keys and properties intact', { skip: javaSkip }, async () => {
    const topic = fresh('wasm2j')
    await ready.createTopic(topic, 4)
    const N = 5
    const state = await page({ topic, mode: 'produce', count: String(N), run: 'w2j' })
    assert.equal(state.sent.length, N)
    const out = await run('java', ['-Dcompat.timeoutMs=60000', '-cp', CLASSPATH, 'org.ferromq.compat.StoreConsume',
      ready.cluster.namesrvAddr, topic, String(N)])
    assert.match(out, new RegExp(`OK: received ${N}`))
    const recv = out.split('\n').filter((l) => l.startsWith('RECV\t')).map((l) => Object.fromEntries(l.split('\t').slice(1).map((f) => {
      const eq = f.indexOf('=')
      return [f.slice(0, eq), f.slice(eq + 1)]
    })))
    assert.equal(recv.length, N)
    for (const m of recv) {
      const i = Number(m['p.idx'])
      assert.equal(m['p.TAGS'], 'TagWasm')
      assert.equal(m['p.KEYS'], `wk-${i} wkg`)
      assert.equal(m['p.note'], `nü€中-${i}`)
      assert.equal(m['p.run'], 'w2j')
      assert.equal(m.msgId, state.sent[i].msgId)
      assert.equal(Number(m.len), Buffer.byteLength(`hello from the browser ${i}`))
    }
  })
})
