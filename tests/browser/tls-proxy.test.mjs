// The browser behind the shipped nginx recipe (contrib/nginx.conf with a self-signed
// certificate, tests/protocol/nginx-tls.mjs): a person logs in over https, the page goes live
// over the proxy's websocket, and a check-in made elsewhere shows on it.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { Api, createAccount, freshDatabase, startServer } from './helpers/fila.mjs';
import { seedClinic } from './helpers/seed.mjs';
import { CHROMIUM_ARGS, loginThroughForm, queueRow, trackErrors, waitLive } from './helpers/browser.mjs';
import { startTlsNginx } from '../protocol/nginx-tls.mjs';

const A = { name: 'Clínica Delta', email: 'ana@delta.test', password: 'senha-delta-123' };

let db, server, nginx, browser, api, clinic;

before(async () => {
  db = freshDatabase();
  await createAccount(db.url, A);
  server = await startServer({ databaseUrl: db.url, extraArgs: ['--trusted-proxy', '127.0.0.1/32'] });
  nginx = await startTlsNginx(server.port);
  api = await Api.login(server.base, A.email, A.password);
  clinic = await seedClinic(api, {
    doctors: [{ name: 'Dra. Helena Prado', room: 'Sala 2', procedures: ['Consulta'] }],
    patients: [{ name: 'Rita Moura', age: 44 }],
    appointments: [{ patient: 0, doctor: 0, procedure: 'Consulta', time: '10:00' }],
  });
  // The certificate is self-signed: the browser is told to accept it.
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [...CHROMIUM_ARGS, '--ignore-certificate-errors'],
  });
});

after(async () => {
  await browser?.close();
  await nginx?.stop();
  await server?.stop();
  db?.cleanup();
});

test('a person logs in through the TLS proxy, the page goes live and shows a check-in made elsewhere', async () => {
  const context = await browser.newContext({ viewport: { width: 1366, height: 860 }, locale: 'pt-BR' });
  const page = trackErrors(await context.newPage());
  const sockets = [];
  page.on('websocket', (ws) => sockets.push(ws.url()));
  await loginThroughForm(page, nginx.base, A.email, A.password, '/fila');
  assert.ok(page.url().startsWith(`${nginx.base}/fila`), page.url());
  await waitLive(page);
  assert.ok(sockets.some((url) => url.startsWith(`wss://127.0.0.1:${nginx.httpsPort}/socket.io/`)), `a websocket through nginx: ${sockets}`);
  const id = clinic.appointments[0].id;
  await api.status(id, 'check-in');
  await page.waitForSelector(queueRow(id), { timeout: 2000 });
  assert.deepEqual(page.errors, []);
});
