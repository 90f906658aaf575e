// Every screen of a clinic in sync: two pages of account A and one of account B follow the
// queue live; "Chamar" on one page reaches the other and the TV panel; and after the server is
// killed and restarted (with changes made while it was down) every page converges.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Api, createAccount, freshDatabase, startServer } from './helpers/fila.mjs';
import { seedClinic } from './helpers/seed.mjs';
import { eventually, launch, loginThroughForm, newPage, queueIds, queueRow, waitLive } from './helpers/browser.mjs';

const A = { name: 'Clínica Alfa', email: 'recepcao@alfa.test', password: 'senha-alfa-123' };
const B = { name: 'Clínica Beta', email: 'recepcao@beta.test', password: 'senha-beta-123' };

let db, server, browser, apiA, apiB, clinicA, clinicB;
let a1, a2, b1, painel;

before(async () => {
  db = freshDatabase();
  await createAccount(db.url, A);
  await createAccount(db.url, B);
  server = await startServer({ databaseUrl: db.url });
  apiA = await Api.login(server.base, A.email, A.password);
  apiB = await Api.login(server.base, B.email, B.password);
  clinicA = await seedClinic(apiA, {
    doctors: [{ name: 'Dra. Helena Costa', room: 'Sala 1', procedures: ['Consulta clínica'] }],
    patients: [
      { name: 'Pedro Henrique Oliveira', age: 34 },
      { name: 'Juliana Martins', age: 41 },
      { name: 'Francisco Pereira', age: 86 },
      { name: 'Carla Nunes', age: 29 },
      { name: 'Rafael Souza', age: 52 },
    ],
    appointments: [0, 1, 2, 3, 4].map((patient, i) => ({ patient, doctor: 0, procedure: 'Consulta clínica', time: `${8 + i}:00`.padStart(5, '0') })),
  });
  clinicB = await seedClinic(apiB, {
    doctors: [{ name: 'Dr. Bruno Lima', room: 'Sala B', procedures: ['Retorno'] }],
    patients: [{ name: 'Beatriz Campos', age: 45 }],
    appointments: [{ patient: 0, doctor: 0, procedure: 'Retorno', time: '09:00' }],
  });

  browser = await launch();
  [a1, a2, b1, painel] = await Promise.all([newPage(browser), newPage(browser), newPage(browser), newPage(browser, { viewport: { width: 1600, height: 900 } })]);
  await Promise.all([
    loginThroughForm(a1, server.base, A.email, A.password, '/fila'),
    loginThroughForm(a2, server.base, A.email, A.password, '/fila'),
    loginThroughForm(b1, server.base, B.email, B.password, '/fila'),
  ]);

  // The panel: a key created by A's master, pasted into the setup form on /painel.
  const key = await apiA.post('/api/api-keys', { name: 'Painel da recepção' });
  await painel.goto(`${server.base}/painel`);
  await painel.fill('input[name="apiKey"]', key.key);
  await painel.click('button[type="submit"]');

  for (const page of [a1, a2, b1]) {
    await waitLive(page);
    await page.waitForSelector('[data-testid="queue"][data-loaded="true"]', { state: 'attached' });
  }
  await waitLive(painel);
  await painel.waitForSelector('[data-testid="painel-current"][data-loaded="true"]', { state: 'attached' });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  db?.cleanup();
});

const idOf = (i) => clinicA.appointments[i].id;

test('a check-in made through REST shows on both pages of the account within a second, never on the other account', async () => {
  const started = Date.now();
  await apiA.status(idOf(0), 'check-in');
  await Promise.all([a1, a2].map((page) => page.waitForSelector(queueRow(idOf(0)), { timeout: 1000 })));
  assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`);

  // B's page is live (its own check-in arrives) and has never shown A's row.
  await apiB.status(clinicB.appointments[0].id, 'check-in');
  await b1.waitForSelector(queueRow(clinicB.appointments[0].id), { timeout: 1000 });
  assert.deepEqual(await queueIds(b1), [clinicB.appointments[0].id]);
  assert.equal(await a1.$(queueRow(clinicB.appointments[0].id)), null);
  assert.deepEqual(await queueIds(a2), [idOf(0)]);
});

test('the queue puts a live row at its place by priority tier, then check-in time', async () => {
  await apiA.status(idOf(1), 'check-in'); // 41 years old: normal
  await apiA.status(idOf(2), 'check-in'); // 86 years old: prioridade especial
  await apiA.status(idOf(3), 'check-in', { priorityFlags: ['gestante'] }); // prioridade
  const expected = [idOf(2), idOf(3), idOf(0), idOf(1)];
  for (const page of [a1, a2]) {
    await eventually(async () => JSON.stringify(await queueIds(page)) === JSON.stringify(expected), {
      timeout: 2000,
      message: `queue order ${expected}`,
    });
  }
  // The tier shows on the row, and the server agrees with the order.
  assert.match(await a1.textContent(queueRow(idOf(2))), /Prioridade especial/);
  assert.match(await a1.textContent(queueRow(idOf(3))), /Prioridade/);
  const queue = await apiA.get(`/api/appointments/queue?date=${clinicA.today}`);
  assert.deepEqual(queue.filter((a) => a.status.name === 'Check-in').map((a) => a.id), expected);
});

test('"Chamar" on one page removes the row on the other and shows the call on the panel', async () => {
  const id = idOf(2);
  await a1.click(`${queueRow(id)} button[data-action="Chamar"]`);
  await a2.waitForSelector(queueRow(id), { state: 'detached', timeout: 1000 });
  await a2.waitForSelector(`[data-testid="serving"] [data-appointment-id="${id}"]`, { timeout: 1000 });
  await painel.waitForSelector(`[data-testid="painel-current"][data-appointment-id="${id}"]`, { timeout: 2000 });
  const shown = await painel.textContent('[data-testid="painel-current"]');
  assert.match(shown, /Francisco P\./, 'first name and initial of the surname');
  assert.doesNotMatch(shown, /Pereira/, 'never the full surname');
  assert.match(shown, /Sala 1/);
  // The doctor is now busy on both pages.
  for (const page of [a1, a2]) {
    await page.waitForSelector(`[data-doctor-id="${clinicA.doctors[0].id}"][data-busy="true"]`, { timeout: 1000 });
  }
  // B saw nothing of it.
  assert.deepEqual(await queueIds(b1), [clinicB.appointments[0].id]);
});

test('after the server is killed and restarted, every page converges on what changed meanwhile', async () => {
  const port = server.port;
  await server.stop('SIGKILL');
  for (const page of [a1, a2, painel]) {
    await page.waitForSelector('[data-testid="live-status"]:not([data-status="live"])', { timeout: 5000 });
  }

  // While the pages' server is down, another node on the same database takes changes.
  const other = await startServer({ databaseUrl: db.url });
  const apiOther = apiA.withBase(other.base);
  await apiOther.status(idOf(4), 'check-in'); // a new patient arrives
  await apiOther.status(idOf(0), 'em atendimento'); // another is called
  await apiOther.status(idOf(1), 'cancelado'); // another leaves
  await apiB.withBase(other.base).status(clinicB.appointments[0].id, 'em atendimento');
  await other.stop('SIGKILL');

  server = await startServer({ databaseUrl: db.url, port });
  const expected = [idOf(3), idOf(4)];
  for (const page of [a1, a2]) {
    await eventually(async () => JSON.stringify(await queueIds(page)) === JSON.stringify(expected), {
      timeout: 15_000,
      message: `queue ${expected} after restart`,
    });
    await page.waitForSelector(`[data-testid="serving"] [data-appointment-id="${idOf(0)}"]`, { timeout: 2000 });
    await waitLive(page);
  }
  await painel.waitForSelector(`[data-testid="painel-current"][data-appointment-id="${idOf(0)}"]`, { timeout: 15_000 });
  assert.match(await painel.textContent('[data-testid="painel-history"]'), /Francisco P\./);
  await eventually(async () => (await queueIds(b1)).length === 0, { timeout: 15_000, message: "B's queue emptied" });

  // And the live path works again after the reconnect: the restarted node delivers at once.
  await apiA.withBase(server.base).status(idOf(3), 'em atendimento');
  await Promise.all([a1, a2].map((page) => page.waitForSelector(queueRow(idOf(3)), { state: 'detached', timeout: 15_000 })));
  for (const page of [a1, a2, b1, painel]) assert.deepEqual(page.errors, [], 'no uncaught errors in the page');
});
