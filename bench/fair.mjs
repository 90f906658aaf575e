// No clinic can slow another: clinic B's check-ins and their socket deliveries while clinic A
// runs year-long reports, and while the public status endpoint is flooded. Seeds the demo
// clinic (A) with DAYS of history at PER_DAY appointments a weekday (`fila demo
// seed-history`), starts `fila serve` on it, makes clinic B with one socket, and moves B's
// appointments between AGENDADO and CHECKIN every 100 ms (one PATCH at a time), timing the
// PATCH and the delivery of its event to B's socket (from the PATCH sent to the event
// received). Three phases of SECONDS each: B alone; REPORTS concurrent loops of A asking
// `GET /api/reports/waits` for 366 days; FLOOD concurrent loops of unauthenticated
// `GET /api/public/status/{token}` on a link of A. Prints p50/p99/max per phase and what the
// load got (200s, 503s, 429s). Uses the protocol suite's helpers and socket.io-client
// (npm --prefix tests/protocol ci):
//   FILA_BIN=target/release/fila DAYS=365 PER_DAY=300 node bench/fair.mjs
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, sleep } from '../tests/protocol/helpers.mjs';

const FILA_BIN = process.env.FILA_BIN ?? 'target/release/fila';
const DAYS = Number(process.env.DAYS ?? 365);
const PER_DAY = Number(process.env.PER_DAY ?? 300);
const SECONDS = Number(process.env.SECONDS ?? 12);
const REPORTS = Number(process.env.REPORTS ?? 20);
const FLOOD = Number(process.env.FLOOD ?? 16);

const dir = mkdtempSync(path.join(tmpdir(), 'fila-fair-'));
const databaseUrl = `sqlite://${path.join(dir, 'fila.db')}?mode=rwc`;
const seeded = execFileSync(FILA_BIN, ['demo', 'seed-history', '--days', String(DAYS), '--per-day', String(PER_DAY), '--database-url', databaseUrl]).toString().trim();
console.log(`seeded: ${seeded}`);
const server = await startServer({ databaseUrl, extraArgs: ['--web-dir', path.join(dir, 'none')] });

const ok = async (method, urlPath, body, token, expected = [200, 201]) => {
  const res = await server.api(method, urlPath, body, token);
  if (!expected.includes(res.status)) throw new Error(`${method} ${urlPath} → ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
};

// Clinic A: the demo clinic with its year; one appointment of today with a status link.
const tokenA = await server.login('demo@fila.local', 'demo1234');
const { today } = await ok('GET', '/api/account', undefined, tokenA);
const linkOf = async (token) => {
  const [doctor] = await ok('GET', '/api/doctors', undefined, token);
  const procedure = doctor.procedures?.[0] ?? (await ok('GET', '/api/procedures', undefined, token))[0];
  const patient = await ok('POST', '/api/patients', { name: 'Paciente Público', phone: '(81) 90000-0000', dateBirth: '1990-01-02', cpf: '111.444.777-35' }, token);
  const [appointment] = await ok('POST', '/api/appointments', {
    patientId: patient.id, procedures: [{ id: procedure.id }], doctorId: doctor.id, date: today, startTime: '23:00', endTime: '23:15',
  }, token);
  return (await ok('POST', `/api/appointments/${appointment.id}/status-link`, undefined, token)).token;
};
const statusToken = await linkOf(tokenA);

// Clinic B: a doctor, a patient, four appointments of today, one socket.
const b = await server.createAccount({ name: 'Clínica Beta', email: 'recepcao@beta.example.com', password: 'senha-beta-123' });
const tokenB = await server.login(b.email, b.password);
const procedure = await ok('POST', '/api/procedures', { name: 'Consulta', price: 100 }, tokenB);
const doctor = await ok('POST', '/api/doctors', {
  name: 'Dra. Beta', procedureIds: [procedure.id], startTime: '00:00', endTime: '23:45', intervalMinutes: 15,
  workingDays: ['Segunda, Terca, Quarta, Quinta, Sexta, Sabado, Domingo'],
}, tokenB);
const patient = await ok('POST', '/api/patients', { name: 'João Beta', phone: '(81) 99999-9999', dateBirth: '1980-05-17', cpf: '529.982.247-25' }, tokenB);
const appointments = [];
for (const start of ['20:00', '20:15', '20:30', '20:45']) {
  const end = `${start.slice(0, 3)}${String(Number(start.slice(3)) + 15).padStart(2, '0')}`.replace(':60', ':59');
  const [a] = await ok('POST', '/api/appointments', {
    patientId: patient.id, procedures: [{ id: procedure.id }], doctorId: doctor.id, date: today, startTime: start, endTime: end,
  }, tokenB);
  appointments.push({ id: a.id, checkedIn: false });
}
const socket = await server.connect(tokenB);
const waiting = new Map(); // appointment id → resolve(receivedAt)
socket.onAny((event, payload) => {
  const id = payload?.data?.id ?? payload?.id;
  const resolve = waiting.get(id);
  if (event.startsWith('appointments.') && resolve) {
    waiting.delete(id);
    resolve(performance.now());
  }
});

const percentile = (xs, p) => {
  const sorted = [...xs].sort((x, y) => x - y);
  return sorted.length ? sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] : NaN;
};
const summary = (xs) => `p50 ${percentile(xs, 0.5).toFixed(1)} ms, p99 ${percentile(xs, 0.99).toFixed(1)} ms, max ${Math.max(...xs).toFixed(1)} ms (n=${xs.length})`;

/** Clinic B's PATCHes for `seconds`: one every 100 ms (or as soon as the last is delivered). */
async function clinicB(seconds) {
  const patches = [];
  const deliveries = [];
  const end = performance.now() + seconds * 1000;
  let n = 0;
  while (performance.now() < end) {
    const tick = performance.now();
    const a = appointments[n++ % appointments.length];
    const delivered = new Promise((resolve) => waiting.set(a.id, resolve));
    const action = a.checkedIn ? 'agendado' : 'check-in';
    const res = await server.api('PATCH', `/api/appointments/${a.id}/status`, { action }, tokenB);
    patches.push(performance.now() - tick);
    if (res.status !== 200) throw new Error(`PATCH → ${res.status} ${JSON.stringify(res.body)}`);
    a.checkedIn = !a.checkedIn;
    const at = await Promise.race([delivered, sleep(10_000).then(() => NaN)]);
    deliveries.push(at - tick);
    await sleep(Math.max(0, 100 - (performance.now() - tick)));
  }
  return { patches, deliveries };
}

/** `loops` concurrent loops of `request` until `stop` is set; answers the status counts and times. */
function load(loops, request) {
  const counts = {};
  const times = [];
  let stop = false;
  const running = Array.from({ length: loops }, async () => {
    while (!stop) {
      const t = performance.now();
      const status = await request().catch(() => 'error');
      times.push(performance.now() - t);
      counts[status] = (counts[status] ?? 0) + 1;
    }
  });
  return { counts, times, async stop() { stop = true; await Promise.all(running); } };
}

const from = new Date(Date.parse(`${today}T00:00:00Z`) - 366 * 86_400_000).toISOString().slice(0, 10);
const to = new Date(Date.parse(`${today}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
const report = () => fetch(`${server.base}/api/reports/waits?from=${from}&to=${to}`, { headers: { authorization: `Bearer ${tokenA}` } })
  .then(async (r) => { await r.arrayBuffer(); return r.status; });
const publicStatus = () => fetch(`${server.base}/api/public/status/${statusToken}`).then(async (r) => { await r.arrayBuffer(); return r.status; });

const single = performance.now();
console.log(`one 366-day waits report alone: ${await report()} in ${(performance.now() - single).toFixed(0)} ms`);
const singlePublic = [];
for (let i = 0; i < 5; i++) {
  const t = performance.now();
  await publicStatus();
  singlePublic.push(performance.now() - t);
}
console.log(`public status alone (5 reads, first one reads the history): ${singlePublic.map((t) => t.toFixed(1)).join(', ')} ms`);
await sleep(7000); // the link's limit refills before the flood phase

for (const [name, loops, request] of [['B alone', 0, null], [`${REPORTS} reports of A`, REPORTS, report], [`${FLOOD} public status readers`, FLOOD, publicStatus]]) {
  const background = loops ? load(loops, request) : null;
  const { patches, deliveries } = await clinicB(SECONDS);
  if (background) await background.stop();
  console.log(`\n${name}, ${SECONDS} s:`);
  console.log(`  B PATCH:    ${summary(patches)}`);
  console.log(`  B delivery: ${summary(deliveries)}`);
  if (background) console.log(`  load: ${JSON.stringify(background.counts)}; ${summary(background.times)}`);
}

socket.close();
await server.stop();
rmSync(dir, { recursive: true, force: true });
