// Novo agendamento: an existing patient (found by CPF or name) or a new one (CPF checked here
// and against the clinic's records), a doctor, one or more procedures (one appointment each,
// created together by the server) and a time.

import { useEffect, useMemo, useState, type FormEvent } from 'react';
import type { Appointment, Doctor, Patient, Procedure } from '../api/types';
import { describeError } from '../api/errors';
import { cpfDigits, formatCpf, isValidCpf } from '../lib/cpf';
import { addMinutes } from '../lib/format';
import { useStaff } from './StaffContext';
import { Modal } from './Modal';

type PatientMode = 'existing' | 'new';

export function BookingForm({
  doctors,
  today,
  onClose,
  onCreated,
}: {
  doctors: Doctor[];
  today: string;
  onClose: () => void;
  onCreated: (created: Appointment[]) => void;
}) {
  const { api } = useStaff();
  const [mode, setMode] = useState<PatientMode>('existing');
  const [patient, setPatient] = useState<Patient | null>(null);
  const [newPatient, setNewPatient] = useState({ name: '', cpf: '', phone: '', dateBirth: '' });
  const [cpfOwner, setCpfOwner] = useState<Patient | null>(null);
  const [doctorId, setDoctorId] = useState<number | ''>(doctors[0]?.id ?? '');
  const [allProcedures, setAllProcedures] = useState<Procedure[]>([]);
  const [procedureIds, setProcedureIds] = useState<number[]>([]);
  const [date, setDate] = useState(today);
  const [startTime, setStartTime] = useState('');
  const [endTime, setEndTime] = useState('');
  const [notes, setNotes] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const doctor = doctors.find((d) => d.id === doctorId) ?? null;
  const procedures = doctor && doctor.procedures.length > 0 ? doctor.procedures : allProcedures;

  useEffect(() => {
    api
      .get<Procedure[]>('/api/procedures?limit=100')
      .then(({ data }) => setAllProcedures(data))
      .catch(() => setAllProcedures([]));
  }, [api]);

  // A new doctor means a new list of procedures and a new slot length.
  useEffect(() => setProcedureIds([]), [doctorId]);
  useEffect(() => {
    if (startTime) setEndTime(addMinutes(startTime, doctor?.intervalMinutes || 30));
  }, [startTime, doctor]);

  const cpfProblem = useMemo(() => {
    const typed = newPatient.cpf.trim();
    if (!typed) return null;
    if (cpfDigits(typed).length < 11) return null; // still typing
    return isValidCpf(typed) ? null : 'CPF inválido: confira os dígitos.';
  }, [newPatient.cpf]);

  // A valid CPF that is already on file: offer that patient instead of a duplicate.
  useEffect(() => {
    setCpfOwner(null);
    if (mode !== 'new' || !isValidCpf(newPatient.cpf)) return;
    let cancelled = false;
    findByCpf(api, newPatient.cpf).then((found) => !cancelled && setCpfOwner(found));
    return () => {
      cancelled = true;
    };
  }, [api, mode, newPatient.cpf]);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    const problem = validate();
    if (problem) {
      setError(problem);
      return;
    }
    const body: Record<string, unknown> = {
      doctorId,
      procedures: procedureIds.map((id) => ({ id })),
      date,
      startTime,
      endTime,
    };
    if (notes.trim()) body.notes = notes.trim();
    if (mode === 'existing' && patient) body.patientId = patient.id;
    else
      body.patient = {
        name: newPatient.name.trim(),
        cpf: formatCpf(newPatient.cpf),
        phone: newPatient.phone.trim() || null,
        dateBirth: newPatient.dateBirth || null,
      };
    setBusy(true);
    try {
      const { data } = await api.post<Appointment[]>('/api/appointments', body);
      onCreated(Array.isArray(data) ? data : [data]);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  const validate = (): string | null => {
    if (mode === 'existing' && !patient) return 'Escolha o paciente (ou cadastre um novo).';
    if (mode === 'new') {
      if (!newPatient.name.trim()) return 'Informe o nome do paciente.';
      if (!isValidCpf(newPatient.cpf)) return 'CPF inválido: use 123.456.789-09 ou 11 dígitos.';
      if (cpfOwner) return `Já existe um paciente com esse CPF (${cpfOwner.name}).`;
    }
    if (!doctorId) return 'Escolha o médico.';
    if (procedureIds.length === 0) return 'Escolha ao menos um procedimento.';
    if (!date) return 'Informe a data.';
    if (!startTime || !endTime) return 'Informe o horário.';
    if (endTime <= startTime) return 'O horário de término deve ser depois do início.';
    return null;
  };

  return (
    <Modal title="Novo agendamento" onClose={onClose} wide>
      <form className="booking" onSubmit={submit} data-testid="booking-form">
        <fieldset>
          <legend>Paciente</legend>
          <div className="segmented">
            <button type="button" className={mode === 'existing' ? 'on' : ''} onClick={() => setMode('existing')}>
              Já cadastrado
            </button>
            <button type="button" className={mode === 'new' ? 'on' : ''} onClick={() => setMode('new')}>
              Novo paciente
            </button>
          </div>
          {mode === 'existing' ? (
            <PatientSearch selected={patient} onSelect={setPatient} />
          ) : (
            <div className="grid-2">
              <label className="field span-2">
                <span>Nome completo</span>
                <input
                  name="name"
                  value={newPatient.name}
                  onChange={(e) => setNewPatient({ ...newPatient, name: e.target.value })}
                />
              </label>
              <label className="field">
                <span>CPF</span>
                <input
                  name="cpf"
                  inputMode="numeric"
                  placeholder="000.000.000-00"
                  value={newPatient.cpf}
                  aria-invalid={!!cpfProblem}
                  onChange={(e) => setNewPatient({ ...newPatient, cpf: formatCpf(e.target.value) })}
                />
                {cpfProblem && <small className="field-error">{cpfProblem}</small>}
                {cpfOwner && (
                  <small className="field-warn">
                    Já cadastrado: {cpfOwner.name}.{' '}
                    <button
                      type="button"
                      className="link"
                      onClick={() => {
                        setPatient(cpfOwner);
                        setMode('existing');
                      }}
                    >
                      Usar este paciente
                    </button>
                  </small>
                )}
              </label>
              <label className="field">
                <span>Data de nascimento</span>
                <input
                  type="date"
                  name="dateBirth"
                  value={newPatient.dateBirth}
                  onChange={(e) => setNewPatient({ ...newPatient, dateBirth: e.target.value })}
                />
              </label>
              <label className="field">
                <span>Telefone</span>
                <input
                  name="phone"
                  inputMode="tel"
                  placeholder="(81) 99999-9999"
                  value={newPatient.phone}
                  onChange={(e) => setNewPatient({ ...newPatient, phone: e.target.value })}
                />
              </label>
            </div>
          )}
        </fieldset>

        <fieldset>
          <legend>Atendimento</legend>
          <div className="grid-2">
            <label className="field span-2">
              <span>Médico</span>
              <select
                className="select"
                name="doctorId"
                value={doctorId}
                onChange={(e) => setDoctorId(e.target.value ? Number(e.target.value) : '')}
              >
                <option value="">Escolha…</option>
                {doctors.map((d) => (
                  <option key={d.id} value={d.id}>
                    {d.name}
                    {d.room ? ` — ${d.room}` : ''}
                  </option>
                ))}
              </select>
            </label>
            <div className="field span-2">
              <span>Procedimentos</span>
              <div className="proc-list" data-testid="procedures">
                {procedures.length === 0 && <span className="muted small">Nenhum procedimento cadastrado.</span>}
                {procedures.map((p) => (
                  <label key={p.id} className="check">
                    <input
                      type="checkbox"
                      value={p.id}
                      checked={procedureIds.includes(p.id)}
                      onChange={() =>
                        setProcedureIds((ids) => (ids.includes(p.id) ? ids.filter((i) => i !== p.id) : [...ids, p.id]))
                      }
                    />
                    {p.name}
                  </label>
                ))}
              </div>
            </div>
            <label className="field">
              <span>Data</span>
              <input type="date" name="date" value={date} onChange={(e) => setDate(e.target.value)} />
            </label>
            <div className="field">
              <span>Horário</span>
              <div className="time-range">
                <input type="time" name="startTime" value={startTime} onChange={(e) => setStartTime(e.target.value)} aria-label="Início" />
                <span className="muted">até</span>
                <input type="time" name="endTime" value={endTime} onChange={(e) => setEndTime(e.target.value)} aria-label="Término" />
              </div>
            </div>
            <label className="field span-2">
              <span>Observações</span>
              <input name="notes" value={notes} onChange={(e) => setNotes(e.target.value)} />
            </label>
          </div>
        </fieldset>

        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        <div className="modal-actions">
          <button type="button" className="btn btn-ghost" onClick={onClose}>
            Cancelar
          </button>
          <button type="submit" className="btn btn-primary" disabled={busy} data-testid="save-appointment">
            {busy ? 'Salvando…' : procedureIds.length > 1 ? `Agendar ${procedureIds.length} procedimentos` : 'Agendar'}
          </button>
        </div>
      </form>
    </Modal>
  );
}

function PatientSearch({ selected, onSelect }: { selected: Patient | null; onSelect: (p: Patient | null) => void }) {
  const { api } = useStaff();
  const [query, setQuery] = useState('');
  const [results, setResults] = useState<Patient[]>([]);
  const [searching, setSearching] = useState(false);

  useEffect(() => {
    const q = query.trim();
    if (q.length < 2) {
      setResults([]);
      return;
    }
    let cancelled = false;
    const timer = setTimeout(async () => {
      setSearching(true);
      try {
        const byCpf = /^[\d.\-\s]+$/.test(q);
        const found = byCpf
          ? await findAllByCpf(api, q)
          : (await api.get<Patient[]>(`/api/patients?name=${encodeURIComponent(q)}&limit=10`)).data;
        if (!cancelled) setResults(found);
      } catch {
        if (!cancelled) setResults([]);
      } finally {
        if (!cancelled) setSearching(false);
      }
    }, 250);
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [api, query]);

  if (selected) {
    return (
      <div className="picked" data-testid="picked-patient">
        <div>
          <strong>{selected.name}</strong>
          <span className="muted small">
            {[selected.cpf, selected.dateBirth?.split('-').reverse().join('/'), selected.phone].filter(Boolean).join(' · ')}
          </span>
        </div>
        <button type="button" className="btn btn-ghost btn-small" onClick={() => onSelect(null)}>
          Trocar
        </button>
      </div>
    );
  }
  return (
    <div className="search">
      <input
        name="patientSearch"
        placeholder="Buscar por nome ou CPF"
        value={query}
        onChange={(e) => setQuery(e.target.value)}
        autoFocus
      />
      {searching && <span className="muted small">Buscando…</span>}
      {results.length > 0 && (
        <ul className="search-results">
          {results.map((p) => (
            <li key={p.id}>
              <button type="button" onClick={() => onSelect(p)}>
                <strong>{p.name}</strong>
                <span className="muted small">{[p.cpf, p.phone].filter(Boolean).join(' · ')}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
      {!searching && query.trim().length >= 2 && results.length === 0 && (
        <span className="muted small">Nenhum paciente encontrado. Use “Novo paciente”.</span>
      )}
    </div>
  );
}

async function findAllByCpf(api: ReturnType<typeof useStaff>['api'], typed: string): Promise<Patient[]> {
  // The CPF may be stored formatted or as bare digits: ask both ways.
  const variants = [...new Set([formatCpf(typed), cpfDigits(typed)])];
  for (const cpf of variants) {
    const { data } = await api.get<Patient[]>(`/api/patients?cpf=${encodeURIComponent(cpf)}&limit=10`);
    if (data.length > 0) return data;
  }
  return [];
}

async function findByCpf(api: ReturnType<typeof useStaff>['api'], typed: string): Promise<Patient | null> {
  try {
    const found = await findAllByCpf(api, typed);
    return found.find((p) => cpfDigits(p.cpf ?? '') === cpfDigits(typed)) ?? null;
  } catch {
    return null;
  }
}
