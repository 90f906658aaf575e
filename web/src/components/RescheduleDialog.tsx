// Reagendar a "Faltou" or "Cancelado" appointment through PATCH /appointments/{id}/reschedule:
// to now (the patient arrived late: the check-in follows at once) or to another day and time,
// picked from the doctor's free slots. The appointment starts over as "Agendado".

import { useEffect, useState, type FormEvent } from 'react';
import type { Appointment, Doctor, Slot } from '../api/types';
import { describeError } from '../api/errors';
import { addMinutes, clockIn, dayOf, formatDay, procedureName, shortDay } from '../lib/format';
import { useStaff } from './StaffContext';
import { Modal } from './Modal';
import { DoctorOptions, SlotButtons } from './Pickers';

type When = 'now' | 'other';

function minutesBetween(start: string, end: string): number {
  const toMin = (t: string) => Number(t.slice(0, 2)) * 60 + Number(t.slice(3, 5));
  return Math.max(5, toMin(end) - toMin(start));
}

export function RescheduleDialog({
  appointment,
  doctors,
  onCancel,
  onDone,
}: {
  appointment: Appointment;
  doctors: Doctor[];
  onCancel: () => void;
  /** The rescheduled appointment, and whether it was moved to now (check-in comes next). */
  onDone: (updated: Appointment, now: boolean) => void;
}) {
  const { api, account, skewMs } = useStaff();
  const today = account.today;
  const [when, setWhen] = useState<When>('now');
  const [doctorId, setDoctorId] = useState<number>(appointment.doctor?.id ?? doctors[0]?.id ?? 0);
  const [date, setDate] = useState(dayOf(appointment.date) > today ? dayOf(appointment.date) : today);
  const [startTime, setStartTime] = useState('');
  const [slots, setSlots] = useState<Slot[] | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const length = minutesBetween(appointment.startTime, appointment.endTime);

  useEffect(() => {
    if (when !== 'other' || !doctorId || !date) return;
    let live = true;
    setSlots(null);
    api
      .get<Slot[]>(`/api/doctors/${doctorId}/slots?date=${date}`)
      .then(({ data }) => live && setSlots(data))
      .catch(() => live && setSlots([]));
    return () => {
      live = false;
    };
  }, [api, when, doctorId, date]);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    let body: { doctorId: number; date: string; startTime: string; endTime: string };
    if (when === 'now') {
      const start = clockIn(Date.now() + skewMs, account.timeZone);
      body = { doctorId, date: today, startTime: start, endTime: addMinutes(start, length) };
    } else {
      if (!date || !startTime) {
        setError('Escolha o dia e o horário.');
        return;
      }
      const slot = slots?.find((s) => s.startTime === startTime);
      body = { doctorId, date, startTime, endTime: slot?.endTime ?? addMinutes(startTime, length) };
    }
    if (body.endTime <= body.startTime) body.endTime = '23:59';
    setBusy(true);
    try {
      const { data } = await api.patch<Appointment>(`/api/appointments/${appointment.id}/reschedule`, body);
      onDone(data, when === 'now');
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal title="Reagendar" onClose={onCancel} testId="reschedule-dialog">
      <form onSubmit={submit} className="reschedule">
        <div className="checkin-who">
          <strong>{appointment.patient?.name}</strong>
          <span className="muted">
            {appointment.status.name} · {shortDay(dayOf(appointment.date))} {appointment.startTime} ·{' '}
            {appointment.doctor?.name} · {procedureName(appointment)}
          </span>
        </div>
        <fieldset className="choices">
          <legend>Para quando?</legend>
          <label className="check">
            <input type="radio" name="when" value="now" checked={when === 'now'} onChange={() => setWhen('now')} />
            Agora — o paciente chegou (segue para o check-in)
          </label>
          <label className="check">
            <input type="radio" name="when" value="other" checked={when === 'other'} onChange={() => setWhen('other')} />
            Outro dia ou horário
          </label>
        </fieldset>
        <label className="field">
          <span>Médico</span>
          <select className="select" name="doctorId" value={doctorId} onChange={(e) => setDoctorId(Number(e.target.value))}>
            <DoctorOptions doctors={doctors} />
          </select>
        </label>
        {when === 'other' && (
          <div className="grid-2">
            <label className="field">
              <span>Dia</span>
              <input type="date" name="date" value={date} onChange={(e) => setDate(e.target.value)} />
            </label>
            <label className="field">
              <span>Horário</span>
              <input type="time" name="startTime" value={startTime} onChange={(e) => setStartTime(e.target.value)} />
            </label>
            <div className="field span-2" data-testid="slots">
              <span className="muted small capitalize">{date ? formatDay(date) : ''}</span>
              {slots === null ? (
                <span className="muted small">Carregando horários…</span>
              ) : slots.filter((s) => s.free).length === 0 ? (
                <span className="muted small">Nenhum horário livre; informe um horário para um encaixe.</span>
              ) : (
                <SlotButtons slots={slots} chosen={startTime} onPick={(slot) => setStartTime(slot.startTime)} />
              )}
            </div>
          </div>
        )}
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        <div className="modal-actions">
          <button type="button" className="btn btn-ghost" onClick={onCancel}>
            Voltar
          </button>
          <button type="submit" className="btn btn-primary" disabled={busy} data-testid="confirm-reschedule">
            {busy ? 'Reagendando…' : when === 'now' ? 'Reagendar para agora' : 'Reagendar'}
          </button>
        </div>
      </form>
    </Modal>
  );
}
