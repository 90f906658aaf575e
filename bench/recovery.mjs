// What a recovered reconnect costs the server (Socket.IO connection state recovery from the
// log). N stock clients (socket.io-client, websocket, automatic reconnection) hold sockets of
// one account through a TCP proxy; the proxy cuts them all, K check-ins are made while they
// are away, and the proxy lets them back. Measured from the heal until every client has every
// missed event: the wall time and the server's CPU (utime + stime from /proc), for clients that
// recover (they keep their pid) and, in a second round, for the same clients made to forget
// their pid (a plain reconnect: nothing replayed, the gap is theirs to fill). Uses the protocol
// suite's helpers and its socket.io-client (npm --prefix tests/protocol ci):
//   FILA_BIN=target/release/fila N=1000 K=20 node bench/recovery.mjs
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { startServer, setupClinic, sleep } from '../tests/protocol/helpers.mjs';
import { startProxy } from '../tests/protocol/proxy.mjs';

const { io } = createRequire(new URL('../tests/protocol/package.json', import.meta.url))('socket.io-client');

const N = Number(process.env.N ?? 1000);
const K = Number(process.env.K ?? 20);
const TICK_US = 1e6 / 100; // USER_HZ

function cpuUs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_US;
}

async function until(what, check, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await sleep(5);
  }
}

async function metric(server, name) {
  const text = await (await fetch(`${server.base}/metrics`)).text();
  return [...text.matchAll(new RegExp(`^${name}(\\{[^}]*\\})? (\\d+)`, 'gm'))].reduce((sum, m) => sum + Number(m[2]), 0);
}

const server = await startServer();
const c = await setupClinic(server);
const hhmm = (m) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
const booked = [];
for (let i = 0; i < 2 * K; i++) booked.push(await c.appointment(hhmm(6 * 60 + i * 5), hhmm(6 * 60 + i * 5 + 5)));
const proxy = await startProxy(server.port);

const clients = [];
for (let i = 0; i < N; i += 100) {
  const batch = Array.from({ length: Math.min(100, N - i) }, () => {
    const socket = io(proxy.url, { auth: { token: c.a.token }, transports: ['websocket'], reconnectionDelay: 100, reconnectionDelayMax: 500, forceNew: true });
    const client = { socket, got: new Set(), connects: 0, recovered: 0 };
    socket.on('connect', () => { client.connects += 1; if (socket.recovered) client.recovered += 1; });
    socket.on('appointments.checkin', (a) => client.got.add(a.id));
    return client;
  });
  clients.push(...batch);
  await until('connect', () => batch.every((cl) => cl.connects === 1));
}

const rows = [];
for (const [round, keepPid] of [[0, true], [1, false]]) {
  const missed = booked.slice(round * K, (round + 1) * K);
  const before = clients.map((cl) => cl.connects);
  proxy.cut();
  await until('every client notices', () => clients.every((cl) => !cl.socket.connected));
  if (!keepPid) for (const cl of clients) cl.socket._pid = undefined;
  for (const a of missed) {
    const res = await c.status(a.id, 'check-in');
    if (res.status !== 200) throw new Error(`check-in: ${res.status}`);
  }
  const replayedBefore = await metric(server, 'fila_socket_recovery_replayed_events_total');
  const cpuBefore = cpuUs(server.pid);
  const start = performance.now();
  proxy.heal();
  await until('every client back', () => clients.every((cl, i) => cl.connects > before[i]));
  const connectedMs = performance.now() - start;
  const cpuConnected = cpuUs(server.pid);
  let allMs = null;
  if (keepPid) {
    await until('every missed event', () => clients.every((cl) => missed.every((a) => cl.got.has(a.id))));
    allMs = performance.now() - start;
  }
  await sleep(1000);
  const cpu = cpuUs(server.pid) - cpuBefore;
  const replayed = (await metric(server, 'fila_socket_recovery_replayed_events_total')) - replayedBefore;
  const recovered = clients.filter((cl) => cl.recovered > round && keepPid).length;
  rows.push({ keepPid, connectedMs, allMs, cpu, cpuConnected: cpuConnected - cpuBefore, replayed, recovered });
}

console.log(`\n${N} sockets, ${K} check-ins missed while cut (Fila ${process.env.FILA_BIN ?? 'target/debug/fila'})\n`);
console.log('| reconnect | clients recovered | events replayed | all reconnected | all have every missed event | server CPU (heal + 1 s) | CPU per reconnect |');
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.keepPid ? 'recovered (pid kept)' : 'plain (pid dropped)'} | ${r.recovered}/${N} | ${r.replayed} | ${r.connectedMs.toFixed(0)} ms | ${r.allMs === null ? 'n/a (nothing replayed)' : `${r.allMs.toFixed(0)} ms`} | ${(r.cpu / 1000).toFixed(0)} ms | ${(r.cpu / N).toFixed(0)} µs |`);
}
for (const cl of clients) cl.socket.close();
await proxy.close();
await server.stop();
process.exit(0);
