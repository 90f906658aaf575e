// Builds a small clinic through the REST API: procedures, doctors with rooms, patients of
// several ages (for the priority tiers) and today's appointments (today = the server's day).

const ALL_DAYS = ['Segunda', 'Terca', 'Quarta', 'Quinta', 'Sexta', 'Sabado', 'Domingo'];

/** Birth date giving `years` of age on `today` (YYYY-MM-DD). */
export function bornYearsAgo(today, years) {
  const [y, m, d] = today.split('-').map(Number);
  const month = String(m).padStart(2, '0');
  const day = String(Math.min(d, 28)).padStart(2, '0');
  return `${y - years}-${month}-${day}`;
}

/** Valid CPFs (check digits computed), distinct per `n`. */
export function makeCpf(n) {
  const base = String(100000000 + n * 7919).slice(0, 9).split('').map(Number);
  const digit = (digits) => {
    const sum = digits.reduce((acc, v, i) => acc + v * (digits.length + 1 - i), 0);
    const rest = (sum * 10) % 11;
    return rest === 10 ? 0 : rest;
  };
  const d1 = digit(base);
  const d2 = digit([...base, d1]);
  const s = [...base, d1, d2].join('');
  return `${s.slice(0, 3)}.${s.slice(3, 6)}.${s.slice(6, 9)}-${s.slice(9)}`;
}

let cpfCounter = 1;

/**
 * doctors: [{name, room, procedures: [name...]}]; patients: [{name, age}];
 * appointments: [{patient: index, doctor: index, procedure: name, time: 'HH:mm'}].
 */
export async function seedClinic(api, { doctors, patients, appointments }) {
  const account = await api.get('/api/account');
  const today = account.today;
  const procedures = new Map();
  for (const name of new Set(doctors.flatMap((d) => d.procedures))) {
    const p = await api.post('/api/procedures', { name, price: '120.00' });
    procedures.set(name, p);
  }
  const doctorRows = [];
  for (const d of doctors) {
    doctorRows.push(
      await api.post('/api/doctors', {
        name: d.name,
        room: d.room ?? null,
        procedureIds: d.procedures.map((name) => procedures.get(name).id),
        startTime: '00:00',
        endTime: '23:59',
        intervalMinutes: 15,
        workingDays: ALL_DAYS,
      }),
    );
  }
  const patientRows = [];
  for (const p of patients) {
    patientRows.push(
      await api.post('/api/patients', {
        name: p.name,
        phone: '(81) 99999-0000',
        dateBirth: bornYearsAgo(today, p.age),
        cpf: makeCpf(cpfCounter++ + Math.floor(Math.random() * 100000)),
      }),
    );
  }
  const appointmentRows = [];
  for (const a of appointments) {
    const [h, m] = a.time.split(':').map(Number);
    const end = `${String(h + Math.floor((m + 15) / 60)).padStart(2, '0')}:${String((m + 15) % 60).padStart(2, '0')}`;
    const created = await api.post('/api/appointments', {
      patientId: patientRows[a.patient].id,
      doctorId: doctorRows[a.doctor].id,
      procedures: [{ id: procedures.get(a.procedure).id }],
      date: today,
      startTime: a.time,
      endTime: end,
    });
    appointmentRows.push(created[0]);
  }
  return { today, account, procedures, doctors: doctorRows, patients: patientRows, appointments: appointmentRows };
}
