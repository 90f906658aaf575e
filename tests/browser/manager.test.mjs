// The clinic manager's screens on the demo clinic: a master creates a staff user who logs in
// (and does not see the master's screens); a doctor edited on /medicos changes an open agenda
// at once; /relatorios draws its four plots with their tables and no console error (and is
// saved as a screenshot).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Api, freshDatabase, startServer } from './helpers/fila.mjs';
import { eventually, launch, loginThroughForm, newPage, waitLive } from './helpers/browser.mjs';

const SHOTS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'screenshots');
const DEMO = { email: 'demo@fila.local', password: 'demo1234' };

let db, server, browser;

/** A page that also records console errors in `page.errors`. */
async function pageWithConsole() {
  const page = await newPage(browser);
  page.on('console', (msg) => {
    if (msg.type() === 'error') page.errors.push(msg.text());
  });
  return page;
}

before(async () => {
  db = freshDatabase();
  server = await startServer({ databaseUrl: db.url, extraArgs: ['--demo'] });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  db?.cleanup();
});

test('a master creates a staff user on /equipe, who logs in', async () => {
  const master = await pageWithConsole();
  await loginThroughForm(master, server.base, DEMO.email, DEMO.password, '/equipe');
  await master.waitForSelector('[data-testid="team-page"][data-loaded="true"]');
  await master.fill('[data-testid="user-form"] input[name="name"]', 'Carla Recepção');
  await master.fill('[data-testid="user-form"] input[name="email"]', 'carla@demo.test');
  await master.fill('[data-testid="user-form"] input[name="password"]', 'carla-senha-1');
  await master.click('[data-testid="create-user"]');
  await master.waitForSelector('[data-testid="user-rows"] li:has-text("carla@demo.test")');

  const staff = await pageWithConsole();
  await loginThroughForm(staff, server.base, 'carla@demo.test', 'carla-senha-1', '/agenda');
  await staff.waitForSelector('[data-testid="agenda"][data-loaded="true"]');
  await waitLive(staff);
  assert.match(await staff.textContent('.session .user'), /Carla Recepção/);
  const tabs = await staff.$$eval('.tabs a', (links) => links.map((a) => a.textContent.trim()));
  assert.ok(tabs.includes('Relatórios'), `${tabs}`);
  assert.ok(!tabs.includes('Equipe') && !tabs.includes('Configurações'), `staff tabs: ${tabs}`);

  // Deactivated, the staff user's session stops working: the next screen sends them to log in.
  const carla = await master.getAttribute('[data-testid="user-rows"] li:has-text("carla@demo.test")', 'data-user-id');
  const api = await Api.login(server.base, DEMO.email, DEMO.password);
  await api.patch(`/api/users/${carla}`, { active: false });
  await staff.goto(`${server.base}/fila`);
  await staff.waitForURL((url) => url.pathname === '/entrar', { timeout: 10_000 });
  assert.deepEqual(
    master.errors.filter((e) => !/401|403/.test(e)),
    [],
  );
  await Promise.all([master.context().close(), staff.context().close()]);
});

test('a doctor edited on /medicos updates an open agenda at once', async () => {
  const agenda = await pageWithConsole();
  await loginThroughForm(agenda, server.base, DEMO.email, DEMO.password, '/agenda');
  await agenda.waitForSelector('[data-testid="agenda"][data-loaded="true"] .group-title');
  await waitLive(agenda);
  assert.ok(await agenda.$('.group-title:has-text("Dr. Victor Almeida")'));

  const registers = await pageWithConsole();
  await loginThroughForm(registers, server.base, DEMO.email, DEMO.password, '/medicos');
  await registers.waitForSelector('[data-testid="doctors-page"][data-loaded="true"] [data-doctor-id]');
  await registers.click('[data-doctor-id]:has-text("Dr. Victor Almeida") button[data-action="edit"]');
  await registers.fill('[data-testid="doctor-form"] input[name="name"]', 'Dr. Victor A. Almeida');
  await registers.fill('[data-testid="doctor-form"] input[name="room"]', 'Sala 9');
  await registers.click('[data-testid="save-doctor"]');
  await registers.waitForSelector('[data-doctor-id]:has-text("Dr. Victor A. Almeida")');

  await eventually(
    async () => {
      const title = await agenda.textContent('.group-title:has-text("Victor")');
      return title?.includes('Dr. Victor A. Almeida') && title.includes('Sala 9');
    },
    { timeout: 3000, message: 'the agenda to show the edited doctor' },
  );
  assert.deepEqual(agenda.errors, []);
  assert.deepEqual(registers.errors, []);
  await Promise.all([agenda.context().close(), registers.context().close()]);
});

test('/relatorios draws its plots and tables for the demo clinic with no console error', async () => {
  const page = await pageWithConsole();
  await loginThroughForm(page, server.base, DEMO.email, DEMO.password, '/relatorios');
  await page.waitForSelector('[data-testid="reports"][data-loaded="true"]', { timeout: 15_000 });
  for (const name of ['waits', 'attendance', 'doctors', 'arrivals']) {
    const canvas = await page.waitForSelector(`[data-testid="chart-${name}"]`);
    const drawn = await canvas.evaluate((c) => {
      const { width, height } = c;
      const pixels = c.getContext('2d').getImageData(0, 0, width, height).data;
      let painted = 0;
      for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted++;
      return { width, height, painted };
    });
    assert.ok(drawn.width > 200 && drawn.height > 100, `${name}: ${JSON.stringify(drawn)}`);
    assert.ok(drawn.painted > 1000, `${name} is drawn: ${JSON.stringify(drawn)}`);
    const rows = await page.$$(`[data-testid="table-${name}"] tbody tr`);
    assert.ok(rows.length > 0, `${name} has a table`);
  }
  // The eight weeks of demo history: about 25 open days in the last 30.
  const days = await page.$$('[data-testid="table-waits"] tbody tr');
  assert.ok(days.length >= 20, `waits over ${days.length} days`);
  const doctors = await page.$$eval('[data-testid="table-doctors"] tbody tr td:first-child', (cells) => cells.map((c) => c.textContent));
  assert.ok(doctors.some((name) => name.includes('Helena Costa')), `${doctors}`);

  // A filter by doctor narrows every report.
  await page.selectOption('select[name="doctorId"]', { label: 'Dra. Helena Costa' });
  await page.click('[data-testid="apply-filters"]');
  await page.waitForSelector('[data-testid="reports"][data-loaded="true"]');
  await eventually(async () => (await page.$$('[data-testid="table-doctors"] tbody tr')).length === 1, {
    message: 'one doctor left',
  });

  // The CSV download is the same report.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="csv-attendance"]')]);
  assert.match(download.suggestedFilename(), /^attendance-\d{4}-\d{2}-\d{2}-\d{4}-\d{2}-\d{2}\.csv$/);

  await page.selectOption('select[name="doctorId"]', { value: '' });
  await page.click('[data-testid="apply-filters"]');
  await page.waitForSelector('[data-testid="reports"][data-loaded="true"] [data-testid="chart-arrivals"]');
  await page.screenshot({ path: path.join(SHOTS, 'relatorios.png'), fullPage: true });
  assert.deepEqual(page.errors, []);
  await page.context().close();
});
