// Médicos: the clinic's doctors with their room, hours, working days and procedures — create,
// edit, remove. Every change is broadcast as doctors.* and reaches every open screen; this list
// follows those events too, so two desks editing at once see each other's changes.

import { useCallback, useEffect, useState, type FormEvent } from 'react';
import type { Doctor, Procedure } from '../api/types';
import { describeError } from '../api/errors';
import { Modal } from '../components/Modal';
import { MoveButton } from '../components/MoveButton';
import { useStaff } from '../components/StaffContext';
import { useToast } from '../components/Toasts';
import { applyDoctorEvent } from '../live/doctors';
import { loadAll } from '../live/lists';
import { usePageTitle } from '../lib/hooks';

const DAYS = ['Segunda', 'Terça', 'Quarta', 'Quinta', 'Sexta', 'Sábado', 'Domingo'];

interface Draft {
  name: string;
  room: string;
  startTime: string;
  endTime: string;
  intervalMinutes: string;
  workingDays: string[];
  procedureIds: number[];
}

const EMPTY: Draft = {
  name: '',
  room: '',
  startTime: '08:00',
  endTime: '17:00',
  intervalMinutes: '20',
  workingDays: DAYS.slice(0, 5),
  procedureIds: [],
};

function draftOf(d: Doctor): Draft {
  return {
    name: d.name,
    room: d.room ?? '',
    startTime: d.startTime ?? '',
    endTime: d.endTime ?? '',
    intervalMinutes: d.intervalMinutes ? String(d.intervalMinutes) : '',
    workingDays: d.workingDays ?? [],
    procedureIds: (d.procedures ?? []).map((p) => p.id),
  };
}

export function Doctors() {
  usePageTitle('Médicos');
  const { api, socket } = useStaff();
  const toast = useToast();
  const [doctors, setDoctors] = useState<Doctor[] | null>(null);
  const [procedures, setProcedures] = useState<Procedure[]>([]);
  const [editing, setEditing] = useState<Doctor | 'new' | null>(null);

  const load = useCallback(async () => {
    try {
      const [d, p] = await Promise.all([loadAll<Doctor>(api, '/api/doctors'), loadAll<Procedure>(api, '/api/procedures')]);
      setDoctors(d.items.filter((x) => !x.deletedAt).sort((a, b) => a.name.localeCompare(b.name, 'pt-BR')));
      setProcedures(p.items);
    } catch (err) {
      toast.show(describeError(err), 'error');
      setDoctors([]);
    }
  }, [api, toast]);

  useEffect(() => void load(), [load]);
  useEffect(() => socket.onEvent((event) => setDoctors((all) => (all ? applyDoctorEvent(all, event) : all))), [socket]);
  useEffect(() => socket.onConnect(() => void load()), [socket, load]);

  const remove = async (doctor: Doctor) => {
    try {
      await api.delete(`/api/doctors/${doctor.id}`);
      setDoctors((all) => all?.filter((d) => d.id !== doctor.id) ?? all);
      toast.show(`${doctor.name} removido(a).`, 'success');
    } catch (err) {
      toast.show(describeError(err), 'error');
    }
  };

  return (
    <section className="narrow registers" data-testid="doctors-page" data-loaded={doctors !== null}>
      <div className="page-head">
        <div>
          <h1>Médicos</h1>
          <p className="muted">Sala, horário, dias de atendimento e procedimentos de cada médico.</p>
        </div>
        <button className="btn btn-primary" onClick={() => setEditing('new')} data-testid="new-doctor">
          Novo médico
        </button>
      </div>
      <div className="card">
        {doctors === null ? (
          <p className="empty">Carregando…</p>
        ) : doctors.length === 0 ? (
          <p className="empty">Nenhum médico cadastrado.</p>
        ) : (
          <ul className="rows" data-testid="doctor-rows">
            {doctors.map((d) => (
              <li key={d.id} className="row register-row" data-doctor-id={d.id}>
                <span className="who">
                  <span className="patient">{d.name}</span>
                  <span className="muted small">
                    {[d.room, d.startTime && d.endTime ? `${d.startTime}–${d.endTime}` : null, (d.workingDays ?? []).join(', ')]
                      .filter(Boolean)
                      .join(' · ')}
                  </span>
                  <span className="muted small">{(d.procedures ?? []).map((p) => p.name).join(', ') || 'Sem procedimentos'}</span>
                </span>
                <span className="actions">
                  <button className="btn btn-small btn-neutral" onClick={() => setEditing(d)} data-action="edit">
                    Editar
                  </button>
                  <MoveButton
                    move={{ action: 'remove', label: 'Remover', tone: 'danger', confirm: 'Remover este médico?' }}
                    onRun={() => void remove(d)}
                  />
                </span>
              </li>
            ))}
          </ul>
        )}
      </div>
      {editing && (
        <DoctorForm
          doctor={editing === 'new' ? null : editing}
          procedures={procedures}
          onClose={() => setEditing(null)}
          onSaved={(saved) => {
            setDoctors((all) => applyDoctorEvent(all ?? [], { seq: null, event: 'doctors.updated', data: saved }));
            setEditing(null);
          }}
        />
      )}
    </section>
  );
}

function DoctorForm({
  doctor,
  procedures,
  onClose,
  onSaved,
}: {
  doctor: Doctor | null;
  procedures: Procedure[];
  onClose: () => void;
  onSaved: (doctor: Doctor) => void;
}) {
  const { api } = useStaff();
  const toast = useToast();
  const [draft, setDraft] = useState<Draft>(doctor ? draftOf(doctor) : EMPTY);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const toggle = <T,>(list: T[], item: T) => (list.includes(item) ? list.filter((x) => x !== item) : [...list, item]);

  const save = async (event: FormEvent) => {
    event.preventDefault();
    if (!draft.name.trim()) {
      setError('Informe o nome.');
      return;
    }
    const body = {
      name: draft.name.trim(),
      room: draft.room.trim(),
      ...(draft.startTime ? { startTime: draft.startTime } : {}),
      ...(draft.endTime ? { endTime: draft.endTime } : {}),
      ...(draft.intervalMinutes ? { intervalMinutes: Number(draft.intervalMinutes) } : {}),
      workingDays: DAYS.filter((d) => draft.workingDays.includes(d)),
      procedureIds: draft.procedureIds,
    };
    setBusy(true);
    try {
      const { data } = doctor
        ? await api.patch<Doctor>(`/api/doctors/${doctor.id}`, body)
        : await api.post<Doctor>('/api/doctors', body);
      toast.show(doctor ? 'Médico atualizado.' : 'Médico cadastrado.', 'success');
      onSaved(data);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal title={doctor ? `Editar ${doctor.name}` : 'Novo médico'} onClose={onClose} wide>
      <form className="grid-2" onSubmit={save} data-testid="doctor-form">
        <label className="field span-2">
          <span>Nome</span>
          <input name="name" value={draft.name} onChange={(e) => setDraft({ ...draft, name: e.target.value })} autoFocus />
        </label>
        <label className="field">
          <span>Sala</span>
          <input name="room" placeholder="Ex.: Sala 3" value={draft.room} onChange={(e) => setDraft({ ...draft, room: e.target.value })} />
        </label>
        <label className="field">
          <span>Intervalo entre consultas (min)</span>
          <input
            name="intervalMinutes"
            type="number"
            min={1}
            max={720}
            value={draft.intervalMinutes}
            onChange={(e) => setDraft({ ...draft, intervalMinutes: e.target.value })}
          />
        </label>
        <label className="field">
          <span>Início</span>
          <input name="startTime" type="time" value={draft.startTime} onChange={(e) => setDraft({ ...draft, startTime: e.target.value })} />
        </label>
        <label className="field">
          <span>Fim</span>
          <input name="endTime" type="time" value={draft.endTime} onChange={(e) => setDraft({ ...draft, endTime: e.target.value })} />
        </label>
        <fieldset className="field span-2 checks">
          <legend>Dias de atendimento</legend>
          {DAYS.map((day) => (
            <label key={day} className="check">
              <input
                type="checkbox"
                name="workingDays"
                value={day}
                checked={draft.workingDays.includes(day)}
                onChange={() => setDraft({ ...draft, workingDays: toggle(draft.workingDays, day) })}
              />
              {day}
            </label>
          ))}
        </fieldset>
        <fieldset className="field span-2 checks">
          <legend>Procedimentos</legend>
          {procedures.length === 0 && <span className="muted small">Cadastre procedimentos em Procedimentos.</span>}
          {procedures.map((p) => (
            <label key={p.id} className="check">
              <input
                type="checkbox"
                name="procedureIds"
                value={p.id}
                checked={draft.procedureIds.includes(p.id)}
                onChange={() => setDraft({ ...draft, procedureIds: toggle(draft.procedureIds, p.id) })}
              />
              {p.name}
            </label>
          ))}
        </fieldset>
        {error && <p className="form-error span-2">{error}</p>}
        <div className="modal-actions span-2">
          <button type="button" className="btn btn-ghost" onClick={onClose}>
            Cancelar
          </button>
          <button type="submit" className="btn btn-primary" disabled={busy} data-testid="save-doctor">
            {busy ? 'Salvando…' : 'Salvar'}
          </button>
        </div>
      </form>
    </Modal>
  );
}
