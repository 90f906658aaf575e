// Novo agendamento: an existing patient (found by name, CPF or phone) or a new one (CPF checked
// here and against the clinic's records), a doctor, one or more procedures (one appointment
// each, created together by the server) and a time — offered from the doctor's free slots of
// that day. A taken slot, a time outside the doctor's hours or a day they do not work is still
// possible (an "encaixe"), after a confirmation. The form asks before throwing away what was
// typed (a stray click on the backdrop, Escape, Cancelar); an error goes away as soon as its
// field changes.

import { useCallback, useEffect, useMemo, useState, type FormEvent } from 'react';
import type { Appointment, Doctor, Patient, Procedure, Slot } from '../api/types';
import { describeError } from '../api/errors';
import { formatCpf, isValidCpf, cpfDigits } from '../lib/cpf';
import { addMinutes, formatDay } from '../lib/format';
import { findByCpf, searchPatients } from '../lib/patients';
import { useStaff } from './StaffContext';
import { ConfirmDialog, Modal } from './Modal';
import { DoctorOptions, SlotButtons } from './Pickers';

type PatientMode = 'existing' | 'new';
type Field = 'patient' | 'name' | 'cpf' | 'doctor' | 'procedures' | 'date' | 'time';
type Errors = Partial<Record<Field, string>>;

/** Why booking `start`–`end` needs a confirmation, or null when it fits a free slot. */
export function encaixeReason(doctor: Doctor, slots: Slot[], day: string, start: string, end: string): string | null {
  if (slots.length === 0) return `${doctor.name} não atende em ${formatDay(day)}.`;
  const first = slots[0].startTime;
  const last = slots[slots.length - 1].endTime;
  if (start < first || end > last) {
    return `${start}–${end} fica fora do horário de ${doctor.name} nesse dia (${first}–${last}).`;
  }
  if (slots.some((s) => !s.free && s.startTime < end && s.endTime > start)) {
    return `${start}–${end} já está ocupado na agenda de ${doctor.name}.`;
  }
  return null;
}

/** `start` when `start`–`end` is exactly one of the slots (the pressed button), else ''. */
function chosenSlot(slots: Slot[], start: string, end: string): string {
  return slots.some((s) => s.startTime === start && s.endTime === end) ? start : '';
}

export function BookingForm({
  doctors,
  day,
  onClose,
  onCreated,
}: {
  doctors: Doctor[];
  /** The day the form starts on (the agenda's day). */
  day: string;
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
  const [date, setDate] = useState(day);
  const [startTime, setStartTime] = useState('');
  const [endTime, setEndTime] = useState('');
  const [notes, setNotes] = useState('');
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<Errors>({});
  const [serverError, setServerError] = useState<string | null>(null);
  const [slots, setSlots] = useState<Slot[] | null>(null);
  const [askEncaixe, setAskEncaixe] = useState<string | null>(null);
  const [askDiscard, setAskDiscard] = useState(false);

  const doctor = doctors.find((d) => d.id === doctorId) ?? null;
  const procedures = doctor && doctor.procedures.length > 0 ? doctor.procedures : allProcedures;
  const hasHours = !!doctor && !!doctor.startTime && !!doctor.endTime && doctor.intervalMinutes > 0;

  const clear = (...fields: Field[]) => {
    setServerError(null);
    setErrors((current) => {
      if (!fields.some((f) => current[f])) return current;
      const next = { ...current };
      for (const f of fields) delete next[f];
      return next;
    });
  };

  useEffect(() => {
    api
      .get<Procedure[]>('/api/procedures?limit=100')
      .then(({ data }) => setAllProcedures(data))
      .catch(() => setAllProcedures([]));
  }, [api]);

  // A new doctor means a new list of procedures and a new slot length.
  useEffect(() => setProcedureIds([]), [doctorId]);

  const loadSlots = useCallback(async (): Promise<Slot[] | null> => {
    if (!doctorId || !date) return null;
    try {
      const { data } = await api.get<Slot[]>(`/api/doctors/${doctorId}/slots?date=${date}`);
      return data;
    } catch {
      return null;
    }
  }, [api, doctorId, date]);

  useEffect(() => {
    let live = true;
    setSlots(null);
    void loadSlots().then((found) => live && setSlots(found));
    return () => {
      live = false;
    };
  }, [loadSlots]);

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

  const dirty =
    patient !== null ||
    Object.values(newPatient).some((v) => v.trim() !== '') ||
    procedureIds.length > 0 ||
    startTime !== '' ||
    notes.trim() !== '' ||
    date !== day;

  const requestClose = () => {
    if (busy) return;
    if (dirty) setAskDiscard(true);
    else onClose();
  };

  const validate = (): Errors => {
    const found: Errors = {};
    if (mode === 'existing' && !patient) found.patient = 'Escolha o paciente (ou cadastre um novo).';
    if (mode === 'new') {
      if (!newPatient.name.trim()) found.name = 'Informe o nome do paciente.';
      if (!isValidCpf(newPatient.cpf)) found.cpf = 'CPF inválido: use 123.456.789-09 ou 11 dígitos.';
      else if (cpfOwner) found.cpf = `Já existe um paciente com esse CPF (${cpfOwner.name}).`;
    }
    if (!doctorId) found.doctor = 'Escolha o médico.';
    if (procedureIds.length === 0) found.procedures = 'Escolha ao menos um procedimento.';
    if (!date) found.date = 'Informe a data.';
    if (!startTime || !endTime) found.time = 'Informe o horário.';
    else if (endTime <= startTime) found.time = 'O horário de término deve ser depois do início.';
    return found;
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setServerError(null);
    const found = validate();
    setErrors(found);
    const firstField = Object.keys(found)[0];
    if (firstField) {
      document.querySelector<HTMLElement>(`[data-field="${firstField}"]`)?.focus();
      return;
    }
    if (doctor && hasHours) {
      // Read the slots again: another desk may have just taken this one.
      const fresh = await loadSlots();
      if (fresh) {
        setSlots(fresh);
        const reason = encaixeReason(doctor, fresh, date, startTime, endTime);
        if (reason) {
          setAskEncaixe(reason);
          return;
        }
      }
    }
    await save();
  };

  const save = async () => {
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
      setServerError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  const pickSlot = (slot: Slot) => {
    setStartTime(slot.startTime);
    setEndTime(slot.endTime);
    clear('time');
  };

  const freeSlots = (slots ?? []).filter((s) => s.free);
  const err = (field: Field) =>
    errors[field] ? (
      <small className="field-error" id={`err-${field}`} role="alert">
        {errors[field]}
      </small>
    ) : null;
  const described = (field: Field, extra?: string | false | null) =>
    [errors[field] ? `err-${field}` : null, extra || null].filter(Boolean).join(' ') || undefined;

  return (
    <Modal title="Novo agendamento" onClose={requestClose} wide>
      <form className="booking" onSubmit={submit} data-testid="booking-form" noValidate>
        <fieldset>
          <legend>Paciente</legend>
          <div className="segmented" role="group" aria-label="Paciente">
            <button
              type="button"
              className={mode === 'existing' ? 'on' : ''}
              aria-pressed={mode === 'existing'}
              onClick={() => {
                setMode('existing');
                clear('name', 'cpf', 'patient');
              }}
            >
              Já cadastrado
            </button>
            <button
              type="button"
              className={mode === 'new' ? 'on' : ''}
              aria-pressed={mode === 'new'}
              onClick={() => {
                setMode('new');
                clear('patient');
              }}
            >
              Novo paciente
            </button>
          </div>
          {mode === 'existing' ? (
            <>
              <PatientSearch
                selected={patient}
                onSelect={(p) => {
                  setPatient(p);
                  clear('patient');
                }}
                invalid={!!errors.patient}
              />
              {err('patient')}
            </>
          ) : (
            <div className="grid-2">
              <label className="field span-2">
                <span>Nome completo</span>
                <input
                  name="name"
                  data-field="name"
                  value={newPatient.name}
                  aria-invalid={!!errors.name}
                  aria-describedby={described('name')}
                  onChange={(e) => {
                    setNewPatient({ ...newPatient, name: e.target.value });
                    clear('name');
                  }}
                />
                {err('name')}
              </label>
              <label className="field">
                <span>CPF</span>
                <input
                  name="cpf"
                  data-field="cpf"
                  inputMode="numeric"
                  placeholder="000.000.000-00"
                  value={newPatient.cpf}
                  aria-invalid={!!cpfProblem || !!errors.cpf}
                  aria-describedby={described('cpf', cpfProblem && !errors.cpf && 'cpf-problem')}
                  onChange={(e) => {
                    setNewPatient({ ...newPatient, cpf: formatCpf(e.target.value) });
                    clear('cpf');
                  }}
                />
                {errors.cpf
                  ? err('cpf')
                  : cpfProblem && (
                      <small className="field-error" id="cpf-problem">
                        {cpfProblem}
                      </small>
                    )}
                {cpfOwner && (
                  <small className="field-warn">
                    Já cadastrado: {cpfOwner.name}.{' '}
                    <button
                      type="button"
                      className="link"
                      onClick={() => {
                        setPatient(cpfOwner);
                        setMode('existing');
                        clear('cpf', 'name', 'patient');
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
                data-field="doctor"
                value={doctorId}
                aria-invalid={!!errors.doctor}
                aria-describedby={described('doctor')}
                onChange={(e) => {
                  setDoctorId(e.target.value ? Number(e.target.value) : '');
                  clear('doctor', 'procedures');
                }}
              >
                <option value="">Escolha…</option>
                <DoctorOptions doctors={doctors} />
              </select>
              {err('doctor')}
            </label>
            <fieldset className="field span-2 inner" aria-describedby={described('procedures')}>
              <legend className="field-legend">Procedimentos</legend>
              <div className="proc-list" data-testid="procedures" data-field="procedures" tabIndex={-1}>
                {procedures.length === 0 && <span className="muted small">Nenhum procedimento cadastrado.</span>}
                {procedures.map((p) => (
                  <label key={p.id} className="check">
                    <input
                      type="checkbox"
                      value={p.id}
                      checked={procedureIds.includes(p.id)}
                      onChange={() => {
                        setProcedureIds((ids) => (ids.includes(p.id) ? ids.filter((i) => i !== p.id) : [...ids, p.id]));
                        clear('procedures');
                      }}
                    />
                    {p.name}
                  </label>
                ))}
              </div>
              {err('procedures')}
            </fieldset>
            <label className="field">
              <span>Data</span>
              <input
                type="date"
                name="date"
                data-field="date"
                value={date}
                aria-invalid={!!errors.date}
                aria-describedby={described('date')}
                onChange={(e) => {
                  setDate(e.target.value);
                  clear('date');
                }}
              />
              {err('date')}
            </label>
            <fieldset className="field inner" aria-describedby={described('time')}>
              <legend className="field-legend">Horário</legend>
              <div className="time-range">
                <input
                  type="time"
                  name="startTime"
                  data-field="time"
                  value={startTime}
                  aria-label="Início"
                  aria-invalid={!!errors.time}
                  onChange={(e) => {
                    const value = e.target.value;
                    setStartTime(value);
                    if (value) setEndTime(addMinutes(value, doctor?.intervalMinutes || 30));
                    clear('time');
                  }}
                />
                <span className="muted">até</span>
                <input
                  type="time"
                  name="endTime"
                  value={endTime}
                  aria-label="Término"
                  aria-invalid={!!errors.time}
                  onChange={(e) => {
                    setEndTime(e.target.value);
                    clear('time');
                  }}
                />
              </div>
              {err('time')}
            </fieldset>
            {doctor && hasHours && (
              <fieldset className="field span-2 inner" data-testid="slots" aria-busy={slots === null}>
                <legend className="field-legend">
                  Horários livres{slots && slots.length > 0 ? ` (${freeSlots.length} de ${slots.length})` : ''}
                </legend>
                {slots === null ? (
                  <span className="muted small">Carregando horários…</span>
                ) : slots.length === 0 ? (
                  <span className="muted small" data-testid="no-slots">
                    {doctor.name} não atende neste dia. Para um encaixe, informe o horário acima.
                  </span>
                ) : freeSlots.length === 0 ? (
                  <span className="muted small">Nenhum horário livre neste dia. Para um encaixe, informe o horário acima.</span>
                ) : (
                  <SlotButtons slots={slots} chosen={chosenSlot(slots, startTime, endTime)} onPick={pickSlot} />
                )}
              </fieldset>
            )}
            <label className="field span-2">
              <span>Observações</span>
              <input name="notes" value={notes} onChange={(e) => setNotes(e.target.value)} />
            </label>
          </div>
        </fieldset>

        {serverError && (
          <p className="form-error" role="alert">
            {serverError}
          </p>
        )}
        <div className="modal-actions">
          <button type="button" className="btn btn-ghost" onClick={requestClose}>
            Cancelar
          </button>
          <button type="submit" className="btn btn-primary" disabled={busy} data-testid="save-appointment">
            {busy ? 'Salvando…' : procedureIds.length > 1 ? `Agendar ${procedureIds.length} procedimentos` : 'Agendar'}
          </button>
        </div>
      </form>
      {askEncaixe && (
        <ConfirmDialog
          title="Agendar como encaixe?"
          testId="encaixe-dialog"
          message={
            <>
              <p>{askEncaixe}</p>
              <p>O agendamento será criado mesmo assim, como encaixe.</p>
            </>
          }
          cancelLabel="Escolher outro horário"
          confirmLabel="Agendar encaixe"
          onCancel={() => setAskEncaixe(null)}
          onConfirm={() => {
            setAskEncaixe(null);
            void save();
          }}
        />
      )}
      {askDiscard && (
        <ConfirmDialog
          title="Descartar o agendamento?"
          testId="discard-dialog"
          message={<p>O que foi preenchido neste formulário será perdido.</p>}
          cancelLabel="Continuar editando"
          confirmLabel="Descartar"
          danger
          onCancel={() => setAskDiscard(false)}
          onConfirm={onClose}
        />
      )}
    </Modal>
  );
}

function PatientSearch({
  selected,
  onSelect,
  invalid,
}: {
  selected: Patient | null;
  onSelect: (p: Patient | null) => void;
  invalid?: boolean;
}) {
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
        const found = await searchPatients(api, q, 10);
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
      <label className="visually-hidden" htmlFor="patient-search">
        Buscar paciente por nome, CPF ou telefone
      </label>
      <input
        id="patient-search"
        name="patientSearch"
        data-field="patient"
        placeholder="Nome, CPF ou telefone"
        value={query}
        aria-invalid={invalid}
        aria-describedby={invalid ? 'err-patient' : undefined}
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
