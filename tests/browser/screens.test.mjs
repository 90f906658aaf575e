// Takes a screenshot of each screen (entrar, agenda, fila, painel, acesso-api, and the queue on
// a tablet) with the server's demo clinic, into tests/browser/screenshots/, and checks that
// each screen shows what it should.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Api, freshDatabase, startServer } from './helpers/fila.mjs';
import { launch, loginThroughForm, newPage, trackErrors, waitLive } from './helpers/browser.mjs';
import { assertAccessible } from './helpers/axe.mjs';

const SHOTS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'screenshots');
const shot = (name) => path.join(SHOTS, `${name}.png`);

let db, server, browser, login;

before(async () => {
  db = freshDatabase();
  server = await startServer({ databaseUrl: db.url, extraArgs: ['--demo'] });
  const printed = /with (\S+@\S+) \/ (\S+)/.exec(server.output());
  login = printed ? { email: printed[1], password: printed[2] } : { email: 'demo@fila.local', password: 'demo1234' };
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  db?.cleanup();
});

test('every screen renders, and is saved as a screenshot', async () => {
  const page = await newPage(browser);
  await page.goto(`${server.base}/entrar`);
  await page.waitForSelector('input[type="email"]');
  await page.screenshot({ path: shot('entrar') });
  await assertAccessible(page, 'entrar');

  await loginThroughForm(page, server.base, login.email, login.password, '/agenda');
  await page.waitForSelector('[data-testid="agenda"][data-loaded="true"] [data-appointment-id]');
  await waitLive(page);
  await page.screenshot({ path: shot('agenda'), fullPage: true });
  await assertAccessible(page, 'agenda');
  // The check-in dialog, open, then closed with Escape: the focus goes back to its button.
  const arriving = page.locator('[data-testid="agenda"] [data-status="Agendado"] button[data-action="Check-in"]').first();
  await arriving.click();
  await page.waitForSelector('[data-testid="priority-flags"]');
  await assertAccessible(page, 'check-in dialog');
  await page.keyboard.press('Escape');
  await page.waitForSelector('[data-testid="priority-flags"]', { state: 'detached' });
  await page.waitForFunction(() => document.activeElement?.getAttribute('data-action') === 'Check-in');
  await assertAccessible(page, 'agenda after the dialog');

  await page.goto(`${server.base}/fila`);
  await page.waitForSelector('[data-testid="queue"] [data-appointment-id]');
  await waitLive(page);
  await page.screenshot({ path: shot('fila'), fullPage: true });
  await assertAccessible(page, 'fila');

  await page.setViewportSize({ width: 1024, height: 768 });
  await page.screenshot({ path: shot('fila-tablet'), fullPage: true });
  await page.setViewportSize({ width: 1366, height: 860 });

  await page.goto(`${server.base}/acesso-api`);
  await page.fill('input[name="keyName"]', 'Painel da recepção');
  await page.click('[data-testid="create-key"]');
  await page.waitForSelector('[data-testid="new-key"]');
  const curl = await page.textContent('[data-testid="curl-example"]');
  assert.match(curl, new RegExp(`${server.base}/api/auth/token`));
  await page.screenshot({ path: shot('acesso-api'), fullPage: true });
  await assertAccessible(page, 'acesso-api');
  await page.click('[data-testid="use-in-panel"]');

  // The key trades for a token exactly as the curl example says.
  const key = (await page.textContent('[data-testid="new-key-value"]')).trim();
  const traded = await fetch(`${server.base}/api/auth/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ apiKey: key }),
  });
  assert.equal(traded.status, 200);

  // Same browser profile: the panel picks up the stored key by itself.
  const tv = trackErrors(await page.context().newPage());
  await tv.setViewportSize({ width: 1920, height: 1080 });
  await tv.goto(`${server.base}/painel`);
  await tv.waitForSelector('[data-testid="painel-current"][data-loaded="true"]', { state: 'attached' });
  await waitLive(tv);
  const api = await Api.login(server.base, login.email, login.password);
  const queue = await api.get('/api/appointments/queue?limit=100');
  const next = queue.find((a) => a.status.name === 'Check-in');
  assert.ok(next, 'the demo clinic has someone waiting');
  await api.status(next.id, 'em atendimento');
  await tv.waitForSelector(`[data-testid="painel-current"][data-appointment-id="${next.id}"]`, { timeout: 2000 });
  await tv.mouse.click(960, 900); // the touch that lets the browser play the chime
  await tv.waitForTimeout(2000); // let the call's highlight settle
  await tv.screenshot({ path: shot('painel') });
  await assertAccessible(tv, 'painel');

  assert.deepEqual(page.errors, []);
  assert.deepEqual(tv.errors, []);
});
