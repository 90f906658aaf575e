// The patient's status socket: `auth: {statusToken}` joins only that appointment's link room and
// receives only `patient.status` (the reduced payload of its own appointment), never the
// account's events; a bad or revoked token is refused or disconnected.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expectNoEvent, setupClinic, startServer, waitForDisconnect, waitForEvent } from './helpers.mjs';

/** A patient's status socket (`auth: {statusToken}`), recording every event. */
const statusSocket = (server, statusToken) => server.connect(statusToken, { via: 'status' });

async function clinicWithQueue(t) {
  const server = await startServer();
  t.after(() => server.stop());
  const clinic = await setupClinic(server);
  const names = ['Ana Souza', 'Bruno Lima', 'Valentina Alves'];
  const ids = [];
  for (const [i, name] of names.entries()) {
    const patient = await clinic.ok('POST', '/api/patients', { name, dateBirth: '1990-01-01' });
    const [created] = await clinic.ok('POST', '/api/appointments', {
      patientId: patient.id, procedures: [{ id: clinic.procedure.id }], doctorId: clinic.doctor.id,
      date: clinic.today, startTime: `0${7 + i}:00`, endTime: `0${7 + i}:15`,
    });
    ids.push(created.id);
    await clinic.ok('PATCH', `/api/appointments/${created.id}/status`, { action: 'check-in' });
  }
  const link = await clinic.ok('POST', `/api/appointments/${ids[2]}/status-link`);
  return { server, clinic, ids, link };
}

test('a status socket gets only its own reduced status, live, and never the account events', async (t) => {
  const { server, clinic, ids, link } = await clinicWithQueue(t);
  const staff = await server.connect(clinic.a.token);
  const patient = await statusSocket(server, link.token);
  t.after(() => patient.close());

  const [first] = await waitForEvent(patient, 'patient.status', 3000);
  assert.deepEqual(Object.keys(first).sort(), ['ahead', 'calledAt', 'doctor', 'estimate', 'firstName', 'status']);
  assert.equal(first.firstName, 'Valentina');
  assert.equal(first.status.key, 'CHECKIN');
  assert.equal(first.ahead, 2);

  // Staff call the first patient: the staff socket gets the account events, the patient only
  // their own status with one person fewer ahead.
  await clinic.ok('PATCH', `/api/appointments/${ids[0]}/status`, { action: 'em atendimento' });
  await waitForEvent(staff, 'appointments.serving', 3000);
  const [moved] = await waitForEvent(patient, 'patient.status', 3000, (s) => s.ahead === 1);
  assert.equal(moved.status.key, 'CHECKIN');

  // The patient is called: status and calledAt.
  await clinic.ok('PATCH', `/api/appointments/${ids[0]}/status`, { action: 'finalizado' });
  await clinic.ok('PATCH', `/api/appointments/${ids[2]}/status`, { action: 'em atendimento' });
  const [called] = await waitForEvent(patient, 'patient.status', 3000, (s) => s.status.key === 'EM_ATENDIMENTO');
  assert.equal(called.ahead, 0);
  assert.ok(called.calledAt);

  // Account events (including doctors and another account's) never reached the patient.
  await clinic.ok('POST', '/api/procedures', { name: 'Eletrocardiograma', price: 80 });
  await server.api('POST', '/api/procedures', { name: 'Retorno', price: 10 }, clinic.b.token);
  await expectNoEvent(patient, 'procedures.created', 300);
  const names = new Set(patient.received.map((e) => e.event));
  assert.deepEqual([...names], ['patient.status']);
  for (const entry of patient.received) {
    const text = JSON.stringify(entry.args);
    for (const leak of ['Ana', 'Bruno', 'Souza', 'Lima', 'Alves', 'João', 'patient', 'accountId']) {
      assert.ok(!text.includes(leak), `${leak} reached the patient: ${text}`);
    }
  }
  assert.ok(staff.received.some((e) => e.event === 'appointments.serving'));
});

test('a status token is not an account token, and a bad one is refused', async (t) => {
  const { server, link } = await clinicWithQueue(t);
  // As a staff token it is simply invalid.
  const asStaff = await server.connect(link.token).then(() => null, (e) => e);
  assert.equal(asStaff?.message, 'invalid token');
  const bad = await statusSocket(server, 'x'.repeat(43)).then(() => null, (e) => e);
  assert.equal(bad?.message, 'invalid token');
});

test('revoking the links disconnects their sockets and a revoked token cannot connect', async (t) => {
  const { server, clinic, ids, link } = await clinicWithQueue(t);
  const patient = await statusSocket(server, link.token);
  await waitForEvent(patient, 'patient.status', 3000);
  const gone = waitForDisconnect(patient, 3000);
  const res = await server.api('DELETE', `/api/appointments/${ids[2]}/status-link`, undefined, clinic.a.token);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(await gone, 'io server disconnect');
  const again = await statusSocket(server, link.token).then(() => null, (e) => e);
  assert.equal(again?.message, 'invalid token');
});
