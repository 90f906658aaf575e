// Scoped API keys on the socket: every event the account emits, seen by a staff login, an
// `integration` key, a `panel` key and a `kiosk` key. The panel gets every event, in order and
// with the same `seq`, but its payloads carry no CPF, phone, birth date or notes and the names
// as the panel writes them (live, and when it is recovered after a network cut); the kiosk's
// handshake is refused.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { io } from 'socket.io-client';
import { startServer, setupClinic, sleep, waitForDisconnect } from './helpers.mjs';
import { startProxy } from './proxy.mjs';

/** What a public screen must never receive. */
const SECRETS = ['99999-9999', '1980-05-17', '529.982.247-25', '52998224725', 'alérgico', 'Silva'];

async function keyToken(server, c, scope) {
  return (await scopedKey(server, c, scope)).token;
}

async function scopedKey(server, c, scope) {
  const created = await c.ok('POST', '/api/api-keys', { name: `chave ${scope}`, scope }, [201]);
  assert.equal(created.scope, scope);
  const traded = await server.api('POST', '/api/auth/token', { apiKey: created.key });
  assert.equal(traded.status, 200, JSON.stringify(traded.body));
  return { id: created.id, token: traded.body.accessToken };
}

async function until(what, check, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Every kind of event the account emits: appointments created, moved, recalled, edited, finished; doctors created, saved, busy, deleted. */
async function everyEvent(c) {
  const appointment = await c.ok('POST', '/api/appointments', {
    patientId: c.patient.id, procedures: [{ id: c.procedure.id }], doctorId: c.doctor.id, date: c.today,
    startTime: '10:00', endTime: '10:15', notes: 'alérgico a dipirona',
  }, [201]);
  const id = appointment[0].id;
  await c.ok('PATCH', `/api/appointments/${id}`, { notes: 'alérgico a dipirona; trazer exames' });
  assert.equal((await c.status(id, 'check-in')).status, 200);
  assert.equal((await c.status(id, 'em atendimento')).status, 200);
  await c.ok('POST', `/api/appointments/${id}/recall`, undefined, [200, 201, 204]);
  assert.equal((await c.status(id, 'finalizado')).status, 200);
  const doctor = await c.ok('POST', '/api/doctors', {
    name: 'Dra. Ana', procedureIds: [c.procedure.id], startTime: '08:00', endTime: '12:00', intervalMinutes: 15,
    workingDays: ['Segunda'],
  }, [201]);
  await c.ok('PATCH', `/api/doctors/${doctor.id}`, { room: 'Sala 2' });
  await c.ok('DELETE', `/api/doctors/${doctor.id}`, undefined, [200, 204]);
}

test('every event reaches the panel in order without CPF, phone, birth date or notes; the kiosk gets no socket', async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  const c = await setupClinic(server);
  const panelToken = await keyToken(server, c, 'panel');
  const integrationToken = await keyToken(server, c, 'integration');
  const kioskToken = await keyToken(server, c, 'kiosk');

  const staff = await server.connect(c.a.token);
  const integration = await server.connect(integrationToken);
  const panel = await server.connect(panelToken, { via: 'header' });
  for (const via of ['auth', 'header']) {
    const refused = await server.connect(kioskToken, { via }).then(() => null, (err) => err);
    assert.ok(refused, `${via}: a kiosk socket must be refused`);
    assert.equal(refused.message, 'forbidden: a kiosk API key cannot open a socket', via);
  }

  const seqBefore = await c.lastSeq();
  await everyEvent(c);
  const last = await c.lastSeq();
  const upTo = (socket) => socket.received.filter((e) => e.args[1]?.seq > seqBefore);
  await until('every event on every socket', () => [staff, integration, panel].every((s) => upTo(s).length === last - seqBefore));
  await sleep(300);

  const names = new Set(upTo(staff).map((e) => e.event));
  for (const name of ['appointments.created', 'appointments.updated', 'appointments.checkin', 'appointments.serving',
    'appointments.recalled', 'appointments.finished', 'appointmnents.finished', 'doctors.busy', 'doctors.created',
    'doctors.updated', 'doctors.deleted']) {
    assert.ok(names.has(name), `${name} was emitted (got ${[...names]})`);
  }
  const shape = (socket) => upTo(socket).map((e) => [e.event, e.args[1].seq, e.args[2]]);
  assert.deepEqual(shape(panel), shape(staff), 'the panel gets the same events, seqs and offsets');
  assert.deepEqual(upTo(integration).map((e) => e.args), upTo(staff).map((e) => e.args), 'an integration key gets what staff get');

  const staffText = JSON.stringify(upTo(staff).map((e) => e.args[0]));
  assert.ok(staffText.includes('99999-9999') && staffText.includes('alérgico'), 'staff get the contact data and notes');
  const panelText = JSON.stringify(upTo(panel).map((e) => e.args[0]));
  for (const secret of SECRETS) assert.ok(!panelText.includes(secret), `${secret} reached the panel`);
  for (const [i, event] of upTo(panel).entries()) {
    const data = event.args[0];
    const full = upTo(staff)[i].args[0];
    assert.deepEqual(Object.keys(data).sort(), Object.keys(full).sort(), `${event.event}: every field stays`);
    if (data.patient) {
      assert.equal(full.patient.name, 'João Silva');
      assert.equal(data.patient.name, 'João S.', 'the name as the panel shows it');
      assert.equal(data.patient.contact.phone, null);
      assert.equal(data.patient.dateBirth, null);
      assert.equal(data.notes, null);
    }
  }
  // Its REST gap-fill is reduced the same way.
  const logged = await server.api('GET', `/api/events?since=${seqBefore}`, undefined, panelToken);
  assert.equal(logged.status, 200);
  assert.deepEqual(logged.body.map((e) => e.data), upTo(panel).map((e) => e.args[0]));
});

test('a panel recovered after a network cut is replayed the reduced payloads', async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  const c = await setupClinic(server);
  const panelToken = await keyToken(server, c, 'panel');
  const proxy = await startProxy(server.port);
  t.after(() => proxy.close());
  const socket = io(proxy.url, { auth: { token: panelToken }, transports: ['websocket'] });
  t.after(() => socket.close());
  const received = [];
  const connects = [];
  socket.onAny((event, ...args) => received.push({ event, args }));
  socket.on('connect', () => connects.push(socket.recovered));
  await until('connect', () => connects.length === 1);

  proxy.cut();
  const seqBefore = await c.lastSeq();
  await everyEvent(c);
  await sleep(1500);
  proxy.heal();
  await until('the reconnection', () => connects.length === 2, 20_000);
  assert.equal(connects[1], true, 'recovered');
  const last = await c.lastSeq();
  await until('the replay', () => received.filter((e) => e.args[1]?.seq > seqBefore).length === last - seqBefore);
  const text = JSON.stringify(received.map((e) => e.args[0]));
  assert.ok(text.includes('João S.'), 'the replay carries the appointments, with the short name');
  assert.ok(!text.includes('João Silva'), 'no full name in the replay');
  for (const secret of SECRETS) assert.ok(!text.includes(secret), `${secret} reached the recovered panel`);
});

test('revoking a panel key disconnects its socket, which is in a room of its own', async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  const c = await setupClinic(server);
  const key = await scopedKey(server, c, 'panel');
  const panel = await server.connect(key.token);
  const staff = await server.connect(c.a.token);
  const gone = waitForDisconnect(panel, 5000);
  await c.ok('DELETE', `/api/api-keys/${key.id}`);
  assert.equal(await gone, 'io server disconnect');
  assert.ok(staff.connected, 'the staff socket stays');
  const refused = await server.connect(key.token).then(() => null, (err) => err);
  assert.equal(refused?.message, 'invalid token');
});
