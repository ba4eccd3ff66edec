'use strict'
// The committed index.d.ts and index.js must be what a fresh build generates: ci.sh builds
// into .dts-check/ (FERROMQ_FRESH_DTS_DIR) before the tests and this compares.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')

const ROOT = path.resolve(__dirname, '..')
const fresh = process.env.FERROMQ_FRESH_DTS_DIR

test('committed index.d.ts and index.js match a fresh build', { skip: !fresh && 'set FERROMQ_FRESH_DTS_DIR (ci.sh does)' }, () => {
  for (const f of ['index.d.ts', 'index.js']) {
    const committed = fs.readFileSync(path.join(ROOT, f), 'utf8')
    const generated = fs.readFileSync(path.join(fresh, f), 'utf8')
    assert.equal(committed, generated, `${f} is stale: run \`npm run build:debug\` in bindings/node and commit it`)
  }
})
