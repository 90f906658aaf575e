// Agenda do dia at the reception: only the allowed status moves, booking with a CPF check
// (new patient, several procedures), check-in with priority flags, and live updates between
// two reception desks.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Api, createAccount, freshDatabase, startServer } from './helpers/fila.mjs';
import { bornYearsAgo, makeCpf, seedClinic } from './helpers/seed.mjs';
import { eventually, launch, loginThroughForm, newPage, waitLive } from './helpers/browser.mjs';

const A = { name: 'Clínica Delta', email: 'recepcao@delta.test', password: 'senha-delta-123' };

let db, server, browser, api, clinic, desk1, desk2;

const row = (id) => `[data-testid="agenda"] [data-appointment-id="${id}"]`;
const buttonsOf = (page, id) =>
  page.$$eval(`${row(id)} .actions button[data-action]`, (buttons) => buttons.map((b) => b.textContent.trim()));
const statusOf = (page, id) => page.getAttribute(row(id), 'data-status');

before(async () => {
  db = freshDatabase();
  await createAccount(db.url, A);
  server = await startServer({ databaseUrl: db.url });
  api = await Api.login(server.base, A.email, A.password);
  clinic = await seedClinic(api, {
    doctors: [{ name: 'Dra. Sofia Andrade', room: 'Sala 2', procedures: ['Consulta', 'Eletrocardiograma'] }],
    patients: [{ name: 'Renata Gomes', age: 31 }, { name: 'Otávio Prado', age: 47 }],
    appointments: [
      { patient: 0, doctor: 0, procedure: 'Consulta', time: '09:00' },
      { patient: 1, doctor: 0, procedure: 'Consulta', time: '09:30' },
    ],
  });
  browser = await launch();
  [desk1, desk2] = await Promise.all([newPage(browser), newPage(browser)]);
  await Promise.all([
    loginThroughForm(desk1, server.base, A.email, A.password, '/agenda'),
    loginThroughForm(desk2, server.base, A.email, A.password, '/agenda'),
  ]);
  for (const page of [desk1, desk2]) {
    await waitLive(page);
    await page.waitForSelector(row(clinic.appointments[0].id));
  }
});

after(async () => {
  await browser?.close();
  await server?.stop();
  db?.cleanup();
});

test('a row offers only the moves its status allows, and a move shows on the other desk', async () => {
  const id = clinic.appointments[1].id;
  assert.deepEqual(await buttonsOf(desk1, id), ['Confirmar', 'Check-in', 'Faltou', 'Cancelar']);
  await desk1.click(`${row(id)} button[data-action="Confirmar"]`);
  await eventually(async () => (await statusOf(desk2, id)) === 'Confirmado', { timeout: 1000, message: 'Confirmado on desk 2' });
  assert.deepEqual(await buttonsOf(desk2, id), ['Check-in', 'Desfazer', 'Faltou', 'Cancelar']);

  // Cancelar asks first; "Não" leaves the appointment alone.
  await desk2.click(`${row(id)} button[data-action="Cancelar"]`);
  await desk2.click(`${row(id)} .ask button:has-text("Não")`);
  assert.equal(await statusOf(desk2, id), 'Confirmado');

  // Desfazer asks too, and says what it costs.
  await desk2.click(`${row(id)} button[data-action="Desfazer"]`);
  assert.match(await desk2.textContent(`${row(id)} .ask`), /perde o lugar na fila/);
  await desk2.click(`${row(id)} .ask button:has-text("Sim")`);
  await eventually(async () => (await statusOf(desk1, id)) === 'Agendado', { timeout: 1000, message: 'back to Agendado' });
});

test('check-in from the agenda sends the priority flags ticked by the receptionist', async () => {
  const id = clinic.appointments[0].id;
  await desk1.click(`${row(id)} button[data-action="Check-in"]`);
  await desk1.check('[data-testid="priority-flags"] input[value="gestante"]');
  await desk1.click('[data-testid="confirm-checkin"]');
  await eventually(async () => (await statusOf(desk2, id)) === 'Check-in', { timeout: 1000, message: 'Check-in on desk 2' });
  assert.match(await desk2.textContent(row(id)), /Prioridade/);
  assert.deepEqual(await buttonsOf(desk1, id), ['Chamar', 'Desfazer', 'Cancelar']);
  const saved = await api.get(`/api/appointments/${id}`);
  assert.equal(saved.priority.tier, 2);
  assert.ok(saved.priority.reasons.includes('gestante'), JSON.stringify(saved.priority));
});

test('booking a new patient checks the CPF and creates one appointment per procedure', async () => {
  const before = new Set((await api.get(`/api/appointments?date=${clinic.today}&limit=100`)).map((a) => a.id));
  await desk1.click('[data-testid="new-appointment"]');
  await desk1.click('.segmented button:has-text("Novo paciente")');
  await desk1.fill('input[name="name"]', 'Tereza Cristina Almeida');
  await desk1.fill('input[name="cpf"]', '123.456.789-00'); // wrong check digits
  await desk1.waitForSelector('.field-error:has-text("CPF inválido")');
  // The CPF of a patient already on file is pointed out instead of making a duplicate.
  const existing = await api.post('/api/patients', { name: 'Já Cadastrada', phone: null, dateBirth: null, cpf: makeCpf(424242) });
  await desk1.fill('input[name="cpf"]', existing.cpf);
  await desk1.waitForSelector('.field-warn:has-text("Já cadastrado")');

  const cpf = makeCpf(777001);
  await desk1.fill('input[name="cpf"]', cpf.replace(/\D/g, '')); // 11 bare digits are accepted
  await desk1.fill('input[name="dateBirth"]', bornYearsAgo(clinic.today, 70));
  await desk1.fill('input[name="phone"]', '(81) 98888-7777');
  await desk1.selectOption('select[name="doctorId"]', String(clinic.doctors[0].id));
  for (const p of clinic.doctors[0].procedures) await desk1.check(`[data-testid="procedures"] input[value="${p.id}"]`);
  await desk1.fill('input[name="startTime"]', '15:00');
  await desk1.click('[data-testid="save-appointment"]');
  await desk1.waitForSelector('[data-testid="booking-form"]', { state: 'detached', timeout: 5000 });

  const created = (await api.get(`/api/appointments?date=${clinic.today}&limit=100`)).filter((a) => !before.has(a.id));
  assert.equal(created.length, 2, 'one appointment per procedure');
  for (const a of created) {
    assert.equal(a.patient.name, 'Tereza Cristina Almeida');
    assert.equal(a.startTime, '15:00');
    // Both desks show the new rows; the second one only through the socket.
    for (const page of [desk1, desk2]) await page.waitForSelector(row(a.id), { timeout: 1000 });
  }
  assert.deepEqual(desk1.errors, []);
  assert.deepEqual(desk2.errors, []);
});
