'use strict'
// The WebSocket transport at the frame level, against a scripted peer (a `ws` server speaking
// remoting frames): what FerroMQ's servers never do but a peer may (a frame split across
// messages, several frames in one message, answers to unknown opaques), and the answer to a
// request the server sends to the client (FerroMQ's broker only sends oneway ones). The
// scenarios run against the real servers; this peer stands in for no server behaviour there.

const { describe, it } = require('node:test')
const assert = require('node:assert/strict')
const { WebSocketServer } = require('ws')

const { load, fresh } = require('./cluster')

const { Admin } = load()

/** One remoting frame with a JSON header. */
function frame(header, body = Buffer.alloc(0)) {
  const h = Buffer.from(JSON.stringify({ language: 'JAVA', version: 0, extFields: {}, ...header }))
  const out = Buffer.alloc(8 + h.length + body.length)
  out.writeInt32BE(4 + h.length + body.length, 0)
  out.writeInt32BE(h.length, 4) // serialize type 0 (JSON) in the top byte
  h.copy(out, 8)
  body.copy(out, 8 + h.length)
  return out
}

/** Every whole frame in `buf`: `[{ header, body }]`. */
function frames(buf) {
  const out = []
  let at = 0
  while (at + 4 <= buf.length) {
    const len = buf.readInt32BE(at)
    const headerLen = buf.readInt32BE(at + 4) & 0xffffff
    const header = JSON.parse(buf.subarray(at + 8, at + 8 + headerLen).toString())
    out.push({ header, body: buf.subarray(at + 8 + headerLen, at + 4 + len) })
    at += 4 + len
  }
  return out
}

/** A scripted peer on a free port; `onRequest(frame, socket)` answers the client's requests. */
async function peer(onFrame) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await new Promise((r) => wss.once('listening', r))
  wss.on('connection', (socket) => {
    socket.on('message', (data) => {
      for (const f of frames(Buffer.from(data))) onFrame(f, socket)
    })
  })
  return {
    url: `ws://127.0.0.1:${wss.address().port}/`,
    close: () => new Promise((r) => {
      for (const c of wss.clients) c.terminate()
      wss.close(r)
    }),
  }
}

describe('WebSocket transport (scripted peer)', () => {
  it('reassembles a split frame, reads two frames of one message, and answers server requests', async () => {
    let answered = null
    let routeRequest = null
    const p = await peer((f, socket) => {
      if (f.header.flag & 1) {
        // The client's answer to our request 777.
        answered = f.header
        const reply = frame({ code: 17, flag: 1, opaque: routeRequest.opaque, remark: 'no route here' })
        // An answer nobody waits for, then the real one, in one message, then split.
        const stray = frame({ code: 0, flag: 1, opaque: 123456 })
        const both = Buffer.concat([stray, reply])
        socket.send(both.subarray(0, 5))
        socket.send(both.subarray(5, stray.length + 7))
        socket.send(both.subarray(stray.length + 7))
        return
      }
      assert.equal(f.header.code, 105, 'GET_ROUTEINFO_BY_TOPIC')
      routeRequest = f.header
      // Before answering, ask the client something (not oneway): it must answer with our
      // opaque and the response flag.
      socket.send(frame({ code: 9999, flag: 0, opaque: 777 }))
    })
    const admin = new Admin({ namesrvAddr: p.url, instanceName: fresh('i'), requestTimeoutMs: 5000 })
    try {
      await assert.rejects(admin.topicRoute('SomeTopic'), (e) => {
        assert.equal(e.code, 'TopicNotFound', e.message)
        assert.equal(e.responseCode, 17)
        assert.equal(e.remark, 'no route here')
        return true
      })
      assert.ok(answered, 'the client answered the server request')
      assert.equal(answered.opaque, 777)
      assert.equal(answered.code, 3, 'REQUEST_CODE_NOT_SUPPORTED')
      assert.match(answered.remark, /9999/)
    } finally {
      await admin.shutdown()
      await p.close()
    }
  })

  it('no answer: a Timeout error; a text message: the connection closes and the next request reconnects', async () => {
    let requests = 0
    const p = await peer((f, socket) => {
      requests += 1
      if (requests === 1) return // never answered
      if (requests === 2) {
        socket.send('not binary')
        return
      }
      socket.send(frame({ code: 17, flag: 1, opaque: f.header.opaque, remark: 'third' }))
    })
    const admin = new Admin({ namesrvAddr: p.url, instanceName: fresh('i'), requestTimeoutMs: 300 })
    try {
      await assert.rejects(admin.topicRoute('A'), (e) => e.code === 'Timeout' && e.retryable === true)
      await assert.rejects(admin.topicRoute('B'), (e) => ['ConnectionClosed', 'Timeout'].includes(e.code))
      await assert.rejects(admin.topicRoute('C'), (e) => e.code === 'TopicNotFound' && e.remark === 'third')
      assert.equal(requests, 3)
    } finally {
      await admin.shutdown()
      await p.close()
    }
  })
})
