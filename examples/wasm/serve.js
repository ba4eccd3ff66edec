'use strict'
// A tiny static HTTP server for the example page: this directory at `/`, the browser build of
// the package (bindings/wasm/pkg/web, made by bindings/wasm/build.sh) at `/pkg/`. Localhost
// only. `node examples/wasm/serve.js [PORT]` (default 8080), then open http://127.0.0.1:PORT/
// with the name server's WebSocket URL in `?namesrv=` (see README.md).

const fs = require('node:fs')
const http = require('node:http')
const path = require('node:path')

const ROOT = __dirname
const PKG = path.resolve(__dirname, '..', '..', 'bindings', 'wasm', 'pkg', 'web')
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.css': 'text/css',
  '.ts': 'text/plain',
}

const CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; connect-src 'self' ws: wss:"

/** Starts serving on 127.0.0.1:`port` (0 = any free port); resolves with the server. */
function serve(port = 0) {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://localhost')
    let file
    const rel = decodeURIComponent(url.pathname)
    if (rel.startsWith('/pkg/')) file = path.join(PKG, rel.slice('/pkg/'.length))
    else file = path.join(ROOT, rel === '/' ? 'index.html' : rel)
    const base = rel.startsWith('/pkg/') ? PKG : ROOT
    if (!file.startsWith(base + path.sep) && file !== base) {
      res.writeHead(403).end()
      return
    }
    fs.readFile(file, (err, data) => {
      if (err) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found')
        return
      }
      const headers = { 'content-type': TYPES[path.extname(file)] || 'application/octet-stream', 'cache-control': 'no-store' }
      // A strict policy: no eval (only WebAssembly compilation), scripts from here only,
      // connections to here and to WebSocket URLs. The page works under it.
      if (file.endsWith('.html')) headers['content-security-policy'] = CSP
      res.writeHead(200, headers)
      res.end(data)
    })
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve(server))
  })
}

module.exports = { serve }

if (require.main === module) {
  serve(Number(process.argv[2] || 8080)).then((s) => {
    console.log(`serving http://127.0.0.1:${s.address().port}/ (package from ${PKG})`)
  })
}
