// A clinic's day at the reception, in headless Chromium: any day's agenda, booking from the
// doctor's free slots (an "encaixe" asks first, the form survives Escape and a stray click),
// a queue per doctor with "Chamar próximo", Reagendar from Faltou back into the queue, the
// clinic's time zone on screen, and axe-core (zero serious or critical violations) on each of
// these screens with their dialogs open and closed.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Api, createAccount, freshDatabase, startServer } from './helpers/fila.mjs';
import { seedClinic } from './helpers/seed.mjs';
import { eventually, launch, loginThroughForm, newPage, queueIds, waitLive } from './helpers/browser.mjs';
import { assertAccessible } from './helpers/axe.mjs';

const SHOTS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'screenshots');
const shot = (name) => path.join(SHOTS, `${name}.png`);
const A = { name: 'Clínica Horizonte', email: 'recepcao@horizonte.test', password: 'senha-horizonte-1' };
// Not the server's zone (UTC on CI): every clock on screen must follow the account's.
const ZONE = 'America/Manaus';

let db, server, browser, api, clinic, page, tomorrow, morning;

const agendaRow = (id) => `[data-testid="agenda"] [data-appointment-id="${id}"]`;

function shiftDay(day, n) {
  const [y, m, d] = day.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
}

function clockIn(iso, timeZone) {
  return new Intl.DateTimeFormat('pt-BR', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(iso));
}

before(async () => {
  db = freshDatabase();
  await createAccount(db.url, A);
  server = await startServer({ databaseUrl: db.url });
  api = await Api.login(server.base, A.email, A.password);
  await api.patch('/api/account', { timeZone: ZONE });
  clinic = await seedClinic(api, {
    doctors: [
      { name: 'Dr. André Lima', room: 'Sala 1', procedures: ['Consulta'] },
      { name: 'Dra. Beatriz Rocha', room: 'Sala 2', procedures: ['Consulta'] },
    ],
    patients: [
      { name: 'Carla Nunes', age: 34 },
      { name: 'Dionísio Farias', age: 86 },
      { name: 'Eva Martins', age: 41 },
      { name: 'Fábio Teixeira', age: 29 },
      { name: 'Gilda Souza', age: 52 },
    ],
    appointments: [
      { patient: 0, doctor: 0, procedure: 'Consulta', time: '00:15' },
      { patient: 1, doctor: 0, procedure: 'Consulta', time: '00:30' },
      { patient: 2, doctor: 1, procedure: 'Consulta', time: '00:45' },
      { patient: 3, doctor: 1, procedure: 'Consulta', time: '01:00' },
      { patient: 4, doctor: 0, procedure: 'Consulta', time: '01:15' },
    ],
  });
  assert.equal(clinic.account.timeZone, ZONE);
  tomorrow = shiftDay(clinic.today, 1);
  // A doctor with real hours: 08:00–12:00 in 30-minute slots, every day.
  morning = await api.post('/api/doctors', {
    name: 'Dra. Helena Prado',
    room: 'Sala 3',
    procedureIds: [clinic.procedures.get('Consulta').id],
    startTime: '08:00',
    endTime: '12:00',
    intervalMinutes: 30,
    workingDays: ['Segunda', 'Terca', 'Quarta', 'Quinta', 'Sexta', 'Sabado', 'Domingo'],
  });
  browser = await launch();
  page = await newPage(browser);
  await loginThroughForm(page, server.base, A.email, A.password, '/agenda');
  await waitLive(page);
});

after(async () => {
  await browser?.close();
  await server?.stop();
  db?.cleanup();
});

/** Opens the booking form and fills patient, doctor and procedure (not the time). */
async function startBooking(patientName, doctorId, day) {
  await page.click('[data-testid="new-appointment"]');
  await page.waitForSelector('[data-testid="booking-form"]');
  await page.fill('input[name="patientSearch"]', patientName.split(' ')[0]);
  await page.click(`.search-results button:has-text("${patientName}")`);
  await page.selectOption('select[name="doctorId"]', String(doctorId));
  await page.check(`[data-testid="procedures"] input[value="${clinic.procedures.get('Consulta').id}"]`);
  await page.fill('input[name="date"]', day);
}

test('a booking for tomorrow is found on /agenda?data=, with previous, next, a date picker and Hoje', async () => {
  await page.goto(`${server.base}/agenda`);
  await page.waitForSelector('[data-testid="agenda"][data-loaded="true"]');
  await assertAccessible(page, 'agenda');

  await startBooking('Eva Martins', morning.id, tomorrow);
  await page.waitForSelector('[data-testid="slots"] button[data-start="08:00"]');
  await assertAccessible(page, 'booking form');
  await page.click('[data-testid="slots"] button[data-start="09:00"]');
  assert.equal(await page.inputValue('input[name="startTime"]'), '09:00');
  await page.screenshot({ path: shot('agendamento') });
  assert.equal(await page.inputValue('input[name="endTime"]'), '09:30');
  await page.click('[data-testid="save-appointment"]');
  await page.waitForSelector('[data-testid="booking-form"]', { state: 'detached' });

  // The toast names the day and links to it.
  const toast = page.locator('[data-testid="toast"]', { hasText: 'Agendamento criado' });
  const weekday = new Date(`${tomorrow}T12:00:00Z`).toLocaleDateString('pt-BR', { weekday: 'long', timeZone: 'UTC' });
  assert.match(await toast.textContent(), new RegExp(`${weekday}.*09:00`));
  await toast.locator('button:has-text("Ver o dia")').click();
  await page.waitForURL((url) => url.searchParams.get('data') === tomorrow);
  const created = (await api.get(`/api/appointments?date=${tomorrow}&limit=100`)).find((a) => a.patient.name === 'Eva Martins');
  assert.ok(created, 'booked on the server for tomorrow');
  await page.waitForSelector(agendaRow(created.id));
  assert.equal(await page.getAttribute('[data-testid="agenda-day"]', 'data-day'), tomorrow);
  await page.screenshot({ path: shot('agenda-outro-dia'), fullPage: true });
  await assertAccessible(page, 'agenda of another day');

  // Back one day is today (Hoje is then disabled), the picker jumps, and a reload keeps the day.
  await page.click('[data-testid="prev-day"]');
  await page.waitForSelector(`[data-testid="agenda-day"][data-day="${clinic.today}"]`);
  assert.ok(await page.isDisabled('[data-testid="today"]'));
  await page.waitForSelector(agendaRow(clinic.appointments[0].id));
  await page.fill('[data-testid="day-picker"]', tomorrow);
  await page.waitForSelector(agendaRow(created.id));
  await page.click('[data-testid="next-day"]');
  await page.waitForURL((url) => url.searchParams.get('data') === shiftDay(tomorrow, 1));
  await page.goto(`${server.base}/agenda?data=${tomorrow}`);
  await page.waitForSelector(agendaRow(created.id));
  await page.click('[data-testid="today"]');
  await page.waitForSelector(`[data-testid="agenda-day"][data-day="${clinic.today}"]`);
  assert.equal(new URL(page.url()).searchParams.get('data'), null);
  // /fila stays today's.
  await page.goto(`${server.base}/fila?data=${tomorrow}`);
  await page.waitForSelector('[data-testid="queue"][data-loaded="true"]', { state: 'attached' });
  assert.doesNotMatch(await page.textContent('.queue-page'), /Eva Martins/);
});

test('a taken slot or a time outside the hours asks for an encaixe; the form survives Escape and a stray click', async () => {
  await api.post('/api/appointments', {
    patientId: clinic.patients[3].id,
    doctorId: morning.id,
    procedures: [{ id: clinic.procedures.get('Consulta').id }],
    date: tomorrow,
    startTime: '10:00',
    endTime: '10:30',
  });
  await page.goto(`${server.base}/agenda?data=${tomorrow}`);
  await page.waitForSelector('[data-testid="agenda"][data-loaded="true"]');

  // Errors show on their field and go away as soon as it changes.
  await page.click('[data-testid="new-appointment"]');
  await page.click('[data-testid="save-appointment"]');
  await page.waitForSelector('#err-patient');
  assert.equal(await page.getAttribute('input[name="patientSearch"]', 'aria-describedby'), 'err-patient');
  await page.click('.segmented button:has-text("Novo paciente")');
  await page.fill('input[name="name"]', 'Iara Campos');
  await page.fill('input[name="cpf"]', '123.456.789-00');
  await page.click('[data-testid="save-appointment"]');
  await page.waitForSelector('#err-cpf');
  await page.waitForSelector('#err-time');
  await assertAccessible(page, 'booking form with errors');
  await page.fill('input[name="cpf"]', '529.982.247-25');
  await page.waitForSelector('#err-cpf', { state: 'detached' });
  assert.ok(await page.isVisible('#err-time'), 'only the changed field is cleared');
  await page.fill('input[name="startTime"]', '11:00');
  await page.waitForSelector('#err-time', { state: 'detached' });

  // Escape and a click on the backdrop ask before throwing the form away.
  await page.keyboard.press('Escape');
  await page.waitForSelector('[data-testid="discard-dialog"]');
  await assertAccessible(page, 'discard question');
  await page.click('[data-testid="discard-dialog"] [data-testid="confirm-no"]');
  await page.waitForSelector('[data-testid="discard-dialog"]', { state: 'detached' });
  assert.equal(await page.inputValue('input[name="name"]'), 'Iara Campos');
  await page.mouse.click(5, 5);
  await page.waitForSelector('[data-testid="discard-dialog"]');
  await page.click('[data-testid="discard-dialog"] [data-testid="confirm-yes"]');
  await page.waitForSelector('[data-testid="booking-form"]', { state: 'detached' });
  // The focus goes back to the button that opened the form.
  await eventually(
    async () => (await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))) === 'new-appointment',
    { timeout: 1000, message: 'the focus back on "Novo agendamento"' },
  );

  // 10:00 is taken: not offered, and typing it asks first.
  await startBooking('Gilda Souza', morning.id, tomorrow);
  await page.waitForSelector('[data-testid="slots"] button[data-start="09:30"]');
  assert.equal(await page.$('[data-testid="slots"] button[data-start="10:00"]'), null);
  await page.fill('input[name="startTime"]', '10:00');
  await page.click('[data-testid="save-appointment"]');
  await page.waitForSelector('[data-testid="encaixe-dialog"]');
  assert.match(await page.textContent('[data-testid="encaixe-dialog"]'), /já está ocupado/);
  await assertAccessible(page, 'encaixe question');
  await page.click('[data-testid="encaixe-dialog"] [data-testid="confirm-no"]');
  await page.waitForSelector('[data-testid="encaixe-dialog"]', { state: 'detached' });
  assert.ok(await page.isVisible('[data-testid="booking-form"]'), 'the form stays open to pick another time');

  // Outside the doctor's hours asks too; confirming books the encaixe.
  await page.fill('input[name="startTime"]', '22:30');
  await page.click('[data-testid="save-appointment"]');
  await page.waitForSelector('[data-testid="encaixe-dialog"]');
  assert.match(await page.textContent('[data-testid="encaixe-dialog"]'), /fora do horário/);
  // The question keeps the keyboard: Tab cycles between its two buttons.
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-testid')), 'confirm-no');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-testid')), 'confirm-yes');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.closest('[role="alertdialog"]')?.getAttribute('data-testid')), 'encaixe-dialog');
  await page.click('[data-testid="encaixe-dialog"] [data-testid="confirm-yes"]');
  await page.waitForSelector('[data-testid="booking-form"]', { state: 'detached' });
  const booked = (await api.get(`/api/appointments?date=${tomorrow}&limit=100`)).filter((a) => a.patient.name === 'Gilda Souza');
  assert.equal(booked.length, 1);
  assert.deepEqual([booked[0].startTime, booked[0].endTime], ['22:30', '23:00']);
  assert.deepEqual(page.errors, []);
});

test('/fila?medico= is one doctor’s queue: Chamar próximo calls the first by priority, the choice is kept, a busy doctor asks first', async () => {
  const [carla, dionisio, eva, fabio] = clinic.appointments;
  for (const a of [carla, dionisio, eva, fabio]) await api.status(a.id, 'check-in');
  const andre = clinic.doctors[0];
  await page.goto(`${server.base}/fila?medico=${andre.id}`);
  await page.waitForSelector(`[data-testid="queue"] [data-appointment-id="${dionisio.id}"]`);
  await waitLive(page);
  // Only Dr. André's patients, the 86-year-old first.
  assert.deepEqual(await queueIds(page), [dionisio.id, carla.id]);
  assert.match(await page.textContent('h1'), /André Lima/);
  // The wait reads as minutes; the check-in time is the clinic's clock.
  assert.match(await page.textContent(`[data-appointment-id="${carla.id}"] [data-testid="wait"]`), /^\d+ min$/);
  const checkedIn = (await api.get(`/api/appointments/${carla.id}`)).checkedInAt;
  assert.match(await page.textContent(`[data-appointment-id="${carla.id}"]`), new RegExp(`chegou ${clockIn(checkedIn, ZONE)}`));
  await assertAccessible(page, 'a doctor’s queue');

  await page.click('[data-testid="call-next"]');
  await eventually(async () => (await api.get(`/api/appointments/${dionisio.id}`)).status.name === 'Em atendimento', {
    message: 'Dionísio called',
  });
  await page.waitForSelector(`[data-testid="serving"] [data-appointment-id="${dionisio.id}"]`);
  assert.deepEqual(await queueIds(page), [carla.id]);
  await page.screenshot({ path: shot('fila-medico'), fullPage: true });

  // The choice is remembered by this browser.
  await page.goto(`${server.base}/fila`);
  await page.waitForURL((url) => url.searchParams.get('medico') === String(andre.id));
  await page.waitForSelector(`[data-testid="queue"] [data-appointment-id="${carla.id}"]`);

  // Dr. André has Dionísio in the room: calling Carla asks first.
  await page.click('[data-testid="call-next"]');
  await page.waitForSelector('[data-testid="busy-dialog"]');
  assert.match(await page.textContent('[data-testid="busy-dialog"]'), /Dionísio Farias/);
  await assertAccessible(page, 'busy doctor question');
  await page.click('[data-testid="busy-dialog"] [data-testid="confirm-no"]');
  assert.equal((await api.get(`/api/appointments/${carla.id}`)).status.name, 'Check-in');
  await page.click('[data-testid="call-next"]');
  await page.click('[data-testid="busy-dialog"] [data-testid="confirm-yes"]');
  await eventually(async () => (await api.get(`/api/appointments/${carla.id}`)).status.name === 'Em atendimento', {
    message: 'Carla called',
  });

  // Finalizar asks and says what happens; finishing one of two keeps the doctor busy.
  const finish = `[data-testid="serving"] [data-appointment-id="${dionisio.id}"]`;
  await page.click(`${finish} button[data-action="Finalizar"]`);
  assert.match(await page.textContent(`${finish} .ask`), /sai da fila/);
  await page.click(`${finish} .ask button:has-text("Sim")`);
  await page.waitForSelector(finish, { state: 'detached' });
  assert.equal((await api.get(`/api/doctors/${andre.id}`)).isBusy, true);
  await page.waitForSelector(`[data-testid="doctors"] [data-doctor-id="${andre.id}"][data-busy="true"]`);

  // The agenda's Chamar asks too.
  const [extra] = await api.post('/api/appointments', {
    patientId: clinic.patients[2].id,
    doctorId: andre.id,
    procedures: [{ id: clinic.procedures.get('Consulta').id }],
    date: clinic.today,
    startTime: '02:00',
    endTime: '02:15',
  });
  await api.status(extra.id, 'check-in');
  await page.goto(`${server.base}/agenda`);
  await page.click(`${agendaRow(extra.id)} button[data-action="Chamar"]`);
  await page.waitForSelector('[data-testid="busy-dialog"]');
  assert.match(await page.textContent('[data-testid="busy-dialog"]'), /Carla Nunes/);
  await page.click('[data-testid="busy-dialog"] [data-testid="confirm-no"]');
  await page.waitForSelector('[data-testid="busy-dialog"]', { state: 'detached' });
  assert.equal((await api.get(`/api/appointments/${extra.id}`)).status.name, 'Check-in');
  await api.status(extra.id, 'cancelado');

  // "Todos os médicos" shows everyone again. A plain /fila first brings back the doctor kept
  // in this browser: let it, so that it cannot come back after the choice below.
  await page.goto(`${server.base}/fila`);
  await page.waitForURL((url) => url.searchParams.get('medico') === String(andre.id), { timeout: 5000 }).catch(() => {});
  await page.selectOption('[data-testid="doctor-filter"]', '');
  await page.waitForSelector(`[data-testid="queue"] [data-appointment-id="${eva.id}"]`);
  assert.deepEqual(page.errors, []);
});

test('a Faltou patient who arrives is rescheduled to now and goes back to the queue', async () => {
  const gilda = clinic.appointments[4];
  await api.status(gilda.id, 'faltou');
  await page.goto(`${server.base}/agenda`);
  const row = agendaRow(gilda.id);
  await page.waitForSelector(`${row}[data-status="Faltou"] button[data-action="Reagendar"]`);
  await page.click(`${row} button[data-action="Reagendar"]`);
  await page.waitForSelector('[data-testid="reschedule-dialog"]');
  await assertAccessible(page, 'reschedule dialog');
  await page.click('[data-testid="confirm-reschedule"]');
  await page.waitForSelector('[data-testid="confirm-checkin"]');
  await assertAccessible(page, 'check-in dialog');
  await page.click('[data-testid="confirm-checkin"]');
  await page.waitForSelector(`${row}[data-status="Check-in"]`);
  const saved = await api.get(`/api/appointments/${gilda.id}`);
  assert.equal(saved.status.name, 'Check-in');
  assert.equal(saved.date.slice(0, 10), clinic.today);

  await page.goto(`${server.base}/fila`);
  await page.selectOption('[data-testid="doctor-filter"]', '');
  await page.waitForSelector(`[data-testid="queue"] [data-appointment-id="${gilda.id}"]`);

  // Another day: Cancelado → Reagendar to a free slot of tomorrow.
  const fabio = clinic.appointments[3];
  await api.status(fabio.id, 'cancelado');
  await page.goto(`${server.base}/agenda`);
  await page.click(`${agendaRow(fabio.id)} button[data-action="Reagendar"]`);
  await page.check('[data-testid="reschedule-dialog"] input[value="other"]');
  await page.selectOption('[data-testid="reschedule-dialog"] select[name="doctorId"]', String(morning.id));
  await page.fill('[data-testid="reschedule-dialog"] input[name="date"]', tomorrow);
  await page.click('[data-testid="reschedule-dialog"] [data-testid="slots"] button[data-start="11:30"]');
  await page.click('[data-testid="confirm-reschedule"]');
  await page.waitForSelector('[data-testid="reschedule-dialog"]', { state: 'detached' });
  const moved = await api.get(`/api/appointments/${fabio.id}`);
  assert.deepEqual([moved.status.name, moved.date.slice(0, 10), moved.startTime, moved.doctor.id], ['Agendado', tomorrow, '11:30', morning.id]);
  assert.deepEqual(page.errors, []);
});

test('the panel and every time shown follow the clinic’s time zone', async () => {
  const tv = await newPage(browser, { viewport: { width: 1280, height: 720 } });
  const key = await api.post('/api/api-keys', { name: 'TV' });
  await tv.goto(`${server.base}/painel`);
  await tv.evaluate((k) => localStorage.setItem('fila.painel.apiKey', k), key.key);
  await tv.goto(`${server.base}/painel`);
  await tv.waitForSelector('[data-testid="painel-current"][data-loaded="true"]', { state: 'attached' });
  const shown = (await tv.textContent('.painel-time')).trim();
  const expected = [0, -60_000].map((d) => clockIn(new Date(Date.now() + d).toISOString(), ZONE));
  assert.ok(expected.includes(shown), `panel clock ${shown}, expected ${expected.join(' or ')} in ${ZONE}`);
  // The called patient's times are the clinic's clock too.
  const calls = await api.get('/api/appointments/calls?limit=6');
  const history = calls[1];
  if (history) {
    await tv.waitForSelector(`[data-testid="painel-history"] [data-appointment-id="${history.id}"]`);
    assert.equal((await tv.textContent(`[data-testid="painel-history"] [data-appointment-id="${history.id}"] .h-time`)).trim(), clockIn(history.calledAt, ZONE));
  }
  await tv.waitForTimeout(2000); // the new call's highlight fades out first
  await assertAccessible(tv, 'panel');
  await tv.context().close();

  // The master sets the zone on Acesso à API.
  await page.goto(`${server.base}/acesso-api`);
  await page.selectOption('select[name="timeZone"]', 'America/Sao_Paulo');
  await page.click('form:has(select[name="timeZone"]) button[type="submit"]');
  await eventually(async () => (await api.get('/api/account')).timeZone === 'America/Sao_Paulo', { message: 'zone saved' });
  await assertAccessible(page, 'acesso-api');
  await api.patch('/api/account', { timeZone: ZONE });
});

test('patients: search by name, CPF or phone, edit details, see their appointments', async () => {
  await page.goto(`${server.base}/agenda`);
  const carla = clinic.appointments[0];
  await page.click(`${agendaRow(carla.id)} a.patient-link`);
  await page.waitForURL((url) => url.pathname === '/pacientes' && url.searchParams.get('id') === String(carla.patient.id));
  await page.waitForSelector(`[data-testid="patient-appointments"] [data-appointment-id="${carla.id}"]`);
  await assertAccessible(page, 'patient');

  const cpf = clinic.patients[1].cpf;
  for (const [q, name] of [['Dioní', 'Dionísio Farias'], [cpf, 'Dionísio Farias'], ['99999-0000', 'Carla Nunes']]) {
    await page.fill('[data-testid="patient-query"]', q);
    await page.waitForSelector(`[data-testid="patient-results"] button:has-text("${name}")`);
  }
  await page.fill('[data-testid="patient-query"]', 'Carla');
  await page.click('[data-testid="patient-results"] button:has-text("Carla Nunes")');
  await page.waitForSelector('[data-testid="patient-detail"]');
  await page.fill('[data-testid="patient-detail"] input[name="phone"]', '(92) 98123-4567');
  await page.click('[data-testid="save-patient"]');
  await eventually(async () => (await api.get(`/api/patients/${carla.patient.id}`)).phone === '(92) 98123-4567', {
    message: 'phone saved',
  });
  await page.fill('[data-testid="patient-detail"] input[name="cpf"]', '111.111.111-11');
  await page.click('[data-testid="save-patient"]');
  await page.waitForSelector('#patient-cpf-error');
  await assertAccessible(page, 'patient with a CPF error');
  assert.deepEqual(page.errors, []);
});

test('at 390 and 768 px the menu reaches every screen, nothing overflows, and targets are 44 px', async () => {
  const phone = await newPage(browser, { viewport: { width: 390, height: 844 } });
  await loginThroughForm(phone, server.base, A.email, A.password, '/agenda');
  await assertAccessible(phone, 'agenda at 390 px');
  // Each screen, and what shows once it has loaded.
  const screens = [
    ['Agenda', '/agenda', /Agenda/, '[data-testid="agenda"][data-loaded="true"] [data-appointment-id]'],
    ['Fila de espera', '/fila', /Fila/, '[data-testid="queue"][data-loaded="true"]'],
    ['Pacientes', '/pacientes', /Pacientes/, '[data-testid="patient-results"] [data-patient-id]'],
    ['Acesso à API', '/acesso-api', /Acesso à API/, '[data-testid="create-key"]'],
  ];
  for (const width of [390, 768]) {
    await phone.setViewportSize({ width, height: width === 390 ? 844 : 1024 });
    for (const [label, pathname, heading, loaded] of screens) {
      await phone.click('[data-testid="menu-button"]');
      await phone.waitForSelector('[data-testid="nav-menu"]');
      if (width === 390 && label === 'Agenda') {
        await assertAccessible(phone, 'menu open at 390 px');
        await phone.screenshot({ path: shot('celular-menu') });
      }
      await phone.click(`[data-testid="nav-menu"] a:has-text("${label}")`);
      await phone.waitForURL((url) => url.pathname === pathname);
      await phone.waitForSelector('[data-testid="nav-menu"]', { state: 'detached' });
      // The new screen may still be loading its code: give its heading a moment to replace
      // the previous screen's, then check it.
      await phone.waitForFunction((source) => new RegExp(source).test(document.querySelector('main h1')?.textContent ?? ''),
        heading.source, { timeout: 5000 }).catch(() => {});
      assert.match(await phone.textContent('main h1'), heading);
      await phone.waitForSelector(loaded, { state: 'attached', timeout: 10_000 });
      await phone.waitForTimeout(150);
      const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${pathname} at ${width} px overflows by ${overflow} px`);
      const small = await phone.$$eval('header button, header a, main button, main a.btn, main select, main input:not([type="checkbox"]):not([type="radio"])', (els) =>
        els
          .filter((el) => el.offsetParent !== null)
          .map((el) => ({ el: el.outerHTML.slice(0, 80), h: el.getBoundingClientRect().height }))
          .filter((x) => x.h < 43.5),
      );
      assert.deepEqual(small, [], `${pathname} at ${width} px: targets under 44 px`);
      if (width === 390) await assertAccessible(phone, `${pathname} at 390 px`);
    }
    // The panel is in the menu too (it opens in a new tab).
    await phone.click('[data-testid="menu-button"]');
    assert.equal(await phone.getAttribute('[data-testid="nav-menu"] a:has-text("Painel")', 'href'), '/painel');
    await phone.keyboard.press('Escape');
    await phone.waitForSelector('[data-testid="nav-menu"]', { state: 'detached' });
  }
  await phone.setViewportSize({ width: 390, height: 844 });
  await phone.goto(`${server.base}/fila`);
  await phone.selectOption('[data-testid="doctor-filter"]', '');
  await phone.waitForSelector('[data-testid="queue"] [data-appointment-id]');
  await phone.screenshot({ path: shot('celular'), fullPage: true });
  await phone.goto(`${server.base}/agenda`);
  await phone.waitForSelector('[data-testid="agenda"][data-loaded="true"] [data-appointment-id]');
  await assertAccessible(phone, 'agenda rows at 390 px');
  assert.deepEqual(phone.errors, []);
  await phone.context().close();
});

test('login and the panel setup have a main landmark and pass axe', async () => {
  const fresh = await newPage(browser);
  await fresh.goto(`${server.base}/entrar`);
  await fresh.waitForSelector('main [data-testid="login-form"]');
  await assertAccessible(fresh, 'login');
  await fresh.goto(`${server.base}/painel`);
  await fresh.waitForSelector('main [data-testid="painel-setup"]');
  await assertAccessible(fresh, 'panel setup');
  await fresh.context().close();
});
