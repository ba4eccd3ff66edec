'use strict'
// Reading message-trace records back (docs/message-trace.md, "Trace data format") for the Node
// and WASM suites: a trace message's body is a run of records, each ending with \u0002, its
// fields separated by \u0001, the type first. Only the standard library.

const TRACE_TOPIC = 'RMQ_SYS_TRACE_TOPIC'

/**
 * The records about `msgId` in the trace topic, each an array of fields (the type first),
 * found through `admin.queryByKey` (either binding's Admin). Empty while the trace topic or its
 * index entries do not exist yet (the records are written in the background).
 */
async function traceRecords(admin, msgId, topic = TRACE_TOPIC) {
  let found
  try {
    found = await admin.queryByKey(topic, msgId, 64)
  } catch (e) {
    return []
  }
  return found.flatMap((m) => Buffer.from(m.body).toString().split('\u0002'))
    .map((r) => r.split('\u0001'))
    .filter((f) => f.length > 1 && f.includes(msgId))
}

/**
 * Waits (30 s at most, through `waitFor`) until the records of `msgId` hold exactly `counts`
 * of each type (`{ Pub: 1, SubBefore: 1 }`) and at least `ends` EndTransaction records (none
 * when 0); returns them grouped by type.
 */
async function waitForRecords(admin, waitFor, msgId, counts, ends = 0) {
  const found = await waitFor(`the trace records of ${msgId}: ${JSON.stringify(counts)}, ${ends} EndTransaction`, 30000, async () => {
    const f = await traceRecords(admin, msgId)
    const n = (type) => f.filter((r) => r[0] === type).length
    const endsOk = ends ? n('EndTransaction') >= ends : n('EndTransaction') === 0
    return Object.entries(counts).every(([type, c]) => n(type) === c) && endsOk && f
  })
  const byType = { EndTransaction: [] }
  for (const r of found) (byType[r[0]] ||= []).push(r)
  return byType
}

module.exports = { TRACE_TOPIC, traceRecords, waitForRecords }
