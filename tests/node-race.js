#!/usr/bin/env node
// node-race.js - real Node.js keep-alive traffic on 127.0.0.1 for rstscope.
//
// Node stdlib only (no npm).  Two roles, run as two processes so that the
// client's busy-waits never delay the server's timers:
//
//   node node-race.js server
//       18090  http.createServer with the DEFAULT keepAliveTimeout (5000 ms;
//              Node 20 closes idle connections ~1 s later, ~6 s after the
//              last response).  Answers every request at once with "ok\n".
//       18092  http.createServer whose handler calls
//              req.socket.resetAndDestroy() as soon as a request arrives
//              (SO_LINGER {1,0} close: RST instead of a response).
//       Prints "ready" on stdout when both listen; logs, as JSON lines on
//       stdout, every idle close with the measured idle time.
//
//   node node-race.js client
//       Uses http.Agent({keepAlive: true, maxSockets: 1}) everywhere
//       (one agent per connection, so each connection's story is simple):
//       calibrate  3 connections, 1 request each, left idle: the server
//                  closes them (server FIN, then client FIN: clean idle
//                  close).  The client measures the time from the end of
//                  the response to the server's FIN; the median is the
//                  server's idle timeout T as the client sees it.
//       race       3 lanes x ROUNDS rounds; each round is a fresh
//                  connection: one request, then idle until T + delta,
//                  delta drawn from [-2, +4] ms, then a second request on
//                  the pooled socket.  Timing: a timer wakes the client
//                  10 ms early and it busy-waits (blocking its event loop,
//                  as a loaded client would be) until T + delta, so a FIN
//                  that arrives meanwhile is not processed and the agent
//                  still hands out the pooled socket.  If the request
//                  leaves after the server's FIN, the server kernel
//                  answers with a bare RST and the client gets ECONNRESET
//                  or "socket hang up" (a race).  If it arrives first the
//                  server answers it and the client then closes the
//                  connection (a "won" near-timeout reuse).
//       normal     3 connections, 6 requests each 0.8 s apart (reused well
//                  before the timeout), then closed by the client
//                  (agent.destroy(): client FIN first).
//       idle       2 more connections, 3 requests 0.5 s apart, then left
//                  idle 8 s: server FIN, client FIN.
//       refused    3 connects to 127.0.0.1:18091 where nothing listens
//                  (SYN, RST/ACK; ECONNREFUSED).
//       abort      2 requests to 18092 (server resetAndDestroy: RST).
//       Logs one JSON line per connection outcome on stdout (kind, local
//       port, outcome, error code), ends with a "summary" line.
//
// Usage: node node-race.js server | client [--rounds N]
'use strict';
const http = require('http');

const HOST = '127.0.0.1';
const PORT = 18090;
const REFUSED_PORT = 18091;
const ABORT_PORT = 18092;

function log(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}
const now = () => Number(process.hrtime.bigint()) / 1e6; // ms, monotonic
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- server
function server() {
  const srv = http.createServer((req, res) => {
    req.resume();
    res.setHeader('Content-Type', 'text/plain');
    res.end('ok\n');
  });
  // keepAliveTimeout deliberately left at its default.  Measure the idle
  // close: from the end of the last response to the socket's 'timeout'
  // (our listener runs next to the server's, which destroys the socket).
  srv.on('request', (req, res) => {
    res.on('finish', () => { req.socket._rstscopeLast = now(); });
  });
  srv.on('connection', (sock) => {
    const port = sock.remotePort;
    sock.on('timeout', () => {
      const last = sock._rstscopeLast;
      log({ ev: 'server-idle-close', port,
            idle_ms: last ? +(now() - last).toFixed(2) : null });
    });
  });
  const abortSrv = http.createServer((req) => {
    req.socket.resetAndDestroy();
  });
  let up = 0;
  const ready = () => {
    if (++up === 2) {
      log({ ev: 'ready', node: process.version,
            keepAliveTimeout: srv.keepAliveTimeout,
            keepAliveTimeoutBuffer: srv.keepAliveTimeoutBuffer });
    }
  };
  srv.listen(PORT, HOST, ready);
  abortSrv.listen(ABORT_PORT, HOST, ready);
  const stop = () => { srv.close(); abortSrv.close(); process.exit(0); };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

// ---------------------------------------------------------------- client
// request(agent, port) -> {port (local), reused, status, err, tEnd}
function request(agent, port = PORT) {
  return new Promise((resolve) => {
    const r = { lport: null, reused: false, status: null, err: null, tEnd: null };
    const req = http.get({ host: HOST, port, path: '/', agent }, (res) => {
      r.status = res.statusCode;
      res.resume();
      res.on('end', () => { r.tEnd = now(); resolve(r); });
    });
    req.on('socket', (s) => {
      r.reused = req.reusedSocket;
      const set = () => { r.lport = s.localPort; };
      if (s.localPort) set(); else s.once('connect', set);
    });
    req.on('error', (e) => { r.err = e.code || e.message; resolve(r); });
  });
}

const median = (a) => { const b = [...a].sort((x, y) => x - y); return b[b.length >> 1]; };

async function calibrate() {
  // one request per connection; wait for the server's FIN ('end' on the
  // socket) and measure it from the end of the response
  const one = async (i) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    await sleep(i * 150);
    let sock;
    const got = new Promise((resolve) => {
      const req = http.get({ host: HOST, port: PORT, path: '/', agent }, (res) => {
        res.resume();
        res.on('end', () => {
          const tEnd = now();
          sock.once('end', () => resolve({ lport: sock.localPort, fin_ms: now() - tEnd }));
        });
      });
      req.on('socket', (s) => { sock = s; });
    });
    const r = await got;
    log({ kind: 'idle-close', phase: 'calibrate', lport: r.lport,
          client_saw_fin_after_ms: +r.fin_ms.toFixed(2) });
    await sleep(50);
    agent.destroy();
    return r.fin_ms;
  };
  const ms = await Promise.all([0, 1, 2].map(one));
  return median(ms);
}

async function raceLane(lane, T, rounds, stats) {
  await sleep(lane * 2100);
  for (let i = 0; i < rounds; i++) {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const r1 = await request(agent);
    if (r1.err) {
      log({ kind: 'race-setup-failed', lane, round: i, lport: r1.lport, err: r1.err });
      agent.destroy();
      continue;
    }
    const delta = -2 + Math.random() * 6;
    const target = r1.tEnd + T + delta;
    const wake = target - 10 - now();
    if (wake > 0) await sleep(wake);
    const woke = now();
    while (now() < target) { /* busy-wait: event loop blocked on purpose */ }
    const sent = now();
    const r2 = await request(agent);
    const o = {
      lane, round: i, lport: r1.lport, delta_ms: +delta.toFixed(2),
      late_ms: +(sent - target).toFixed(2), woke_early_ms: +(target - woke).toFixed(2),
    };
    if (!r2.reused) {
      // the FIN was processed before the busy-wait: the agent opened a
      // new connection, so no race on this round
      log({ kind: 'race-missed', ...o, new_lport: r2.lport, err: r2.err });
      stats.missed++;
    } else if (r2.err) {
      log({ kind: 'race', ...o, err: r2.err });
      stats.race++;
    } else {
      log({ kind: 'race-won', ...o, status: r2.status });
      stats.won++;
    }
    await sleep(30);
    agent.destroy(); // closes a surviving connection (client FIN)
    await sleep(60 + Math.random() * 40);
  }
}

async function normalConn(i) {
  await sleep(3000 + i * 9000);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const ports = new Set();
  let ok = 0, reused = 0;
  for (let k = 0; k < 6; k++) {
    const r = await request(agent);
    ports.add(r.lport);
    if (!r.err) ok++;
    if (r.reused) reused++;
    await sleep(800);
  }
  agent.destroy();
  log({ kind: 'normal', lport: [...ports].join(','), requests: 6, ok, reused });
}

async function idleConn(i) {
  await sleep(14000 + i * 17000);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  let r;
  for (let k = 0; k < 3; k++) { r = await request(agent); await sleep(500); }
  await sleep(7500);
  agent.destroy();
  log({ kind: 'idle-close', phase: 'idle', lport: r.lport });
}

async function refused(i) {
  await sleep(5000 + i * 11000);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const r = await request(agent, REFUSED_PORT);
  agent.destroy();
  log({ kind: 'refused', lport: r.lport, err: r.err });
}

async function abort(i) {
  await sleep(7000 + i * 20000);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const r = await request(agent, ABORT_PORT);
  agent.destroy();
  log({ kind: 'abort', lport: r.lport, err: r.err });
}

async function client(rounds) {
  const t0 = now();
  // the agent unref()s pooled sockets: keep the process alive meanwhile
  const hold = setInterval(() => {}, 1000);
  const T = await calibrate();
  log({ ev: 'calibrated', node: process.version, server_idle_close_seen_by_client_ms: +T.toFixed(2) });
  const stats = { race: 0, won: 0, missed: 0 };
  await Promise.all([
    ...[0, 1, 2].map((l) => raceLane(l, T, rounds, stats)),
    ...[0, 1, 2].map(normalConn),
    ...[0, 1].map(idleConn),
    ...[0, 1, 2].map(refused),
    ...[0, 1].map(abort),
  ]);
  log({ ev: 'summary', ...stats, seconds: +((now() - t0) / 1000).toFixed(1) });
  clearInterval(hold);
}

const role = process.argv[2];
if (role === 'server') server();
else if (role === 'client') {
  const ri = process.argv.indexOf('--rounds');
  client(ri > 0 ? parseInt(process.argv[ri + 1], 10) : 8);
} else {
  process.stderr.write('usage: node node-race.js server | client [--rounds N]\n');
  process.exit(2);
}
