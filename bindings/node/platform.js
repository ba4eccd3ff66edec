'use strict'
// Where this package's server binaries (mqnamesrv, mqbroker, mqadmin, mqbench) are, and the
// launcher the `bin/*.js` commands use. Layout (see README.md, "Package layout"):
//   bin/<platform>/<server>                the servers bundled in this package (linux-x64-gnu today)
//   node_modules/ferromq-<platform>/bin/   a napi-rs-style platform package, for platforms added later
// <platform> is napi-rs's name: `${process.platform}-${process.arch}` plus `-gnu`/`-musl` on Linux.

const fs = require('node:fs')
const path = require('node:path')
const { spawn } = require('node:child_process')

/** The server commands the package carries. */
const SERVERS = ['mqnamesrv', 'mqbroker', 'mqadmin', 'mqbench']

function isMusl() {
  try {
    return !process.report.getReport().header.glibcVersionRuntime
  } catch {
    return false
  }
}

/** napi-rs's name of this platform, e.g. `linux-x64-gnu`. */
function platformName() {
  let abi = ''
  if (process.platform === 'linux') abi = isMusl() ? '-musl' : '-gnu'
  else if (process.platform === 'win32') abi = '-msvc'
  return `${process.platform}-${process.arch}${abi}`
}

/** The directories that may hold this platform's servers, in the order they are looked at. */
function serverDirs() {
  const name = platformName()
  const dirs = [path.join(__dirname, 'bin', name)]
  try {
    dirs.push(path.join(path.dirname(require.resolve(`ferromq-${name}/package.json`)), 'bin'))
  } catch {
    // No platform package installed.
  }
  return dirs
}

const exe = (dir, server) => path.join(dir, process.platform === 'win32' ? `${server}.exe` : server)

/**
 * The directory of this platform's bundled servers: the first of `serverDirs()` with
 * `mqnamesrv`, else the package's own `bin/<platform>/` (which then says where was looked).
 */
function bundledBinDir() {
  const dirs = serverDirs()
  return dirs.find((d) => fs.existsSync(exe(d, 'mqnamesrv'))) || dirs[0]
}

/**
 * Runs the bundled `server` with this process's arguments and stdio; forwards SIGINT, SIGTERM,
 * SIGHUP and SIGQUIT to it and exits as it exits (its code, or the signal that ended it).
 */
function run(server) {
  const dirs = serverDirs()
  const dir = dirs.find((d) => fs.existsSync(exe(d, server)))
  if (!dir) {
    console.error(`ferromq: ${server} is not bundled for ${platformName()}; looked in ${dirs.join(', ')}.\n` +
      'Install the FerroMQ server tarball (or build the servers with cargo) and run it from there.')
    process.exit(1)
  }
  const child = spawn(exe(dir, server), process.argv.slice(2), { stdio: 'inherit' })
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT']
  const forward = (signal) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal)
  }
  for (const s of signals) process.on(s, forward)
  child.once('error', (e) => {
    console.error(`ferromq: cannot run ${exe(dir, server)}: ${e.message}`)
    process.exit(1)
  })
  child.once('exit', (code, signal) => {
    for (const s of signals) process.removeListener(s, forward)
    if (signal) process.kill(process.pid, signal)
    else process.exit(code)
  })
}

module.exports = { SERVERS, platformName, serverDirs, bundledBinDir, run }
