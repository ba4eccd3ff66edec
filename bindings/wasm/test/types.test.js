'use strict'
// The generated TypeScript declarations: test/types/usage.ts (the API as a TypeScript user
// writes it) must compile against pkg/web/ferromq_wasm.d.ts under `strict`.

const { it } = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { execFile } = require('node:child_process')

it('the .d.ts type-checks the documented usage (tsc --noEmit, strict)', async () => {
  const tsc = require.resolve('typescript/bin/tsc')
  const project = path.join(__dirname, 'types', 'tsconfig.json')
  const out = await new Promise((resolve) => {
    execFile(process.execPath, [tsc, '-p', project], (err, stdout, stderr) => resolve({ code: err ? err.code : 0, text: stdout + stderr }))
  })
  assert.equal(out.code, 0, out.text)
})
