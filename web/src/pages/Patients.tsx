// Pacientes: find a patient by name, CPF or phone, correct their details, and see their
// appointments (each one links to its day in the agenda). `/pacientes?id=N` opens one patient:
// the agenda and the queue link every patient name here.

import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import type { Appointment, Patient } from '../api/types';
import { describeError } from '../api/errors';
import { useStaff } from '../components/StaffContext';
import { useToast } from '../components/Toasts';
import { StatusBadge } from '../components/Badges';
import { formatCpf, isValidCpf } from '../lib/cpf';
import { dayOf, procedureName, shortDay } from '../lib/format';
import { searchPatients } from '../lib/patients';
import { usePageTitle } from '../lib/hooks';

export function Patients() {
  usePageTitle('Pacientes');
  const { api } = useStaff();
  const toast = useToast();
  const [params, setParams] = useSearchParams();
  const selectedId = Number(params.get('id')) || null;
  const [query, setQuery] = useState(params.get('q') ?? '');
  const [results, setResults] = useState<Patient[] | null>(null);

  useEffect(() => {
    const q = query.trim();
    let cancelled = false;
    const timer = setTimeout(
      async () => {
        try {
          const found =
            q.length >= 2 ? await searchPatients(api, q, 30) : (await api.get<Patient[]>('/api/patients?limit=30')).data;
          if (!cancelled) setResults(found);
        } catch (err) {
          if (!cancelled) {
            setResults([]);
            toast.show(describeError(err), 'error');
          }
        }
      },
      q ? 250 : 0,
    );
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [api, query, toast]);

  const open = (id: number | null) => {
    const next = new URLSearchParams(params);
    if (id) next.set('id', String(id));
    else next.delete('id');
    setParams(next);
  };

  return (
    <section className="patients-page" data-testid="patients">
      <div className="page-head">
        <div>
          <h1 tabIndex={-1}>Pacientes</h1>
          <p className="muted">Busque por nome, CPF ou telefone; corrija os dados e veja os agendamentos.</p>
        </div>
      </div>
      <div className="patients-layout">
        <div className="card">
          <div className="search">
            <label className="field">
              <span>Buscar paciente</span>
              <input
                type="search"
                name="patientQuery"
                placeholder="Nome, CPF ou telefone"
                value={query}
                onChange={(e) => setQuery(e.target.value)}
                data-testid="patient-query"
              />
            </label>
          </div>
          {results === null ? (
            <p className="empty">Carregando…</p>
          ) : results.length === 0 ? (
            <p className="empty">Nenhum paciente encontrado.</p>
          ) : (
            <ul className="rows patient-list" data-testid="patient-results">
              {results.map((p) => (
                <li key={p.id} className={`patient-item ${p.id === selectedId ? 'on' : ''}`} data-patient-id={p.id}>
                  <button type="button" onClick={() => open(p.id)} aria-current={p.id === selectedId ? 'true' : undefined}>
                    <strong>{p.name}</strong>
                    <span className="muted small">
                      {[p.cpf && formatCpf(p.cpf), p.phone, p.dateBirth && shortDay(p.dateBirth)].filter(Boolean).join(' · ') ||
                        'sem CPF nem telefone'}
                    </span>
                  </button>
                </li>
              ))}
            </ul>
          )}
        </div>
        {selectedId ? (
          <PatientDetail key={selectedId} id={selectedId} onSaved={(p) => setResults((all) => all?.map((x) => (x.id === p.id ? p : x)) ?? all)} />
        ) : (
          <div className="card muted patient-hint">Escolha um paciente para ver os dados e os agendamentos.</div>
        )}
      </div>
    </section>
  );
}

function PatientDetail({ id, onSaved }: { id: number; onSaved: (p: Patient) => void }) {
  const { api } = useStaff();
  const toast = useToast();
  const [patient, setPatient] = useState<Patient | null>(null);
  const [form, setForm] = useState({ name: '', cpf: '', phone: '', dateBirth: '' });
  const [appointments, setAppointments] = useState<Appointment[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [cpfError, setCpfError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [missing, setMissing] = useState(false);

  const load = useCallback(async () => {
    try {
      const [{ data: p }, { data: list }] = await Promise.all([
        api.get<Patient>(`/api/patients/${id}`),
        api.get<Appointment[]>(`/api/patients/${id}/appointments?limit=50`),
      ]);
      setPatient(p);
      setForm({ name: p.name, cpf: p.cpf ? formatCpf(p.cpf) : '', phone: p.phone ?? '', dateBirth: p.dateBirth ?? '' });
      setAppointments(list);
    } catch {
      setMissing(true);
    }
  }, [api, id]);

  useEffect(() => {
    void load();
  }, [load]);

  const save = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    if (form.cpf.trim() && !isValidCpf(form.cpf)) {
      setCpfError('CPF inválido: confira os dígitos.');
      return;
    }
    if (!form.name.trim()) {
      setError('Informe o nome do paciente.');
      return;
    }
    setBusy(true);
    try {
      const { data } = await api.patch<Patient>(`/api/patients/${id}`, {
        name: form.name.trim(),
        cpf: form.cpf.trim(),
        phone: form.phone.trim(),
        ...(form.dateBirth ? { dateBirth: form.dateBirth } : {}),
      });
      setPatient(data);
      onSaved(data);
      toast.show('Dados do paciente salvos.', 'success');
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  if (missing) return <div className="card">Paciente não encontrado.</div>;
  if (!patient) return <div className="card muted">Carregando…</div>;

  return (
    <div className="patient-detail" data-testid="patient-detail" data-patient-id={id}>
      <form className="card" onSubmit={save} noValidate>
        <h2 className="card-title">{patient.name}</h2>
        <div className="grid-2">
          <label className="field span-2">
            <span>Nome completo</span>
            <input name="name" value={form.name} onChange={(e) => { setForm({ ...form, name: e.target.value }); setError(null); }} />
          </label>
          <label className="field">
            <span>CPF</span>
            <input
              name="cpf"
              inputMode="numeric"
              value={form.cpf}
              aria-invalid={!!cpfError}
              aria-describedby={cpfError ? 'patient-cpf-error' : undefined}
              onChange={(e) => {
                setForm({ ...form, cpf: formatCpf(e.target.value) });
                setCpfError(null);
                setError(null);
              }}
            />
            {cpfError && (
              <small className="field-error" id="patient-cpf-error" role="alert">
                {cpfError}
              </small>
            )}
          </label>
          <label className="field">
            <span>Telefone</span>
            <input name="phone" inputMode="tel" value={form.phone} onChange={(e) => { setForm({ ...form, phone: e.target.value }); setError(null); }} />
          </label>
          <label className="field">
            <span>Data de nascimento</span>
            <input type="date" name="dateBirth" value={form.dateBirth} onChange={(e) => { setForm({ ...form, dateBirth: e.target.value }); setError(null); }} />
          </label>
        </div>
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        <div className="modal-actions">
          <button type="submit" className="btn btn-primary" disabled={busy} data-testid="save-patient">
            {busy ? 'Salvando…' : 'Salvar dados'}
          </button>
        </div>
      </form>
      <div className="card">
        <h2 className="card-title">Agendamentos</h2>
        {appointments === null ? (
          <p className="empty">Carregando…</p>
        ) : appointments.length === 0 ? (
          <p className="empty">Nenhum agendamento.</p>
        ) : (
          <ul className="rows" data-testid="patient-appointments">
            {appointments.map((a) => (
              <li key={a.id} className="row history-row" data-appointment-id={a.id}>
                <Link to={`/agenda?data=${dayOf(a.date)}`} className="time">
                  {shortDay(dayOf(a.date))} {a.startTime}
                </Link>
                <span className="who">
                  <span>{procedureName(a)}</span>
                  <span className="muted small">{a.doctor?.name ?? 'Sem médico'}</span>
                </span>
                <StatusBadge status={a.status} />
              </li>
            ))}
          </ul>
        )}
      </div>
    </div>
  );
}
