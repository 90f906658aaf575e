// Broadcasts (contract §5): who gets which event with which payload, the `{seq, at}` second
// argument and its gaps filled from /api/events, the status machine's silent and refused moves,
// and tenant isolation. Each test runs its own server with two accounts, A and B.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, setupClinic, waitForEvent, expectNoEvent, sleep, reconnect, waitForDisconnect,
  assertAppointmentPayload, assertMeta, STATUS,
} from './helpers.mjs';

/** How long a socket is watched for a duplicate or an unexpected event. */
const QUIET_MS = 400;

async function clinic(t) {
  const server = await startServer();
  t.after(() => server.stop());
  const c = await setupClinic(server);
  return { server, ...c };
}

/** Three A sockets (header/websocket, header/polling, auth/websocket) and one B socket. */
async function screens(server, c) {
  const a = await Promise.all([
    server.connect(c.a.token, { via: 'header', transports: ['websocket'] }),
    server.connect(c.a.token, { via: 'header', transports: ['polling'] }),
    server.connect(c.a.token, { via: 'auth', transports: ['websocket'] }),
  ]);
  const b = await server.connect(c.b.token, { via: 'auth', transports: ['websocket'] });
  return { a, b };
}

const ofId = (id) => (data) => data?.id === id;
const count = (socket, name, match = () => true) => socket.received.filter((e) => e.event === name && match(...e.args)).length;
/** What a socket got after `seq`, as /api/events shows it. */
const receivedSince = (socket, seq) => socket.received
  .filter((e) => e.args[1]?.seq > seq)
  .map((e) => ({ seq: e.args[1].seq, event: e.event, data: e.args[0], at: e.args[1].at }));

test('appointments.checkin reaches every socket of the account once, with the contract payload; never the other account', async (t) => {
  const { server, ...c } = await clinic(t);
  const { a, b } = await screens(server, c);
  const appointment = await c.appointment('09:00', '09:15');
  const seqBefore = await c.lastSeq();

  const res = await c.status(appointment.id, 'check-in');
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assertAppointmentPayload(res.body, { date: c.today, status: STATUS.CHECKIN });
  assert.equal(res.body.id, appointment.id);
  assert.equal(res.body.accountId, c.a.accountId);
  assert.deepEqual(res.body.doctor.id, c.doctor.id);
  assert.deepEqual(res.body.patient.contact, { phone: '(81) 99999-9999' });
  assert.deepEqual(res.body.appointmentProcedures.procedure, { id: c.procedure.id, name: 'Ultrassom: Tireoide', price: '100' });

  const got = await Promise.all(a.map((s) => waitForEvent(s, 'appointments.checkin', 3000, ofId(appointment.id))));
  await sleep(QUIET_MS);
  for (const [i, socket] of a.entries()) {
    const [data, meta, ...more] = got[i];
    assert.deepEqual(more, [String(meta.seq)], 'a third argument: the offset of connection state recovery, the seq as a string');
    assert.deepEqual(data, res.body, `socket ${i}: the payload is the appointment the PATCH returned`);
    assertAppointmentPayload(data, { date: c.today, status: STATUS.CHECKIN });
    assertMeta(meta);
    assert.equal(meta.seq, seqBefore + 1, 'the next seq of the account');
    assert.equal(count(socket, 'appointments.checkin'), 1, `socket ${i}: exactly one appointments.checkin`);
  }
  assert.deepEqual(got[1][1], got[0][1], 'every socket gets the same {seq, at}');
  assert.deepEqual(got[2][1], got[0][1]);
  assert.deepEqual(b.received.map((e) => e.event), [], 'B receives nothing');
});

test('the documented frontend rule builds the right list, whatever arrives twice', async (t) => {
  const { server, ...c } = await clinic(t);
  const { a, b } = await screens(server, c);
  // The rule, on the documented one-argument form: skip a listed id; add only 'Check-in'.
  const lists = a.map((socket) => {
    const list = [];
    const onCheckin = (appointment) => {
      if (list.some((item) => item.id === appointment.id)) return;
      if (appointment.status.name === 'Check-in') list.push(appointment);
    };
    socket.on('appointments.checkin', onCheckin);
    return { list, onCheckin };
  });
  const first = await c.appointment('09:00', '09:15');
  const second = await c.appointment('09:15', '09:30');
  const seqBefore = await c.lastSeq();

  const r1 = await c.status(first.id, 'check-in');
  const r2 = await c.status(second.id, 'check-in');
  assert.equal(r1.status, 200);
  assert.equal(r2.status, 200);
  await Promise.all(a.map((s) => waitForEvent(s, 'appointments.checkin', 3000, ofId(second.id))));
  for (const { list } of lists) assert.deepEqual(list, [r1.body, r2.body]);

  // The same id again, live: undo the first check-in (appointments.updated) and check in again.
  assert.equal((await c.status(first.id, 'agendado')).status, 200);
  const again = await c.status(first.id, 'check-in');
  assert.equal(again.status, 200);
  await Promise.all(a.map((s) => waitForEvent(s, 'appointments.checkin', 3000, ofId(first.id)).then(() => waitForEvent(s, 'appointments.checkin', 3000, ofId(first.id)))));

  // ... and once more through a replay of the log, as a client filling a gap would.
  const replay = await server.api('GET', `/api/events?since=${seqBefore}`, undefined, c.a.token);
  assert.equal(replay.status, 200);
  const replayed = replay.body.filter((e) => e.event === 'appointments.checkin');
  assert.deepEqual(replayed.map((e) => e.data.id), [first.id, second.id, first.id]);
  for (const { onCheckin } of lists) for (const e of replayed) onCheckin(e.data);

  for (const [i, { list }] of lists.entries()) {
    assert.deepEqual(list.map((x) => x.id), [first.id, second.id], `socket ${i}: each id once, in check-in order`);
    assert.deepEqual(list, [r1.body, r2.body]);
    assert.ok(list.every((x) => x.status.name === 'Check-in'));
    assert.equal(count(a[i], 'appointments.checkin'), 3, `socket ${i}: three live check-ins`);
  }
  assert.deepEqual(b.received, []);
});

test('serving and finishing: serving + doctors.busy true, both finished spellings + doctors.busy false, seq +1 each', async (t) => {
  const { server, ...c } = await clinic(t);
  const { a, b } = await screens(server, c);
  const appointment = await c.appointment('10:00', '10:15');
  const start = await c.lastSeq();

  const checkin = await c.status(appointment.id, 'check-in');
  assert.equal(checkin.status, 200);
  await Promise.all(a.map((s) => waitForEvent(s, 'appointments.checkin', 3000, ofId(appointment.id))));

  const serving = await c.status(appointment.id, 'em atendimento');
  assert.equal(serving.status, 200, JSON.stringify(serving.body));
  assertAppointmentPayload(serving.body, { date: c.today, status: STATUS.EM_ATENDIMENTO });
  for (const socket of a) {
    const [data] = await waitForEvent(socket, 'appointments.serving', 3000, ofId(appointment.id));
    assert.deepEqual(data, serving.body);
    const [busy] = await waitForEvent(socket, 'doctors.busy');
    assert.deepEqual(busy, { doctorId: c.doctor.id, isBusy: true });
  }
  assert.equal((await c.ok('GET', `/api/doctors/${c.doctor.id}`)).isBusy, true);

  const finished = await c.status(appointment.id, 'finalizado');
  assert.equal(finished.status, 200, JSON.stringify(finished.body));
  assertAppointmentPayload(finished.body, { date: c.today, status: STATUS.FINALIZADO });
  for (const socket of a) {
    const [documented] = await waitForEvent(socket, 'appointmnents.finished', 3000, ofId(appointment.id));
    const [spelled] = await waitForEvent(socket, 'appointments.finished', 3000, ofId(appointment.id));
    assert.deepEqual(documented, finished.body);
    assert.deepEqual(spelled, finished.body);
    const [busy] = await waitForEvent(socket, 'doctors.busy');
    assert.deepEqual(busy, { doctorId: c.doctor.id, isBusy: false });
  }
  assert.equal((await c.ok('GET', `/api/doctors/${c.doctor.id}`)).isBusy, false);

  await sleep(QUIET_MS);
  const expected = ['appointments.checkin', 'appointments.serving', 'doctors.busy', 'appointmnents.finished', 'appointments.finished', 'doctors.busy'];
  for (const [i, socket] of a.entries()) {
    const events = socket.received.filter((e) => e.args[1]?.seq > start);
    assert.deepEqual(events.map((e) => e.event), expected, `socket ${i}: these events, once each, in this order`);
    events.forEach((e) => assertMeta(e.args[1]));
    assert.deepEqual(events.map((e) => e.args[1].seq), expected.map((_, k) => start + 1 + k), `socket ${i}: seq rises by one`);
  }
  assert.equal(await c.lastSeq(), start + expected.length);
  assert.deepEqual(b.received, []);
});

test('a seq gap after a reconnect is filled from GET /api/events with exactly the missed events', async (t) => {
  const { server, ...c } = await clinic(t);
  const { a, b } = await screens(server, c);
  const [live, , flaky] = a;
  const first = await c.appointment('11:00', '11:15');
  const second = await c.appointment('11:15', '11:30');

  assert.equal((await c.status(first.id, 'check-in')).status, 200);
  const [, seen] = await waitForEvent(flaky, 'appointments.checkin', 3000, ofId(first.id));
  const lastSeen = seen.seq;

  flaky.disconnect();
  // A client without connection state recovery (python-socketio, or any client that drops
  // the pid): the gap is its to fill. (A socket.io-client that keeps its pid gets the gap over
  // the socket: stock-clients.test.mjs.)
  flaky._pid = undefined;
  // Two changes while it is away: a check-in (1 event) and a call (serving + doctors.busy).
  assert.equal((await c.status(second.id, 'check-in')).status, 200);
  assert.equal((await c.status(first.id, 'em atendimento')).status, 200);
  await waitForEvent(live, 'doctors.busy', 3000);
  await reconnect(flaky);

  // The next live change: its seq jumps past what the reconnected socket saw.
  const undo = await c.status(second.id, 'agendado');
  assert.equal(undo.status, 200);
  const [data, meta] = await waitForEvent(flaky, 'appointments.updated', 3000, ofId(second.id));
  assert.deepEqual(data, undo.body);
  assert.equal(meta.seq, lastSeen + 4, 'three events were missed');
  const afterSeen = flaky.received.filter((e) => e.args[1]?.seq > lastSeen);
  assert.deepEqual(afterSeen.map((e) => e.args[1].seq), [lastSeen + 4], 'nothing from the gap came over the socket');

  // Fill the gap.
  const missed = await server.api('GET', `/api/events?since=${lastSeen}&limit=${meta.seq - lastSeen - 1}`, undefined, c.a.token);
  assert.equal(missed.status, 200, JSON.stringify(missed.body));
  assert.deepEqual(missed.body.map((e) => Object.keys(e).sort()), missed.body.map(() => ['at', 'data', 'event', 'seq']));
  assert.deepEqual(missed.body.map((e) => [e.seq, e.event]), [
    [lastSeen + 1, 'appointments.checkin'],
    [lastSeen + 2, 'appointments.serving'],
    [lastSeen + 3, 'doctors.busy'],
  ]);
  await sleep(QUIET_MS);
  const liveGot = receivedSince(live, lastSeen);
  assert.deepEqual(missed.body, liveGot.filter((e) => e.seq < meta.seq), 'the log holds what the live sockets got, data and at included');

  // Without a limit: everything after the last seen seq, the live event included.
  const all = await server.api('GET', `/api/events?since=${lastSeen}`, undefined, c.a.token);
  assert.equal(all.status, 200);
  assert.deepEqual(all.body, liveGot);
  assert.deepEqual(all.body.map((e) => e.seq), [1, 2, 3, 4].map((k) => lastSeen + k));

  // B's log shows none of A's events.
  const other = await server.api('GET', '/api/events?since=0', undefined, c.b.token);
  assert.equal(other.status, 200);
  assert.deepEqual(other.body, []);
  assert.deepEqual(b.received, []);
});

test('the same status again is 200 with no event; an illegal move is 409 in the error shape with no event', async (t) => {
  const { server, ...c } = await clinic(t);
  const { a, b } = await screens(server, c);
  const appointment = await c.appointment('13:00', '13:15');
  const other = await c.appointment('13:15', '13:30');
  const checkin = await c.status(appointment.id, 'check-in');
  assert.equal(checkin.status, 200);
  await Promise.all(a.map((s) => waitForEvent(s, 'appointments.checkin', 3000, ofId(appointment.id))));
  const seq = await c.lastSeq();

  for (const action of ['check-in', 'CHECKIN']) {
    const same = await c.status(appointment.id, action);
    assert.equal(same.status, 200, `${action}: ${JSON.stringify(same.body)}`);
    assert.deepEqual(same.body, checkin.body, `${action}: the appointment, unchanged`);
  }

  const before = await c.ok('GET', `/api/appointments/${other.id}`);
  const illegal = await c.status(other.id, 'finalizado');
  assert.equal(illegal.status, 409);
  assert.deepEqual(Object.keys(illegal.body).sort(), ['error', 'message', 'requestId', 'statusCode']);
  assert.equal(illegal.body.statusCode, 409);
  assert.equal(illegal.body.error, 'Conflict');
  assert.equal(typeof illegal.body.message, 'string');
  assert.ok(illegal.body.message.length > 0);
  assert.deepEqual(await c.ok('GET', `/api/appointments/${other.id}`), before, 'the refused move changed nothing');

  await Promise.all([...a, b].map((s) => expectNoEvent(s, '*', QUIET_MS)));
  assert.equal(await c.lastSeq(), seq, 'no event was logged');
  for (const socket of a) assert.equal(count(socket, 'appointments.checkin'), 1, 'one check-in, never repeated');
  assert.deepEqual(b.received, []);
});

test("another account's appointment is 404 on GET and PATCH status, and nothing is emitted", async (t) => {
  const { server, ...c } = await clinic(t);
  const { a, b } = await screens(server, c);
  const appointment = await c.appointment('14:00', '14:15');
  await Promise.all(a.map((s) => waitForEvent(s, 'appointments.created', 3000, ofId(appointment.id))));
  const seq = await c.lastSeq();
  const before = await c.ok('GET', `/api/appointments/${appointment.id}`);

  const get = await server.api('GET', `/api/appointments/${appointment.id}`, undefined, c.b.token);
  assert.equal(get.status, 404);
  assert.deepEqual(Object.keys(get.body).sort(), ['error', 'message', 'requestId', 'statusCode']);
  assert.equal(get.body.statusCode, 404);
  assert.equal(get.body.error, 'Not Found');

  for (const action of ['check-in', 'cancelado']) {
    const patch = await c.status(appointment.id, action, c.b.token);
    assert.equal(patch.status, 404, `${action}: ${JSON.stringify(patch.body)}`);
    assert.equal(patch.body.statusCode, 404);
    assert.equal(patch.body.error, 'Not Found');
  }
  const list = await server.api('GET', `/api/appointments?date=${c.today}`, undefined, c.b.token);
  assert.equal(list.status, 200);
  assert.deepEqual(list.body, []);

  await Promise.all([...a, b].map((s) => expectNoEvent(s, '*', QUIET_MS)));
  assert.deepEqual(await c.ok('GET', `/api/appointments/${appointment.id}`), before, "A's appointment is unchanged");
  assert.equal(await c.lastSeq(), seq);
  const bLog = await server.api('GET', '/api/events?since=0', undefined, c.b.token);
  assert.deepEqual(bLog.body, []);
  assert.deepEqual(b.received, []);
});
