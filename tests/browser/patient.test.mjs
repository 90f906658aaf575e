// The patient in the loop, in headless Chromium against a real server: self check-in at the
// totem shows at once in the reception's queue; the patient's status page moves from
// "Aguardando" with 2 ahead to "Chamado" live when staff call; the panel speaks the call
// ("José O., Sala 2", observed by wrapping speechSynthesis.speak in the page) and
// "Rechamar" on the queue calls again on the panel. Screenshots go to screenshots/.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Api, createAccount, freshDatabase, startServer } from './helpers/fila.mjs';
import { seedClinic } from './helpers/seed.mjs';
import { eventually, launch, loginThroughForm, newPage, queueRow, waitLive } from './helpers/browser.mjs';

const A = { name: 'Clínica Alfa', email: 'recepcao@alfa.test', password: 'senha-alfa-123' };
const SHOTS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'screenshots');

let db, server, browser, api, clinic, reception, painel;

before(async () => {
  db = freshDatabase();
  await createAccount(db.url, A);
  server = await startServer({ databaseUrl: db.url });
  api = await Api.login(server.base, A.email, A.password);
  clinic = await seedClinic(api, {
    doctors: [
      { name: 'Dra. Helena Costa', room: 'Sala 1', procedures: ['Consulta clínica'] },
      { name: 'Dr. Victor Almeida', room: 'Sala 2', procedures: ['Ultrassom'] },
    ],
    patients: [
      { name: 'Ana Souza', age: 34 },
      { name: 'Bruno Lima', age: 41 },
      { name: 'Valentina Alves', age: 29 },
      { name: 'José Carlos de Oliveira Filho', age: 50 },
      { name: 'Marina Teixeira Rocha', age: 38 },
      { name: 'Carla Nunes', age: 27 },
      { name: 'Rafael Souza', age: 45 },
    ],
    appointments: [
      { patient: 0, doctor: 0, procedure: 'Consulta clínica', time: '08:00' },
      { patient: 1, doctor: 0, procedure: 'Consulta clínica', time: '08:20' },
      { patient: 2, doctor: 0, procedure: 'Consulta clínica', time: '08:40' },
      { patient: 3, doctor: 1, procedure: 'Ultrassom', time: '09:00' },
      { patient: 4, doctor: 1, procedure: 'Ultrassom', time: '09:20' },
      { patient: 5, doctor: 1, procedure: 'Ultrassom', time: '09:40' },
      { patient: 6, doctor: 1, procedure: 'Ultrassom', time: '10:00' },
    ],
  });
  browser = await launch();
  reception = await newPage(browser);
  await loginThroughForm(reception, server.base, A.email, A.password, '/fila');
  await waitLive(reception);
  await reception.waitForSelector('[data-testid="queue"][data-loaded="true"]', { state: 'attached' });

  // The TV, with speechSynthesis.speak observed.
  painel = await newPage(browser, { viewport: { width: 1600, height: 900 } });
  await painel.addInitScript(() => {
    window.__spoken = [];
    const synth = window.speechSynthesis;
    if (!synth) return;
    const original = synth.speak.bind(synth);
    synth.speak = (utterance) => {
      window.__spoken.push({ text: utterance.text, lang: utterance.lang, volume: utterance.volume });
      try { original(utterance); } catch { /* no audio device in CI */ }
    };
  });
  const key = await api.post('/api/api-keys', { name: 'Painel' });
  await painel.goto(`${server.base}/painel`);
  await painel.fill('input[name="apiKey"]', key.key);
  await painel.click('button[type="submit"]');
  await waitLive(painel);
  await painel.waitForSelector('[data-testid="painel-current"][data-loaded="true"]', { state: 'attached' });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  db?.cleanup();
});

const id = (i) => clinic.appointments[i].id;

test('a patient checks in at the totem and the reception queue shows them at once', async () => {
  const totem = await newPage(browser, { viewport: { width: 1024, height: 1280 } });
  const key = await api.post('/api/api-keys', { name: 'Totem' });
  await totem.goto(`${server.base}/totem`);
  await totem.fill('input[name="apiKey"]', key.key);
  await totem.click('button[type="submit"]');
  await totem.waitForSelector('[data-testid="totem"][data-step="cpf"]');

  const patient = clinic.patients[4]; // Marina, with Dr. Victor
  for (const digit of patient.cpf.replace(/\D/g, '')) await totem.click(`[data-key="${digit}"]`);
  await totem.click('[data-testid="totem-next"]');
  const [y, m, d] = patient.dateBirth.split('-');
  for (const digit of `${d}${m}${y}`) await totem.click(`[data-key="${digit}"]`);
  await totem.click('[data-testid="totem-next"]');
  await totem.waitForSelector('[data-testid="totem"][data-step="confirm"]');
  assert.match(await totem.textContent('.totem-confirm'), /Olá, Marina!/);
  assert.match(await totem.textContent('.totem-list'), /09:20 · Dr\. Victor Almeida · Sala 2/);
  assert.ok(!(await totem.textContent('.totem-confirm')).includes('Teixeira'), 'only the first name');
  await totem.check('input[name="gestante"]');
  await totem.click('[data-testid="totem-confirm"]');

  const ticket = await totem.waitForSelector('[data-testid="totem-ticket"]');
  const started = Date.now();
  await reception.waitForSelector(queueRow(id(4)), { timeout: 1000 });
  assert.ok(Date.now() - started < 1000);
  assert.equal(await ticket.getAttribute('data-position'), '1');
  await totem.waitForSelector('[data-testid="totem-qr"]');
  // Reception sees the priority as the patient's declaration.
  await reception.waitForSelector(`${queueRow(id(4))} [data-testid="declared-by-patient"]`);

  // Wrong data: one neutral message, and back to the start.
  await totem.click('.totem-done .tbtn-primary');
  for (const digit of '11144477735') await totem.click(`[data-key="${digit}"]`);
  await totem.click('[data-testid="totem-next"]');
  for (const digit of '01011990') await totem.click(`[data-key="${digit}"]`);
  await totem.click('[data-testid="totem-next"]');
  await totem.waitForSelector('[data-testid="totem-error"]');
  assert.match(await totem.textContent('[data-testid="totem-error"]'), /Não encontramos agendamento/);
  assert.deepEqual(totem.errors, []);
  await totem.context().close();
});

test('the status page moves from "Aguardando" with 2 ahead to "Chamado" live when staff call', async () => {
  for (const i of [0, 1, 2]) await api.status(id(i), 'check-in');
  const link = await api.post(`/api/appointments/${id(2)}/status-link`);
  const phone = await newPage(browser, { viewport: { width: 390, height: 844 } });
  await phone.goto(link.url.replace(/^https?:\/\/[^/]+/, server.base));
  const card = '[data-testid="patient-status"]';
  await phone.waitForSelector(`${card}[data-status="CHECKIN"][data-ahead="2"]`);
  assert.equal(await phone.textContent('[data-testid="patient-headline"]'), 'Aguardando');
  assert.match(await phone.textContent(card), /Olá, Valentina/);
  await phone.waitForSelector('.patient-live.on');
  assert.equal(await phone.textContent('[data-testid="patient-estimate"]'), '—', 'no history yet: no guess');

  await api.status(id(0), 'em atendimento');
  await phone.waitForSelector(`${card}[data-ahead="1"]`, { timeout: 2000 });
  await api.status(id(0), 'finalizado');
  await api.status(id(1), 'em atendimento');
  await phone.waitForSelector(`${card}[data-ahead="0"]`, { timeout: 2000 });
  await api.status(id(1), 'finalizado');
  await api.status(id(2), 'em atendimento');
  await phone.waitForSelector(`${card}[data-status="EM_ATENDIMENTO"]`, { timeout: 2000 });
  assert.equal(await phone.textContent('[data-testid="patient-headline"]'), 'Chamado — dirija-se à Sala 1');
  assert.ok(!(await phone.textContent('body')).match(/Ana|Bruno|Souza|Lima|Alves/), 'no one else, no surname');
  assert.deepEqual(phone.errors, []);
  await phone.context().close();
});

test('the panel speaks the call after the chime and "Rechamar" calls again on it', async () => {
  for (const i of [3, 5, 6]) await api.status(id(i), 'check-in');
  // The queue's next patients, first names and initials only.
  await eventually(async () => (await painel.textContent('[data-testid="painel-next"]')).includes('José O.'), { message: 'José in Próximos' });
  await api.status(id(3), 'em atendimento');
  await painel.waitForSelector(`[data-testid="painel-current"][data-appointment-id="${id(3)}"]`, { timeout: 2000 });
  assert.match(await painel.textContent('.painel-name'), /^José O\.$/);
  const spoken = () => painel.evaluate(() => window.__spoken.map((u) => u.text));
  await eventually(async () => (await spoken()).includes('José O., Sala 2'), { timeout: 4000, message: 'the spoken call' });
  const first = await painel.evaluate(() => window.__spoken.at(-1));
  assert.equal(first.lang, 'pt-BR');
  const count = (await spoken()).filter((t) => t === 'José O., Sala 2').length;
  assert.equal(count, 1);

  const serving = `[data-testid="serving"] [data-appointment-id="${id(3)}"]`;
  await reception.waitForSelector(serving);
  await reception.click(`${serving} [data-action="Rechamar"]`);
  await eventually(async () => (await spoken()).filter((t) => t === 'José O., Sala 2').length === 2, { timeout: 4000, message: 'the call again' });
  const next = await painel.textContent('[data-testid="painel-next"]');
  assert.ok(!next.includes('José'), 'a called patient leaves Próximos');
  assert.ok(!next.includes('Teixeira') && !next.includes('Nunes'), `initials only: ${next}`);
  await painel.screenshot({ path: path.join(SHOTS, 'painel-proximos.png') });
  assert.deepEqual(painel.errors, []);
});

test('with the demo clinic history the totem and the status page show a wait range', async () => {
  const demoDb = freshDatabase();
  const demo = await startServer({ databaseUrl: demoDb.url, extraArgs: ['--demo'] });
  try {
    const staff = await Api.login(demo.base, 'demo@fila.local', 'demo1234');
    const { today } = await staff.get('/api/account');
    const day = await staff.get(`/api/appointments?date=${today}&limit=100`);
    const booked = day.find((a) => a.status.name === 'Agendado' || a.status.name === 'Confirmado');
    assert.ok(booked, 'the demo has someone still to arrive');
    const [patient] = await staff.get(`/api/patients?name=${encodeURIComponent(booked.patient.name)}`);
    const key = await staff.post('/api/api-keys', { name: 'Totem' });

    const totem = await newPage(browser, { viewport: { width: 1024, height: 1280 } });
    await totem.goto(`${demo.base}/totem`);
    await totem.fill('input[name="apiKey"]', key.key);
    await totem.click('button[type="submit"]');
    await totem.waitForSelector('[data-testid="totem"][data-step="cpf"]');
    await totem.keyboard.type(patient.cpf.replace(/\D/g, ''));
    await totem.keyboard.press('Enter');
    const [y, m, d] = patient.dateBirth.split('-');
    await totem.keyboard.type(`${d}${m}${y}`);
    await totem.keyboard.press('Enter');
    await totem.click('[data-testid="totem-confirm"]');
    await totem.waitForSelector('[data-testid="totem-qr"]');
    assert.match(await totem.textContent('[data-testid="totem-ticket"]'), /Espera estimada: \d+(–\d+)? min/);
    await totem.screenshot({ path: path.join(SHOTS, 'totem.png') });

    // The last patient waiting, on their phone.
    const queue = await staff.get(`/api/appointments/queue?date=${today}`);
    const last = queue.filter((a) => a.status.name === 'Check-in').at(-1);
    const link = await staff.post(`/api/appointments/${last.id}/status-link`);
    const phone = await newPage(browser, { viewport: { width: 390, height: 844 } });
    await phone.goto(`${demo.base}/p/${link.token}`);
    await phone.waitForSelector('[data-testid="patient-status"][data-status="CHECKIN"]');
    await phone.waitForSelector('.patient-live.on');
    assert.match(await phone.textContent('[data-testid="patient-estimate"]'), /^\d+(–\d+)? min$/);
    await phone.screenshot({ path: path.join(SHOTS, 'status-celular.png') });
    assert.deepEqual([...totem.errors, ...phone.errors], []);
    await totem.context().close();
    await phone.context().close();
  } finally {
    await demo.stop();
    demoDb.cleanup();
  }
});
