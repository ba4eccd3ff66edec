'use strict'
// mqdashboard's pages in headless Chromium (playwright-core) against a real name server and
// broker: each page loads, a topic is created and a message sent from the page, the message is
// found by key and its markup body shows as text (never runs), a live consumer's group page
// draws its lag chart, and the console's producer shows on the producers page. Screenshots of
// each page are written to the temporary directory printed at the start.

const { describe, it, before, after } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawn } = require('node:child_process')

const { REPO, BIN_DIR, freePorts, waitFor, fresh } = require('../../tests/js/servers.js')
const { execFileSync } = require('node:child_process')

const LOCAL_CLUSTER = path.join(REPO, 'scripts', 'local-cluster.sh')

const CHROMIUM = process.env.FERROMQ_CHROMIUM || '/usr/bin/chromium'

/** Starts `bin` with `args`; resolves once `ready` appears in its output. */
function startProcess(bin, args, ready, logFile) {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(BIN_DIR, bin), args, { stdio: ['ignore', 'pipe', 'pipe'] })
    const log = fs.createWriteStream(logFile)
    let out = ''
    const timer = setTimeout(() => reject(new Error(`${bin} not ready in 30 s (log: ${logFile})`)), 30000)
    child.stdout.on('data', (d) => {
      log.write(d)
      out += d
      if (out.includes(ready)) {
        clearTimeout(timer)
        resolve(child)
      }
    })
    child.stderr.on('data', (d) => log.write(d))
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${bin} exited with ${code} (log: ${logFile})`))
    })
  })
}

describe('mqdashboard in headless Chromium', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferromq-dashboard-ui-'))
  let clusterDir, console_, consumer, browser, page, base
  const errors = []
  const topic = fresh('DashUi')
  const group = fresh('DashUiGroup')

  before(async () => {
    process.stdout.write(`screenshots and logs: ${dir}\n`)
    // A name server and a broker (broker-a) on free ports: scripts/local-cluster.sh, the
    // LocalCluster of the shell and C, returns once the name server lists the broker.
    const out = execFileSync('bash', [LOCAL_CLUSTER, 'start', '--bin-dir', BIN_DIR,
      '--dir', path.join(dir, 'cluster')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
    const value = (name) => (out.match(new RegExp(`^${name}=(.*)$`, 'm')) || [])[1]
    const namesrvAddr = value('FERROMQ_NAMESRV')
    clusterDir = value('FERROMQ_CLUSTER_DIR')
    assert.ok(namesrvAddr && clusterDir, `local-cluster.sh printed no address: ${out}`)
    const uiPort = await freePorts([])
    console_ = await startProcess('mqdashboard', ['-n', namesrvAddr, '-p', String(uiPort)],
      'mqdashboard serving', path.join(dir, 'mqdashboard.log'))
    base = `http://127.0.0.1:${uiPort}/`
    const { chromium } = require('playwright-core')
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    })
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`))
    page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`) })
    page.on('dialog', (d) => d.accept())
    // The console needs the broker registered before its cluster page has something to show.
    await waitFor('the broker in the console', 30000, async () => {
      const r = await fetch(base + 'api/cluster').then((x) => x.json())
      return (r.clusters || []).some((c) => c.brokers.length > 0)
    })
    // A consumer of the topic, so the group page has a member and offsets.
    consumer = spawn(path.join(BIN_DIR, 'mqbench'), ['consumer', '-n', namesrvAddr, '-t', topic,
      '-g', group, '--from-first', '--duration', '600', '--interval', '1'], { stdio: 'ignore' })
    globalThis.namesrvAddr = namesrvAddr
  })

  after(async () => {
    if (browser) await browser.close()
    if (consumer) consumer.kill('SIGKILL')
    if (console_) console_.kill('SIGINT')
    if (clusterDir) {
      execFileSync('bash', [LOCAL_CLUSTER, 'stop', clusterDir], { stdio: 'inherit' })
    }
  })

  async function open(hash) {
    await page.goto(base + hash)
    const name = hash.replace(/^#\//, '').split('?')[0]
    await page.waitForSelector(`#main[data-page="${name}"]`, { timeout: 30000 })
  }

  async function shot(name) {
    await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true })
  }

  it('shows the cluster with its broker and draws the TPS chart', async () => {
    await open('#/cluster')
    await page.waitForSelector('text=broker-a')
    await page.waitForFunction(() => +document.getElementById('tps-chart').dataset.drawn >= 1)
    assert.match(await page.textContent('#main'), /MASTER/)
    await shot('cluster')
  })

  it('creates a topic from the page', async () => {
    await open('#/topics')
    await page.fill('#new-topic', topic)
    await page.click('#create-topic')
    await page.fill('#topic-search', topic)
    await page.waitForSelector(`td:text-is("${topic}")`, { timeout: 30000 })
    await shot('topics')
  })

  const hostile = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'
  it('sends a message from the topic page', async () => {
    await open(`#/topic?name=${topic}`)
    await page.waitForSelector('#topic-name')
    assert.equal(await page.textContent('#topic-name'), topic)
    await page.fill('input[placeholder="key1 key2"]', 'ui-key-1')
    await page.fill('#send-body', hostile)
    await page.click('#send-message')
    await page.waitForFunction(() => /SEND_OK/.test(document.getElementById('send-result').textContent))
    await shot('topic')
  })

  it('finds the message by key and shows its markup body as text', async () => {
    await open(`#/messages?topic=${topic}`)
    await page.fill('#search-key', 'ui-key-1')
    const row = await waitFor('the message in the key index', 30000, async () => {
      await page.click('#by-key button')
      await page.waitForTimeout(300)
      return (await page.$$('#message-results tr.clickable'))[0]
    })
    await row.click()
    await page.waitForSelector('#message-body')
    assert.equal(await page.textContent('#message-body'), hostile)
    assert.equal(await page.evaluate(() => window.__xss), undefined, 'the body ran as markup')
    assert.equal(await page.$('#message-detail img'), null)
    await shot('message')
  })

  it('draws a live group\'s lag chart', async () => {
    await open(`#/group?name=${group}`)
    await waitFor('the consumer online with offsets', 60000, async () => {
      await open(`#/group?name=${group}`)
      const drawn = await page.$eval('#lag-chart', (c) => +(c.dataset.drawn || 0))
      const members = await page.$$eval('#main table', (t) => t[0] ? t[0].querySelectorAll('tbody tr').length : 0)
      return drawn > 0 && members > 0 && !/none/.test(await page.$eval('#main table tbody', (b) => b.textContent))
    })
    await shot('group')
  })

  it('lists the console\'s own producer connection', async () => {
    await open('#/producers')
    await page.fill('input[placeholder="Topic"]', topic)
    await page.fill('input[placeholder="Producer group"]', 'FERROMQ_DASHBOARD_PRODUCER')
    await page.click('#main form button')
    await page.waitForSelector('#main table tbody tr td:nth-child(2)')
    assert.match(await page.textContent('#main table tbody'), /RUST/)
    await shot('producers')
  })

  it('raised no page errors', () => {
    assert.deepEqual(errors, [])
  })
})
