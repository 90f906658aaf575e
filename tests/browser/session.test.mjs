// The session outlives its token: with a 10-second token lifetime the staff page and the TV
// panel renew their tokens themselves and keep receiving live events, without a visible
// reconnect; a reload or a new tab keeps the session; a token the server refuses leads to
// /entrar; a revoked key sends the panel back to its setup form.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Api, createAccount, freshDatabase, sleep, startServer } from './helpers/fila.mjs';
import { seedClinic } from './helpers/seed.mjs';
import { launch, loginThroughForm, newPage, queueRow, waitLive } from './helpers/browser.mjs';

const TTL = 10;
const A = { name: 'Clínica Gama', email: 'ana@gama.test', password: 'senha-gama-123' };

let db, server, browser, api, clinic, staff, painel, panelKey;

/** Records every value the live badge's data-status takes, from now on. */
async function recordLiveStatus(page) {
  await page.evaluate(() => {
    window.__liveStatus = [];
    const badge = document.querySelector('[data-testid="live-status"]');
    new MutationObserver(() => window.__liveStatus.push(badge.getAttribute('data-status'))).observe(badge, {
      attributes: true,
      attributeFilter: ['data-status'],
    });
  });
}

before(async () => {
  db = freshDatabase();
  await createAccount(db.url, A);
  server = await startServer({ databaseUrl: db.url, tokenTtl: TTL });
  api = await Api.login(server.base, A.email, A.password);
  clinic = await seedClinic(api, {
    doctors: [{ name: 'Dr. Otávio Ramos', room: 'Sala 4', procedures: ['Consulta'] }],
    patients: [{ name: 'Lúcia Barros', age: 38 }, { name: 'Mário Teixeira', age: 55 }],
    appointments: [
      { patient: 0, doctor: 0, procedure: 'Consulta', time: '10:00' },
      { patient: 1, doctor: 0, procedure: 'Consulta', time: '10:15' },
    ],
  });
  browser = await launch();
  staff = await newPage(browser);
  painel = await newPage(browser);
  await loginThroughForm(staff, server.base, A.email, A.password, '/fila');
  // Starting the browser may take longer than the 10-second token: log in again first.
  api = await Api.login(server.base, A.email, A.password);
  panelKey = await api.post('/api/api-keys', { name: 'Painel' });
  await painel.goto(`${server.base}/painel`);
  await painel.fill('input[name="apiKey"]', panelKey.key);
  await painel.click('button[type="submit"]');
  await Promise.all([waitLive(staff), waitLive(painel)]);
});

after(async () => {
  await browser?.close();
  await server?.stop();
  db?.cleanup();
});

test('staff page and panel renew their tokens and stay live past the token lifetime', async () => {
  const firstToken = await staff.evaluate(() => localStorage.getItem('fila.session'));
  const firstPanelToken = await painel.evaluate(() => localStorage.getItem('fila.painel.session'));
  await recordLiveStatus(staff);
  await recordLiveStatus(painel);

  await sleep((TTL + 3) * 1000); // past the first token's expiry

  assert.equal(new URL(staff.url()).pathname, '/fila', 'still logged in');
  assert.notEqual(await staff.evaluate(() => localStorage.getItem('fila.session')), firstToken, 'token renewed');
  assert.notEqual(await painel.evaluate(() => localStorage.getItem('fila.painel.session')), firstPanelToken, 'panel token renewed');

  // Events still arrive live, on sockets opened with the fresh tokens.
  const fresh = await Api.login(server.base, A.email, A.password);
  const [first, second] = clinic.appointments;
  await fresh.status(first.id, 'check-in');
  await staff.waitForSelector(queueRow(first.id), { timeout: 1000 });
  await fresh.status(second.id, 'check-in');
  await fresh.status(second.id, 'em atendimento');
  await painel.waitForSelector(`[data-testid="painel-current"][data-appointment-id="${second.id}"]`, { timeout: 1000 });

  // The socket was handed over to the fresh token without ever showing a disconnect.
  for (const page of [staff, painel]) {
    const seen = await page.evaluate(() => window.__liveStatus);
    assert.ok(!seen.includes('reconnecting'), `live status went through ${JSON.stringify(seen)}`);
    assert.deepEqual(page.errors, []);
  }
});

test('a reload and a new tab keep the session', async () => {
  await staff.reload();
  await staff.waitForSelector('[data-testid="queue"][data-loaded="true"]', { state: 'attached' });
  assert.equal(new URL(staff.url()).pathname, '/fila');

  const tab = await staff.context().newPage();
  await tab.goto(`${server.base}/agenda`);
  await tab.waitForSelector('[data-testid="agenda"][data-loaded="true"]');
  assert.equal(new URL(tab.url()).pathname, '/agenda');
  for (const a of clinic.appointments) await tab.waitForSelector(`[data-appointment-id="${a.id}"]`);
  await tab.close();
});

test('a token the server refuses sends the user to /entrar', async () => {
  await staff.evaluate(() => {
    const stored = JSON.parse(localStorage.getItem('fila.session'));
    localStorage.setItem('fila.session', JSON.stringify({ ...stored, token: stored.token.slice(0, -4) + 'AAAA' }));
  });
  await staff.reload();
  await staff.waitForURL((url) => url.pathname === '/entrar', { timeout: 5000 });
  await staff.waitForSelector('input[type="email"]');
});

test('a revoked API key sends the panel back to its setup form', async () => {
  const fresh = await Api.login(server.base, A.email, A.password);
  await fresh.call('DELETE', `/api/api-keys/${panelKey.id}`);
  // The panel finds out at once: the server disconnects its socket, and trading the key again
  // is refused.
  const revokedAt = Date.now();
  await painel.waitForSelector('[data-testid="painel-setup"]', { timeout: 5000 });
  assert.ok(Date.now() - revokedAt < 5000);
  assert.match(await painel.textContent('[data-testid="painel-setup"]'), /foi revogada/);
  assert.equal(await painel.evaluate(() => localStorage.getItem('fila.painel.apiKey')), null);
});

test('a master logged in on this browser sets the panel up with one click', async () => {
  const tv = await newPage(browser);
  await loginThroughForm(tv, server.base, A.email, A.password, '/agenda');
  await tv.goto(`${server.base}/painel`);
  await tv.click('[data-testid="painel-create-key"]');
  await tv.waitForSelector('[data-testid="painel-current"]');
  await waitLive(tv);
  const stored = await tv.evaluate(() => localStorage.getItem('fila.painel.apiKey'));
  assert.match(stored ?? '', /^fila_/);
  const fresh = await Api.login(server.base, A.email, A.password);
  const keys = await fresh.call('GET', '/api/api-keys');
  assert.ok(keys.some((k) => k.name.startsWith('Painel ') && k.revokedAt === null && stored.startsWith(k.prefix) && k.scope === 'panel'));
  assert.deepEqual(tv.errors, []);
  await tv.context().close();
});
