'use strict'
// npm `install` hook: when this package is installed from a source checkout
// (`npm install ./bindings/node` from another directory) and the addon is not built yet, build
// it with cargo (no napi CLI needed: index.js and index.d.ts are committed). Installing the
// `npm pack` tarball (which carries the addon) or running `npm install` inside bindings/node
// (development: use `npm run build`) does nothing.
//
// FERROMQ_BUILD_PROFILE=debug builds a debug addon; FERROMQ_SKIP_BUILD=1 skips the build.

const fs = require('node:fs')
const path = require('node:path')
const { execFileSync } = require('node:child_process')

const here = __dirname
const suffix = { linux: 'so', darwin: 'dylib' }[process.platform]
const abi = process.platform === 'linux' ? '-gnu' : ''
const addon = path.join(here, `ferromq.${process.platform}-${process.arch}${abi}.node`)
const fromSource = fs.existsSync(path.join(here, 'Cargo.toml'))
const developing = path.resolve(process.env.INIT_CWD || '') === here

if (process.env.FERROMQ_SKIP_BUILD || fs.existsSync(addon) || !fromSource || developing) process.exit(0)
if (!suffix) {
  console.error(`ferromq: no prebuilt addon for ${process.platform}-${process.arch}, and building from source is only set up for Linux and macOS`)
  process.exit(1)
}

const profile = process.env.FERROMQ_BUILD_PROFILE === 'debug' ? 'debug' : 'release'
const args = ['build', '--locked', '-p', 'ferromq-node']
if (profile === 'release') args.push('--release')
console.error(`ferromq: building the native addon (cargo ${args.join(' ')})`)
execFileSync('cargo', args, { cwd: here, stdio: 'inherit' })
const meta = JSON.parse(execFileSync('cargo', ['metadata', '--format-version', '1', '--no-deps'], { cwd: here, encoding: 'utf8' }))
const triple = process.env.CARGO_BUILD_TARGET || ''
const built = path.join(meta.target_directory, triple, profile, `libferromq_node.${suffix}`)
fs.copyFileSync(built, addon)
console.error(`ferromq: built ${path.basename(addon)}`)
