// Several nodes on one PostgreSQL, no Redis: every node reads the log for the accounts whose
// sockets it holds, woken by the database's NOTIFY. Checked with real processes: a change made
// through any node reaches every socket of its account once, in seq order, never another
// account's; a node killed mid-stream loses nothing acknowledged; a database outage leaves no
// socket connected and silently behind; a revoked key is cut off on every node within a second.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, startPostgres, setupClinic, waitForEvent, waitForDisconnect, sleep } from './helpers.mjs';

/** `count` nodes on one fresh PostgreSQL (the first creates the schema). */
async function cluster(t, count, pg) {
  const db = pg ?? await startPostgres();
  if (!pg) t.after(() => db.destroy());
  const nodes = [];
  for (let i = 0; i < count; i++) {
    const node = await startServer({ databaseUrl: db.url });
    t.after(() => node.stop());
    nodes.push(node);
  }
  return { db, nodes };
}

/**
 * A client as the web app behaves: it follows one account through a socket on some node,
 * notices `seq` gaps and fills them from `GET /api/events`, and when its socket drops it
 * reconnects to the next node that answers and fills the gap. `connections` records, per
 * socket, the `seq`s that arrived live, to check order and once-only delivery.
 */
class Follower {
  constructor(nodes, token, { start = 0, since = 0, accountId }) {
    Object.assign(this, { nodes, token, index: start, last: since, accountId });
    this.seen = new Map(); // seq → {event, data}
    this.connections = [];
    this.foreign = [];
    this.closed = false;
    this.filling = Promise.resolve();
  }

  /** Connects to the current node (or the next ones that answer). */
  async open() {
    for (let attempt = 0; !this.closed; attempt++) {
      const node = this.nodes[this.index % this.nodes.length];
      if (!node.down) {
        try {
          const socket = await node.connect(this.token, { transports: attempt % 2 ? ['polling'] : ['websocket'] });
          this.attach(socket, node);
          await this.fill(node);
          return;
        } catch { /* refused or unreachable: try the next node */ }
      }
      this.index += 1;
      await sleep(100);
    }
  }

  attach(socket, node) {
    const connection = { node, live: [], disconnected: false };
    this.connections.push(connection);
    this.socket = socket;
    socket.onAny((event, data, meta) => {
      connection.live.push(meta?.seq);
      if (data?.accountId !== undefined && data.accountId !== this.accountId) this.foreign.push({ event, data });
      this.take(meta.seq, event, data);
      if (meta.seq > this.last + 1) this.filling = this.filling.then(() => this.fill(node));
      else this.last = Math.max(this.last, meta.seq);
    });
    socket.on('disconnect', () => {
      connection.disconnected = true;
      if (this.closed) return;
      this.index += 1;
      this.reopening = this.open();
    });
  }

  take(seq, event, data) {
    if (!this.seen.has(seq)) this.seen.set(seq, { event, data });
  }

  /** Reads the log after the last contiguous `seq` (retrying while the database is away). */
  async fill(node) {
    for (;;) {
      const target = this.nodes.find((n) => !n.down) ?? node;
      const res = await target.api('GET', `/api/events?since=${this.contiguous()}&limit=100`, undefined, this.token).catch(() => ({ status: 0 }));
      if (res.status !== 200) { await sleep(200); continue; }
      for (const e of res.body) this.take(e.seq, e.event, e.data);
      this.last = Math.max(this.last, this.contiguous());
      if (res.body.length < 100) return;
    }
  }

  /** The highest `seq` up to which nothing is missing. */
  contiguous() {
    let seq = this.last;
    while (this.seen.has(seq + 1)) seq += 1;
    return seq;
  }

  close() {
    this.closed = true;
    this.socket?.close();
  }
}

/** Waits until every follower has every `seq` up to the account's latest. */
async function caughtUp(followers, lastSeq, timeoutMs) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const behind = followers.filter((f) => f.contiguous() < lastSeq);
    if (behind.length === 0) return;
    if (Date.now() > until) {
      assert.fail(`${behind.length} followers behind: at ${behind.map((f) => f.contiguous()).join(',')} of ${lastSeq}`);
    }
    await sleep(50);
  }
}

/** Live `seq`s of one socket: each once, in order, without a hole (a connected socket never
 *  misses an event silently: a node that falls behind drops its sockets instead). */
function assertLiveOrder(connection, where) {
  const seqs = connection.live;
  for (let i = 1; i < seqs.length; i++) {
    assert.equal(seqs[i], seqs[i - 1] + 1, `${where}: seq ${seqs[i]} after ${seqs[i - 1]} (live: ${seqs.join(',')})`);
  }
}

const ofId = (id) => (data) => data?.id === id;

/** The i-th 15-minute slot of the day from 07:00: [startTime, endTime]. */
function slot(i) {
  const at = (minutes) => `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
  return [at(420 + 15 * i), at(435 + 15 * i)];
}

test('three nodes on one PostgreSQL: each socket gets each event of its account once, in seq order, through any node', async (t) => {
  const { nodes } = await cluster(t, 3);
  const c = await setupClinic(nodes[0]);
  const sinceA = await c.lastSeq();
  // Two sockets of A and one of B on every node, websocket and polling.
  const socketsA = [];
  const socketsB = [];
  for (const node of nodes) {
    socketsA.push(await node.connect(c.a.token));
    socketsA.push(await node.connect(c.a.token, { via: 'header', transports: ['polling'] }));
    socketsB.push(await node.connect(c.b.token));
  }
  // Check-ins and B's doctors through every node, interleaved.
  const changes = [];
  for (let i = 0; i < 9; i++) {
    const node = nodes[i % 3];
    const [start, end] = slot(i);
    const booked = await node.api('POST', '/api/appointments', {
      patientId: c.patient.id, procedures: [{ id: c.procedure.id }], doctorId: c.doctor.id, date: c.today, startTime: start, endTime: end,
    }, c.a.token);
    assert.equal(booked.status, 201, JSON.stringify(booked.body));
    const res = await node.api('PATCH', `/api/appointments/${booked.body[0].id}/status`, { action: 'check-in' }, c.a.token);
    assert.equal(res.status, 200);
    changes.push(res.body);
    const doctor = await nodes[(i + 1) % 3].api('POST', '/api/doctors', { name: `Dra. Beta ${i}` }, c.b.token);
    assert.equal(doctor.status, 201);
  }
  const lastA = await c.lastSeq();
  assert.equal(lastA, sinceA + 18, 'one created and one checkin per appointment');
  for (const [i, socket] of socketsA.entries()) {
    for (const change of changes) {
      const [data] = await waitForEvent(socket, 'appointments.checkin', 3000, ofId(change.id));
      assert.deepEqual(data, change);
    }
    await waitForEvent(socket, 'appointments.created', 3000, (data) => data.id === changes.at(-1).id);
    const seqs = socket.received.map((e) => e.args[1].seq);
    assert.deepEqual(seqs, Array.from({ length: 18 }, (_, k) => sinceA + 1 + k), `A socket ${i}: every seq once, in order`);
    assert.ok(socket.received.every((e) => !('accountId' in e.args[0]) || e.args[0].accountId === c.a.accountId), 'never another account');
  }
  for (const [i, socket] of socketsB.entries()) {
    for (let k = 0; k < 9; k++) await waitForEvent(socket, 'doctors.created', 3000, (d) => d.name === `Dra. Beta ${k}`);
    const names = socket.received.map((e) => e.event);
    assert.deepEqual([...new Set(names)], ['doctors.created'], `B socket ${i} gets B's events only`);
    const seqs = socket.received.map((e) => e.args[1].seq);
    assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y));
    assert.equal(new Set(seqs).size, 9);
  }
  // Every node counts what it emitted to its own sockets.
  for (const node of nodes) {
    const metrics = await (await fetch(`${node.base}/metrics`)).text();
    assert.match(metrics, /fila_events_emitted_total\{event="appointments\.checkin"\} 9\b/);
  }
});

test('SIGKILL one node mid-stream: its sockets reconnect elsewhere and catch up; every acknowledged check-in reaches every client', async (t) => {
  const { nodes } = await cluster(t, 3);
  const c = await setupClinic(nodes[0]);
  const since = await c.lastSeq();
  const followers = [];
  for (let i = 0; i < 6; i++) {
    const follower = new Follower(nodes, c.a.token, { start: i % 3, since, accountId: c.a.accountId });
    await follower.open();
    followers.push(follower);
  }
  t.after(() => followers.forEach((f) => f.close()));
  const appointments = [];
  for (let i = 0; i < 24; i++) appointments.push(await c.appointment(...slot(i)));
  const acknowledged = [];
  for (const [i, appointment] of appointments.entries()) {
    if (i === 10) {
      await nodes[2].crash();
      nodes[2].down = true;
    }
    const alive = nodes.filter((n) => !n.down);
    const res = await alive[i % alive.length].api('PATCH', `/api/appointments/${appointment.id}/status`, { action: 'check-in' }, c.a.token);
    assert.equal(res.status, 200);
    acknowledged.push(res.body.id);
    await sleep(20);
  }
  const last = await c.lastSeq();
  await caughtUp(followers, last, 15_000);
  for (const [i, follower] of followers.entries()) {
    const checkins = [...follower.seen.values()].filter((e) => e.event === 'appointments.checkin').map((e) => e.data.id);
    assert.deepEqual(checkins.sort((x, y) => x - y), [...acknowledged].sort((x, y) => x - y), `follower ${i} has every acknowledged check-in`);
    assert.deepEqual(follower.foreign, []);
    for (const connection of follower.connections) assertLiveOrder(connection, `follower ${i}`);
  }
  // The killed node's clients moved: each of them has a second connection on a live node.
  const moved = followers.filter((f) => f.connections[0].node === nodes[2]);
  assert.equal(moved.length, 2);
  for (const follower of moved) {
    assert.ok(follower.connections.length >= 2, 'reconnected');
    assert.notEqual(follower.connections.at(-1).node, nodes[2]);
  }
});

test('PostgreSQL stopped for 5 s mid-stream: writes answer 503 fast, /readyz tells the truth, nothing acknowledged is lost, no socket silently behind', async (t) => {
  const { db, nodes } = await cluster(t, 2);
  const c = await setupClinic(nodes[0]);
  const since = await c.lastSeq();
  const followers = [];
  for (let i = 0; i < 4; i++) {
    const follower = new Follower(nodes, c.a.token, { start: i % 2, since, accountId: c.a.accountId });
    await follower.open();
    followers.push(follower);
  }
  t.after(() => followers.forEach((f) => f.close()));
  const appointments = [];
  for (let i = 0; i < 40; i++) appointments.push(await c.appointment(...slot(i)));

  const acknowledged = [];
  const answers = [];
  let stopping = false;
  const readiness = [];
  const stream = (async () => {
    for (const [i, appointment] of appointments.entries()) {
      // Keep trying each check-in until one is acknowledged, as a client would.
      for (;;) {
        const node = nodes[i % 2];
        const started = Date.now();
        const res = await node.api('PATCH', `/api/appointments/${appointment.id}/status`, { action: 'check-in' }, c.a.token);
        answers.push({ status: res.status, ms: Date.now() - started, body: res.body, retryAfter: res.headers.get('retry-after') });
        if (res.status === 200) { acknowledged.push(res.body.id); break; }
        await sleep(150);
      }
      await sleep(stopping ? 0 : 60);
    }
  })();

  await sleep(600);
  stopping = true;
  await db.stop();
  const stoppedAt = Date.now();
  // During the outage every node says it is not ready.
  while (Date.now() - stoppedAt < 5000) {
    for (const node of nodes) {
      const started = Date.now();
      const res = await node.api('GET', '/readyz');
      readiness.push({ at: Date.now() - stoppedAt, status: res.status, ms: Date.now() - started });
    }
    await sleep(250);
  }
  await db.start();
  stopping = false;
  await stream;

  const last = await c.lastSeq();
  await caughtUp(followers, last, 20_000);
  for (const [i, follower] of followers.entries()) {
    const checkins = [...follower.seen.values()].filter((e) => e.event === 'appointments.checkin').map((e) => e.data.id);
    assert.deepEqual(checkins.sort((x, y) => x - y), [...acknowledged].sort((x, y) => x - y), `follower ${i} has every acknowledged check-in`);
    for (const connection of follower.connections) assertLiveOrder(connection, `follower ${i}`);
  }
  assert.equal(acknowledged.length, appointments.length);

  // No 500, and every refusal was a quick 503 in the error shape with Retry-After.
  const refused = answers.filter((a) => a.status !== 200);
  assert.ok(refused.length > 0, 'some writes met the outage');
  for (const answer of refused) {
    assert.equal(answer.status, 503, JSON.stringify(answer));
    assert.equal(answer.body.statusCode, 503);
    assert.equal(answer.body.error, 'Service Unavailable');
    assert.equal(answer.retryAfter, '1');
    assert.ok(answer.ms < 3000, `a refusal took ${answer.ms} ms`);
  }
  // /readyz: 503 within the outage (after the first second, once connections notice).
  const late = readiness.filter((r) => r.at > 1500);
  assert.ok(late.length > 0);
  for (const r of late) assert.equal(r.status, 503, JSON.stringify(readiness));
  for (const node of nodes) {
    for (let i = 0; ; i++) {
      const res = await node.api('GET', '/readyz');
      if (res.status === 200) break;
      assert.ok(i < 40, 'the node is ready again once the database is back');
      await sleep(250);
    }
  }
});

test('a node that cannot read the log for more than 5 s closes its sockets\' transports (no DISCONNECT), then serves again by itself', async (t) => {
  const { db, nodes: [node] } = await cluster(t, 1);
  const c = await setupClinic(node);
  const sockets = [await node.connect(c.a.token), await node.connect(c.b.token, { transports: ['polling'] })];
  const dropped = sockets.map((s) => waitForDisconnect(s, 12_000).then((reason) => ({ reason, at: Date.now() })));
  await db.stop();
  const stoppedAt = Date.now();
  const ends = await Promise.all(dropped);
  for (const { reason, at } of ends) {
    assert.ok(at - stoppedAt >= 4000 && at - stoppedAt < 10_000, `disconnected ${at - stoppedAt} ms into the outage`);
    assert.ok(['transport close', 'transport error'].includes(reason), `${reason}: the transport is closed, no DISCONNECT: the client reconnects by itself`);
  }
  assert.equal((await node.api('GET', '/readyz')).status, 503);
  // While the database is away a new Engine.IO session is refused at the transport (503), so
  // the client retries by itself (another node, or later); a Socket.IO connect_error would
  // make socket.io-client give up.
  await assert.rejects(node.connect(c.a.token), (err) => err.message === 'websocket error');
  const handshake = await fetch(`${node.base}/socket.io/?EIO=4&transport=polling`);
  assert.equal(handshake.status, 503);
  assert.equal(handshake.headers.get('retry-after'), '1');
  await db.start();
  let socket;
  for (let i = 0; !socket; i++) {
    socket = await node.connect(c.a.token).catch(() => null);
    assert.ok(i < 40, 'the node accepts sockets again');
    if (!socket) await sleep(250);
  }
  const appointment = await c.appointment('10:00', '10:15');
  const res = await c.status(appointment.id, 'check-in');
  assert.equal(res.status, 200);
  const [data] = await waitForEvent(socket, 'appointments.checkin', 3000, ofId(appointment.id));
  assert.deepEqual(data, res.body);
  assert.equal((await node.api('GET', '/readyz')).status, 200);
});

test('revoking a key cuts off its socket and its REST client on two nodes within a second; logout and a password change do the same for their sessions', async (t) => {
  const { nodes } = await cluster(t, 2);
  const [one, two] = nodes;
  const c = await setupClinic(one);
  const created = await one.api('POST', '/api/api-keys', { name: 'Painel TV' }, c.a.token);
  assert.equal(created.status, 201);
  const traded = await two.api('POST', '/api/auth/token', { apiKey: created.body.key });
  assert.equal(traded.status, 200);
  const keyToken = traded.body.accessToken;
  const keyOnOne = await one.connect(keyToken);
  const keyOnTwo = await two.connect(keyToken, { transports: ['polling'] });
  const master = await two.connect(c.a.token);
  assert.equal((await one.api('GET', '/api/appointments', undefined, keyToken)).status, 200);

  const revokedAt = Date.now();
  const gone = [keyOnOne, keyOnTwo].map((socket) => waitForDisconnect(socket, 5000).then((reason) => ({ reason, ms: Date.now() - revokedAt })));
  const revoked = await one.api('DELETE', `/api/api-keys/${created.body.id}`, undefined, c.a.token);
  assert.equal(revoked.status, 200);
  for (const node of [one, two]) {
    const res = await node.api('GET', '/api/appointments', undefined, keyToken);
    assert.equal(res.status, 401);
    assert.equal(res.body.message, 'invalid token');
    assert.equal((await node.api('POST', '/api/auth/refresh', undefined, keyToken)).status, 401);
  }
  for (const { reason, ms } of await Promise.all(gone)) {
    assert.equal(reason, 'io server disconnect');
    assert.ok(ms < 1000, `cut off ${ms} ms after the revocation`);
  }
  await assert.rejects(two.connect(keyToken), (err) => err.message === 'invalid token');
  assert.ok(master.connected, "the master's own socket stays");

  // Logout: this session's sockets on both nodes go; another session of the user stays.
  const other = await two.login(c.a.email, c.a.password);
  const otherSocket = await one.connect(other);
  const mine = [await one.connect(c.a.token), master];
  const loggedOut = mine.map((s) => waitForDisconnect(s, 5000).then(() => Date.now()));
  const loggedOutAt = Date.now();
  assert.equal((await one.api('POST', '/api/auth/logout', undefined, c.a.token)).status, 204);
  for (const at of await Promise.all(loggedOut)) assert.ok(at - loggedOutAt < 1000, `logout cut a socket off after ${at - loggedOutAt} ms`);
  assert.equal((await two.api('GET', '/api/doctors', undefined, c.a.token)).status, 401);
  assert.ok(otherSocket.connected);

  // Password change from one session: the user's other sessions go, this one stays.
  const third = await one.login(c.a.email, c.a.password);
  const thirdSocket = await two.connect(third);
  // Measured from the answer: hashing the new password takes a while in a debug build.
  const otherGone = waitForDisconnect(otherSocket, 10_000).then(() => Date.now());
  const changed = await two.api('POST', '/api/auth/password', { currentPassword: c.a.password, newPassword: 'outra-senha-forte' }, third);
  assert.equal(changed.status, 204);
  const changedAt = Date.now();
  const cutAfter = (await otherGone) - changedAt;
  assert.ok(cutAfter < 1000, `the password change cut the other session off after ${cutAfter} ms`);
  assert.equal((await one.api('GET', '/api/doctors', undefined, other)).status, 401);
  await sleep(300);
  assert.ok(thirdSocket.connected, 'the session that changed the password stays');
  assert.equal((await one.api('GET', '/api/doctors', undefined, third)).status, 200);
});
