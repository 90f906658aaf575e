// A client written exactly like the clinic's existing front end: `io(url, {auth: {token}})`
// with socket.io-client's default options (polling first, then the upgrade; automatic
// reconnection) and one static token, and `socket.on('appointments.checkin', …)`. No `seq`
// bookkeeping, no `GET /api/events`: it must stay live and miss nothing through a network
// cut, a restart of its node, a node killed under it, its token's expiry and a storage outage,
// by Socket.IO's own connection state recovery (answered from the durable log).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { io } from 'socket.io-client';
import { startServer, startPostgres, setupClinic, sleep } from './helpers.mjs';
import { startProxy } from './proxy.mjs';

/** A stock client, recording the check-ins it receives and its connections. */
function stockClient(url, token, t) {
  const socket = io(url, { auth: { token } });
  const client = {
    socket,
    checkins: [],
    opened: [],
    connects: [],
    disconnects: [],
    errors: [],
  };
  socket.io.on('open', () => client.opened.push(socket.io.engine.transport.name));
  socket.on('connect', () => client.connects.push({ recovered: socket.recovered, transport: socket.io.engine.transport.name }));
  socket.on('disconnect', (reason) => client.disconnects.push(reason));
  socket.on('connect_error', (error) => client.errors.push(error.message));
  socket.on('appointments.checkin', (appointment, meta, offset) => client.checkins.push({ id: appointment.id, seq: meta.seq, offset }));
  t.after(() => socket.close());
  return client;
}

async function until(what, check, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Books `count` appointments, for check-ins later. */
async function book(c, count) {
  const booked = [];
  for (let i = 0; i < count; i++) {
    const minutes = 8 * 60 + i * 5;
    const hhmm = (m) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
    booked.push(await c.appointment(hhmm(minutes), hhmm(minutes + 5)));
  }
  return booked;
}

async function checkIn(c, appointment) {
  const res = await c.status(appointment.id, 'check-in');
  assert.equal(res.status, 200, JSON.stringify(res.body));
}

/** Every booked appointment checked in exactly once, in `seq` order. */
function assertAllOnceInOrder(client, booked) {
  const ids = client.checkins.map((e) => e.id);
  assert.deepEqual([...ids].sort((a, b) => a - b), booked.map((a) => a.id).sort((a, b) => a - b), `check-ins received: ${ids.join(',')}`);
  const seqs = client.checkins.map((e) => e.seq);
  assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'in seq order');
  for (const e of client.checkins) assert.equal(e.offset, String(e.seq), 'the offset is the seq as a string');
}

test('a client with default options connects by polling, upgrades, gets a pid, and receives check-ins with their offset', async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  const c = await setupClinic(server);
  const [appointment] = await book(c, 1);
  const client = stockClient(server.base, c.a.token, t);
  await until('connect', () => client.connects.length === 1);
  assert.deepEqual(client.opened, ['polling'], 'socket.io-client opens by polling');
  assert.equal(client.connects[0].recovered, false);
  assert.equal(typeof client.socket._pid, 'string', 'the CONNECT answer carries a pid');
  await until('upgrade', () => client.socket.io.engine.transport.name === 'websocket');
  await checkIn(c, appointment);
  await until('the check-in', () => client.checkins.length === 1);
  assertAllOnceInOrder(client, [appointment]);
});

test('a network cut during check-ins: the client reconnects, is recovered and misses nothing', async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  const c = await setupClinic(server);
  const booked = await book(c, 9);
  const proxy = await startProxy(server.port);
  t.after(() => proxy.close());
  const client = stockClient(proxy.url, c.a.token, t);
  await until('connect', () => client.connects.length === 1);
  for (const a of booked.slice(0, 3)) await checkIn(c, a);
  await until('the first check-ins', () => client.checkins.length === 3);
  proxy.cut();
  for (const a of booked.slice(3, 7)) await checkIn(c, a);
  await sleep(4000);
  proxy.heal();
  await until('the reconnection', () => client.connects.length === 2);
  assert.equal(client.connects[1].recovered, true, 'socket.recovered after the cut');
  for (const a of booked.slice(7)) await checkIn(c, a);
  await until('every check-in', () => client.checkins.length === booked.length);
  await sleep(300);
  assertAllOnceInOrder(client, booked);
  assert.ok(!client.disconnects.includes('io server disconnect'), `disconnects: ${client.disconnects}`);
});

test('a restart of its node: the client comes back to the new process and is recovered from the log', async (t) => {
  const first = await startServer();
  const c = await setupClinic(first);
  const booked = await book(c, 6);
  const proxy = await startProxy(first.port);
  t.after(() => proxy.close());
  const client = stockClient(proxy.url, c.a.token, t);
  await until('connect', () => client.connects.length === 1);
  await checkIn(c, booked[0]);
  await until('the first check-in', () => client.checkins.length === 1);
  // The server stops (its sockets' transports close: no DISCONNECT), a new process starts on
  // the same database, and check-ins continue through it while the client is away.
  proxy.cut();
  assert.equal(await first.terminate(), 0);
  const second = await startServer({ databaseUrl: first.databaseUrl });
  t.after(() => second.stop());
  t.after(() => first.stop());
  const c2 = { status: (id, action) => second.api('PATCH', `/api/appointments/${id}/status`, { action }, c.a.token) };
  for (const a of booked.slice(1, 4)) await checkIn(c2, a);
  proxy.target(second.port);
  proxy.heal();
  await until('the reconnection', () => client.connects.length === 2);
  assert.equal(client.connects[1].recovered, true, 'recovered by a new process');
  for (const a of booked.slice(4)) await checkIn(c2, a);
  await until('every check-in', () => client.checkins.length === booked.length);
  await sleep(300);
  assertAllOnceInOrder(client, booked);
});

test('a node killed under it: the client reconnects to another node and is recovered from the shared log', async (t) => {
  const db = await startPostgres();
  t.after(() => db.destroy());
  const a = await startServer({ databaseUrl: db.url });
  const b = await startServer({ databaseUrl: db.url });
  t.after(() => a.stop());
  t.after(() => b.stop());
  const c = await setupClinic(b);
  const booked = await book(c, 6);
  const proxy = await startProxy(a.port);
  t.after(() => proxy.close());
  const client = stockClient(proxy.url, c.a.token, t);
  await until('connect', () => client.connects.length === 1);
  await checkIn(c, booked[0]);
  await until('the first check-in', () => client.checkins.length === 1);
  await a.crash();
  for (const appointment of booked.slice(1, 4)) await checkIn(c, appointment);
  proxy.target(b.port);
  await until('the reconnection to the other node', () => client.connects.length === 2);
  assert.equal(client.connects[1].recovered, true, 'recovered by another node');
  for (const appointment of booked.slice(4)) await checkIn(c, appointment);
  await until('every check-in', () => client.checkins.length === booked.length);
  await sleep(300);
  assertAllOnceInOrder(client, booked);
});

test('past its token\'s hour the socket stays, and after a cut it comes back with the expired token and is recovered', async (t) => {
  const server = await startServer({ tokenTtl: 2 });
  t.after(() => server.stop());
  const c = await setupClinic(server);
  const booked = await book(c, 4);
  const proxy = await startProxy(server.port);
  t.after(() => proxy.close());
  const client = stockClient(proxy.url, c.a.token, t);
  await until('connect', () => client.connects.length === 1);
  await sleep(3000); // the token is now expired
  assert.deepEqual(client.disconnects, [], 'the socket outlives its token');
  // A static-token client: REST with the expired token is refused; the check-ins are made
  // with a fresh login here, as another desk would.
  const desk = {
    status: async (id, action) => server.api('PATCH', `/api/appointments/${id}/status`, { action }, await server.login(c.a.email, c.a.password)),
  };
  await checkIn(desk, booked[0]);
  await until('a check-in past the token\'s expiry', () => client.checkins.length === 1);
  proxy.cut();
  await checkIn(desk, booked[1]);
  await checkIn(desk, booked[2]);
  await sleep(1500);
  proxy.heal();
  await until('the reconnection with the expired token', () => client.connects.length === 2, 15_000);
  assert.equal(client.connects[1].recovered, true);
  await checkIn(desk, booked[3]);
  await until('every check-in', () => client.checkins.length === booked.length);
  assertAllOnceInOrder(client, booked);
  // Only the transport's errors while the network was cut: never a refused token.
  assert.deepEqual(client.errors.filter((m) => m !== 'xhr poll error' && m !== 'websocket error'), [], 'no connect_error');
});

test('an unknown, forged or foreign pid connects normally, not recovered, with a new pid', async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  const c = await setupClinic(server);
  const b = stockClient(server.base, c.b.token, t);
  await until('B connects', () => b.connects.length === 1);
  const foreign = b.socket._pid;
  for (const pid of ['not-a-pid', foreign]) {
    const socket = io(server.base, { auth: { token: c.a.token }, transports: ['websocket'], autoConnect: false, reconnection: false, forceNew: true });
    t.after(() => socket.close());
    // What socket.io-client would send after a disconnect, had it been given this pid.
    socket._pid = pid;
    socket._lastOffset = '0';
    const connected = new Promise((resolve, reject) => { socket.once('connect', resolve); socket.once('connect_error', reject); });
    socket.connect();
    await connected;
    assert.equal(socket.recovered, false, `pid ${pid.slice(0, 12)}… is not recovered`);
    assert.notEqual(socket._pid, pid, 'a new pid is given');
  }
});

test('while storage is out the Engine.IO handshake answers 503, clients are not told to stop, and after a 15 s outage they are recovered', async (t) => {
  const db = await startPostgres();
  t.after(() => db.destroy());
  const server = await startServer({ databaseUrl: db.url });
  t.after(() => server.stop());
  const c = await setupClinic(server);
  const booked = await book(c, 4);
  const clients = [stockClient(server.base, c.a.token, t), stockClient(server.base, c.a.token, t)];
  await until('connect', () => clients.every((cl) => cl.connects.length === 1));
  await checkIn(c, booked[0]);
  await until('the first check-in', () => clients.every((cl) => cl.checkins.length === 1));
  await db.stop();
  await until('the node closes its sockets', () => clients.every((cl) => cl.disconnects.length >= 1), 12_000);
  const handshake = await fetch(`${server.base}/socket.io/?EIO=4&transport=polling`);
  assert.equal(handshake.status, 503, 'a new Engine.IO session is refused at the transport');
  assert.ok(handshake.headers.get('retry-after'));
  const body = await handshake.json();
  assert.equal(body.statusCode, 503);
  await sleep(15_000 - 5_000);
  await db.start();
  await until('every client back', () => clients.every((cl) => cl.connects.length >= 2), 30_000);
  for (const a of booked.slice(1)) await checkIn(c, a);
  await until('every check-in', () => clients.every((cl) => cl.checkins.length === booked.length), 15_000);
  for (const cl of clients) {
    assertAllOnceInOrder(cl, booked);
    assert.equal(cl.connects.at(-1).recovered, true, 'recovered after the outage');
    assert.ok(!cl.disconnects.includes('io server disconnect'), `disconnects: ${cl.disconnects}`);
    assert.equal(cl.socket.connected, true);
  }
});
