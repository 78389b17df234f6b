#!/usr/bin/env node
// node-server.js - http.createServer with Node's DEFAULT keep-alive timeout,
// for tests/capture-upstreams.sh.
//
// keepAliveTimeout is left at its default (5000 ms, lib/_http_server.js);
// Node >= 20 arms the socket's idle timer with keepAliveTimeout + 1000 ms
// (HTTP_SERVER_KEEP_ALIVE_TIMEOUT_BUFFER), so idle connections are closed
// ~6 s after the last response while the response still says
// "Keep-Alive: timeout=5".  Answers every request with "ok\n".
// Logs JSON lines on stdout:
//   {"ev":"ready",...}                        listening; version and timeouts
//   {"ev":"request","port":P,"t":epoch}       response finished
//   {"ev":"idle-close","port":P,"t":epoch,"idle_ms":ms}
//        the socket's 'timeout' event (the server destroys it right after):
//        idle_ms from the end of the last response
//   {"ev":"close","port":P,"t":epoch}         any socket close
//
// Usage: node node-server.js PORT
'use strict';
const http = require('http');

const port = parseInt(process.argv[2] || '18104', 10);
const log = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const now = () => Number(process.hrtime.bigint()) / 1e6; // ms, monotonic

const srv = http.createServer((req, res) => {
  req.resume();
  res.setHeader('Content-Type', 'text/plain');
  res.setHeader('Content-Length', '3');
  res.end('ok\n');
  res.on('finish', () => {
    req.socket._upLast = now();
    log({ ev: 'request', port: req.socket.remotePort, t: Date.now() / 1000, path: req.url });
  });
});
srv.on('connection', (sock) => {
  const p = sock.remotePort;
  sock.on('timeout', () => {
    const last = sock._upLast;
    log({ ev: 'idle-close', port: p, t: Date.now() / 1000,
          idle_ms: last ? +(now() - last).toFixed(3) : null });
  });
  sock.on('close', () => log({ ev: 'close', port: p, t: Date.now() / 1000 }));
});
srv.listen(port, '127.0.0.1', () => {
  log({ ev: 'ready', node: process.version, port,
        keepAliveTimeout: srv.keepAliveTimeout,
        headersTimeout: srv.headersTimeout, requestTimeout: srv.requestTimeout });
});
const stop = () => { srv.close(); process.exit(0); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
