// No stale or missing rows when socket messages are lost: a seq jump is filled from
// /api/events, and so is whatever happened while the connection was down. The browser's
// WebSocket is routed through the test, which drops chosen messages or cuts the connection.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Api, createAccount, freshDatabase, startServer } from './helpers/fila.mjs';
import { seedClinic } from './helpers/seed.mjs';
import { eventually, launch, loginThroughForm, newPage, queueIds, queueRow, waitLive } from './helpers/browser.mjs';

const A = { name: 'Clínica Épsilon', email: 'recepcao@epsilon.test', password: 'senha-epsilon-123' };

let db, server, browser, api, clinic, page;
/** What the route does with server → browser Socket.IO messages. */
const filter = { drop: (_message) => false, dropped: [] };
const connections = [];

before(async () => {
  db = freshDatabase();
  await createAccount(db.url, A);
  server = await startServer({ databaseUrl: db.url });
  api = await Api.login(server.base, A.email, A.password);
  clinic = await seedClinic(api, {
    doctors: [{ name: 'Dr. Caio Mendes', room: 'Sala 5', procedures: ['Consulta'] }],
    patients: ['Alice Prado', 'Bruno Reis', 'Célia Motta', 'Diego Faria'].map((name) => ({ name, age: 40 })),
    appointments: [0, 1, 2, 3].map((patient) => ({ patient, doctor: 0, procedure: 'Consulta', time: `1${patient}:00` })),
  });
  browser = await launch();
  page = await newPage(browser);
  await page.routeWebSocket(/\/socket\.io\//, (ws) => {
    const upstream = ws.connectToServer();
    connections.push(ws);
    upstream.onMessage((message) => {
      if (typeof message === 'string' && filter.drop(message)) filter.dropped.push(message);
      else ws.send(message);
    });
    ws.onMessage((message) => upstream.send(message));
  });
  await loginThroughForm(page, server.base, A.email, A.password, '/fila');
  await waitLive(page);
  await page.waitForSelector('[data-testid="queue"][data-loaded="true"]', { state: 'attached' });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  db?.cleanup();
});

const idOf = (i) => clinic.appointments[i].id;
const isCheckinOf = (id) => (message) => message.startsWith('42["appointments.checkin"') && message.includes(`{"id":${id},`);

test('a lost event is recovered from /api/events when the next seq shows the gap', async () => {
  filter.drop = isCheckinOf(idOf(0));
  await api.status(idOf(0), 'check-in');
  await eventually(() => filter.dropped.length === 1, { timeout: 2000, message: 'the check-in message to be dropped' });
  assert.equal(await page.$(queueRow(idOf(0))), null, 'the dropped event did not reach the page');
  filter.drop = () => false;

  await api.status(idOf(1), 'check-in'); // its seq is two past the page's last one
  await page.waitForSelector(queueRow(idOf(1)), { timeout: 1000 });
  await page.waitForSelector(queueRow(idOf(0)), { timeout: 1000 });
  assert.deepEqual(await queueIds(page), [idOf(0), idOf(1)]);
});

test('what happened while the connection was down is fetched on reconnect', async () => {
  filter.dropped = [];
  filter.drop = (message) => message.startsWith('42'); // the connection is as good as dead
  await api.status(idOf(2), 'check-in');
  await api.status(idOf(0), 'em atendimento');
  await eventually(() => filter.dropped.length >= 2, { timeout: 2000, message: 'events to be dropped' });
  filter.drop = () => false;
  connections.at(-1).close(); // the client sees the drop and reconnects

  await eventually(async () => JSON.stringify(await queueIds(page)) === JSON.stringify([idOf(1), idOf(2)]), {
    timeout: 8000,
    message: 'the queue after reconnecting',
  });
  await page.waitForSelector(`[data-testid="serving"] [data-appointment-id="${idOf(0)}"]`, { timeout: 1000 });
  assert.deepEqual(page.errors, []);
});
