// Scoped API keys in the web app: the one-click setups of /totem and /painel create keys of
// their scope (kiosk, panel), the panel runs on its panel key (calls, queue and live events,
// without contact data), and /acesso-api shows each key's scope and lets the master choose it.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Api, createAccount, freshDatabase, startServer } from './helpers/fila.mjs';
import { seedClinic } from './helpers/seed.mjs';
import { launch, loginThroughForm, newPage, trackErrors, waitLive } from './helpers/browser.mjs';

const A = { name: 'Clínica Escopo', email: 'master@escopo.test', password: 'senha-escopo-123' };

let db, server, browser, api, clinic;

before(async () => {
  db = freshDatabase();
  await createAccount(db.url, A);
  server = await startServer({ databaseUrl: db.url });
  api = await Api.login(server.base, A.email, A.password);
  clinic = await seedClinic(api, {
    doctors: [{ name: 'Dra. Helena Costa', room: 'Sala 3', procedures: ['Consulta'] }],
    patients: [{ name: 'Renata Figueiredo', age: 44 }],
    appointments: [{ patient: 0, doctor: 0, procedure: 'Consulta', time: '10:00' }],
  });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  db?.cleanup();
});

const keyNamed = async (prefix) => (await api.call('GET', '/api/api-keys')).find((k) => k.name.startsWith(prefix) && k.revokedAt === null);

test('the totem set up in one click gets a kiosk key, which cannot read the patients', async () => {
  const page = trackErrors(await newPage(browser, { viewport: { width: 1024, height: 1280 } }));
  await loginThroughForm(page, server.base, A.email, A.password, '/agenda');
  await page.goto(`${server.base}/totem`);
  await page.click('[data-testid="totem-create-key"]');
  await page.waitForSelector('[data-testid="totem"][data-step="cpf"]');
  const key = await keyNamed('Totem ');
  assert.equal(key?.scope, 'kiosk');
  const stored = await page.evaluate(() => localStorage.getItem('fila.totem.apiKey'));
  const traded = await fetch(`${server.base}/api/auth/token`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ apiKey: stored }),
  }).then((r) => r.json());
  const patients = await fetch(`${server.base}/api/patients`, { headers: { Authorization: `Bearer ${traded.accessToken}` } });
  assert.equal(patients.status, 403);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('the panel set up in one click gets a panel key and shows the call live', async () => {
  const tv = trackErrors(await newPage(browser, { viewport: { width: 1600, height: 900 } }));
  await loginThroughForm(tv, server.base, A.email, A.password, '/agenda');
  await tv.goto(`${server.base}/painel`);
  await tv.click('[data-testid="painel-create-key"]');
  await tv.waitForSelector('[data-testid="painel-current"][data-loaded="true"]', { state: 'attached' });
  await waitLive(tv);
  assert.equal((await keyNamed('Painel '))?.scope, 'panel');
  const id = clinic.appointments[0].id;
  await api.status(id, 'check-in');
  await api.status(id, 'em atendimento');
  await tv.waitForSelector(`[data-testid="painel-current"][data-appointment-id="${id}"]`, { timeout: 5000 });
  assert.match(await tv.textContent('[data-testid="painel-current"]'), /Renata/);
  assert.deepEqual(tv.errors, []);
  await tv.context().close();
});

test('the master chooses a key\'s scope on /acesso-api and the list shows it', async () => {
  const page = trackErrors(await newPage(browser));
  await loginThroughForm(page, server.base, A.email, A.password, '/acesso-api');
  await page.fill('input[name="keyName"]', 'Totem da entrada');
  await page.selectOption('select[name="keyScope"]', 'kiosk');
  await page.click('[data-testid="create-key"]');
  await page.waitForSelector('[data-testid="new-key"]');
  assert.equal(await page.$('[data-testid="use-in-panel"]'), null, 'a kiosk key is not offered to the panel');
  const created = await keyNamed('Totem da entrada');
  assert.equal(created?.scope, 'kiosk');
  const badge = await page.waitForSelector(`[data-key-id="${created.id}"] [data-testid="key-scope"]`);
  assert.equal(await badge.getAttribute('data-scope'), 'kiosk');
  assert.match(await badge.textContent(), /Totem/);
  // Without a choice the key is an integration one, as the API's default.
  await page.fill('input[name="keyName"]', 'Integração do site');
  await page.selectOption('select[name="keyScope"]', 'integration');
  await page.click('[data-testid="create-key"]');
  await page.waitForSelector('[data-testid="use-in-panel"]');
  assert.equal((await keyNamed('Integração do site'))?.scope, 'integration');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});
