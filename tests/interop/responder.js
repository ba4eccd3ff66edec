#!/usr/bin/env node
'use strict'
// Request-reply responder in Node.js (tests/interop/README.md).
//
//   node responder.js --namesrv ADDR --topic T --group G [--ready-timeout SECONDS]
//
// Starts a producer and a push consumer of group G on topic T (from the first offset) and
// answers every request with `pong:<body>`. Prints the single line `ready` on standard output
// once the consumer holds queues of T, then runs until SIGTERM (or SIGINT) or until standard
// input closes, and shuts down. Logs go to standard error. Exits non-zero when it could not
// start, or when a reply could not be sent. The package is bindings/node (its addon built by
// bindings/node/ci.sh), or the directory in FERROMQ_NODE_PACKAGE.

const path = require('node:path')

const pkg = process.env.FERROMQ_NODE_PACKAGE || path.join(__dirname, '..', '..', 'bindings', 'node')
const { Producer, PushConsumer, replyTo } = require(pkg)

const log = (...args) => console.error('responder.js:', ...args)

function parseArgs(argv) {
  const known = { '--namesrv': 'namesrv', '--topic': 'topic', '--group': 'group', '--ready-timeout': 'readyTimeout' }
  const out = { readyTimeout: '60' }
  for (let i = 0; i < argv.length; i += 2) {
    const key = known[argv[i]]
    if (!key || argv[i + 1] === undefined) throw new Error(`unknown option or missing value: ${argv[i]} (see the header of responder.js)`)
    out[key] = argv[i + 1]
  }
  for (const need of ['namesrv', 'topic', 'group']) {
    if (!out[need]) throw new Error(`--${need} is required`)
  }
  out.readyTimeout = Number(out.readyTimeout)
  if (!(out.readyTimeout > 0)) throw new Error('--ready-timeout must be a positive number of seconds')
  return out
}

async function main() {
  const args = parseArgs(process.argv.slice(2))
  let answered = 0
  let failed = 0
  let stopping = false
  let wake = () => {}
  const stopped = new Promise((resolve) => { wake = resolve })
  const stop = (why) => {
    if (stopping) return
    stopping = true
    log(`stopping (${why})`)
    wake()
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
  process.stdin.on('end', () => stop('standard input closed'))
  process.stdin.on('error', () => stop('standard input failed'))
  process.stdin.resume()

  const replier = new Producer({ namesrvAddr: args.namesrv, group: `${args.group}-replier` })
  const consumer = new PushConsumer({ namesrvAddr: args.namesrv, group: args.group, consumeFrom: 'firstOffset' })
  await replier.start()
  try {
    await consumer.subscribe(args.topic)
    await consumer.start(async (request) => {
      try {
        await replier.sendReply(replyTo(request, Buffer.concat([Buffer.from('pong:'), request.body])))
        answered += 1
      } catch (e) {
        failed += 1
        log(`reply to ${request.msgId} not sent: ${e.message} (${e.code})`)
      }
    })
    try {
      const deadline = Date.now() + args.readyTimeout * 1000
      while (!consumer.assignedQueues().some((q) => q.topic === args.topic)) {
        if (stopping) throw new Error(`stopped before any queue of ${args.topic} was assigned`)
        if (Date.now() > deadline) throw new Error(`no queue of ${args.topic} assigned within ${args.readyTimeout} s`)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      process.stdout.write('ready\n')
      await stopped
    } finally {
      await consumer.shutdown()
    }
  } finally {
    await replier.shutdown()
  }
  log(`answered ${answered} requests, ${failed} replies failed`)
  return failed ? 1 : 0
}

// Exits explicitly: standard input (a pipe) would keep the event loop alive. (Writes to a pipe
// are synchronous on Linux, so `ready` and the logs are out by then.)
main().then(
  (code) => process.exit(code),
  (e) => {
    log(e && e.message ? `${e.message}${e.code ? ` (${e.code})` : ''}` : String(e))
    process.exit(1)
  },
)
