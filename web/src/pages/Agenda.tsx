// Agenda: the clinic's appointments of one day (`/agenda?data=YYYY-MM-DD`, today in the clinic's
// time zone by default), grouped by doctor and ordered by time, with only the status moves the
// contract allows, "Reagendar" for a missed or cancelled appointment, a booking form, and live
// updates from the socket.

import { useCallback, useMemo, useState } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import type { Appointment, Doctor, LiveEvent } from '../api/types';
import { describeError } from '../api/errors';
import { useStaff } from '../components/StaffContext';
import { useToast } from '../components/Toasts';
import { PriorityBadge, StatusBadge } from '../components/Badges';
import { MoveButton } from '../components/MoveButton';
import { StatusLinkButton } from '../components/StatusLinkButton';
import { RecallButton } from '../components/RecallButton';
import { CheckinDialog } from '../components/CheckinDialog';
import { BookingForm } from '../components/BookingForm';
import { RescheduleDialog } from '../components/RescheduleDialog';
import { BusyDoctorDialog, busyCall, type BusyCall } from '../components/Pickers';
import { appointmentOf, isNotOlder, loadAll } from '../live/lists';
import { applyDoctorEvent } from '../live/doctors';
import { useFeed } from '../live/useFeed';
import { dayOf, formatDay, isDay, procedureName, shiftDay } from '../lib/format';
import { STATUS, agendaMoves, canReschedule, type Move } from '../lib/status';
import { useStatusMove } from '../lib/useStatusMove';
import { usePageTitle } from '../lib/hooks';

type Filter = 'todos' | 'chegar' | 'clinica' | 'encerrados';

const FILTERS: Array<{ value: Filter; label: string; statuses: string[] | null }> = [
  { value: 'todos', label: 'Todos', statuses: null },
  { value: 'chegar', label: 'A chegar', statuses: [STATUS.AGENDADO, STATUS.CONFIRMADO] },
  { value: 'clinica', label: 'Na clínica', statuses: [STATUS.CHECKIN, STATUS.EM_ATENDIMENTO] },
  { value: 'encerrados', label: 'Encerrados', statuses: [STATUS.FINALIZADO, STATUS.CANCELADO, STATUS.FALTOU] },
];

export function Agenda() {
  const { api, socket, account } = useStaff();
  const toast = useToast();
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  const asked = params.get('data');
  const today = isDay(asked) ? asked : account.today;
  const isToday = today === account.today;
  usePageTitle(isToday ? 'Agenda do dia' : `Agenda ${today.split('-').reverse().join('/')}`);
  const [rows, setRows] = useState<Map<number, Appointment>>(new Map());
  const [doctors, setDoctors] = useState<Doctor[]>([]);
  const [loaded, setLoaded] = useState(false);
  const [filter, setFilter] = useState<Filter>('todos');
  const [doctorFilter, setDoctorFilter] = useState<number | 'all'>('all');
  const [checkingIn, setCheckingIn] = useState<Appointment | null>(null);
  const [booking, setBooking] = useState(false);
  const [rescheduling, setRescheduling] = useState<Appointment | null>(null);

  const goTo = (day: string) => {
    const next = new URLSearchParams(params);
    if (day === account.today) next.delete('data');
    else next.set('data', day);
    setParams(next);
  };

  const upsert = useCallback(
    (a: Appointment) =>
      setRows((current) => {
        const existing = current.get(a.id);
        const belongs = dayOf(a.date) === today && !a.deletedAt;
        if (!belongs && !existing) return current;
        if (!isNotOlder(a, existing)) return current;
        const next = new Map(current);
        if (belongs) next.set(a.id, a);
        else next.delete(a.id);
        return next;
      }),
    [today],
  );

  const load = useCallback(async () => {
    const [list, docs] = [
      await loadAll<Appointment>(api, `/api/appointments?date=${today}`),
      await loadAll<Doctor>(api, '/api/doctors'),
    ];
    setRows(new Map(list.items.filter((a) => !a.deletedAt).map((a) => [a.id, a])));
    setDoctors(docs.items.filter((d) => !d.deletedAt));
    setLoaded(true);
    return list.seq;
  }, [api, today]);

  const apply = useCallback(
    (event: LiveEvent) => {
      const appointment = appointmentOf(event);
      if (appointment) upsert(appointment);
      else setDoctors((all) => applyDoctorEvent(all, event));
    },
    [upsert],
  );

  useFeed(api, socket, today, load, apply, (err) => toast.show(describeError(err), 'error'));
  const { run, pending } = useStatusMove(upsert);

  const [askCall, setAskCall] = useState<BusyCall | null>(null);

  const onMove = (a: Appointment, move: Move) => {
    const arriving = a.status.name === STATUS.AGENDADO || a.status.name === STATUS.CONFIRMADO;
    if (move.action === 'check-in' && arriving) {
      setCheckingIn(a);
      return;
    }
    const busy = move.action === 'em atendimento' ? busyCall(a, rows.values(), doctors) : null;
    if (busy) {
      setAskCall(busy); // a doctor who already has a patient in the room: ask first
      return;
    }
    void run(a, move.action);
  };

  const groups = useMemo(() => groupByDoctor(rows, filter, doctorFilter, doctors), [rows, filter, doctorFilter, doctors]);
  const counts = useMemo(() => countByFilter(rows), [rows]);
  const doctorOptions = useMemo(() => doctorsOf(rows, doctors), [rows, doctors]);

  return (
    <section className="agenda" data-testid="agenda" data-loaded={loaded}>
      <div className="page-head">
        <div>
          <h1 tabIndex={-1}>{isToday ? 'Agenda do dia' : 'Agenda'}</h1>
          <p className="muted capitalize" data-testid="agenda-day" data-day={today}>
            {formatDay(today)}
            {isToday ? ' · hoje' : ''}
          </p>
        </div>
        <button className="btn btn-primary" onClick={() => setBooking(true)} data-testid="new-appointment">
          + Novo agendamento
        </button>
      </div>

      <nav className="day-nav" aria-label="Dia da agenda">
        <button className="btn" onClick={() => goTo(shiftDay(today, -1))} data-testid="prev-day" aria-label="Dia anterior">
          ‹ <span className="day-nav-word">Anterior</span>
        </button>
        <label className="day-pick">
          <span className="visually-hidden">Escolher o dia</span>
          <input
            type="date"
            value={today}
            data-testid="day-picker"
            onChange={(e) => isDay(e.target.value) && goTo(e.target.value)}
          />
        </label>
        <button className="btn" onClick={() => goTo(shiftDay(today, 1))} data-testid="next-day" aria-label="Próximo dia">
          <span className="day-nav-word">Próximo</span> ›
        </button>
        <button className="btn btn-ghost" onClick={() => goTo(account.today)} disabled={isToday} data-testid="today">
          Hoje
        </button>
      </nav>

      <div className="toolbar">
        <div className="chips" role="tablist">
          {FILTERS.map((f) => (
            <button
              key={f.value}
              className={`chip ${filter === f.value ? 'chip-on' : ''}`}
              onClick={() => setFilter(f.value)}
              role="tab"
              aria-selected={filter === f.value}
            >
              {f.label} <span className="chip-count">{counts[f.value]}</span>
            </button>
          ))}
        </div>
        <select
          className="select"
          value={doctorFilter}
          onChange={(e) => setDoctorFilter(e.target.value === 'all' ? 'all' : Number(e.target.value))}
          aria-label="Médico"
        >
          <option value="all">Todos os médicos</option>
          {doctorOptions.map((d) => (
            <option key={d.id} value={d.id}>
              {d.name}
            </option>
          ))}
        </select>
      </div>

      {!loaded ? (
        <p className="empty">Carregando a agenda…</p>
      ) : groups.length === 0 ? (
        <p className="empty">
          Nenhum agendamento {filter === 'todos' ? (isToday ? 'para hoje' : 'neste dia') : 'neste filtro'}.
        </p>
      ) : (
        <div className="agenda-groups">
          {groups.map((group) => (
            <div className="card agenda-group" key={group.doctorId}>
              <h2 className="group-title">
                {group.doctorName}
                {group.room && <span className="room">{group.room}</span>}
                <span className="muted small">{group.rows.length} agendamento(s)</span>
              </h2>
              <ul className="rows">
                {group.rows.map((a) => (
                  <li key={a.id} className="row agenda-row" data-appointment-id={a.id} data-status={a.status.name}>
                    <span className="time">{a.startTime}</span>
                    <span className="who">
                      {a.patient ? (
                        <Link className="patient patient-link" to={`/pacientes?id=${a.patient.id}`}>
                          {a.patient.name}
                        </Link>
                      ) : (
                        <span className="patient">—</span>
                      )}
                      <span className="muted small">{procedureName(a)}</span>
                    </span>
                    <span className="badges">
                      <StatusBadge status={a.status} />
                      <PriorityBadge appointment={a} compact />
                    </span>
                    <span className="actions">
                      <StatusLinkButton appointment={a} />
                      {a.status.name === STATUS.EM_ATENDIMENTO && <RecallButton appointment={a} />}
                      {agendaMoves(a.status.name).map((move) => (
                        <MoveButton
                          key={move.label}
                          move={move}
                          disabled={pending.has(a.id)}
                          onRun={() => onMove(a, move)}
                        />
                      ))}
                      {canReschedule(a.status.name) && (
                        <button
                          className="btn btn-small btn-primary"
                          data-action="Reagendar"
                          disabled={pending.has(a.id)}
                          onClick={() => setRescheduling(a)}
                        >
                          Reagendar
                        </button>
                      )}
                    </span>
                  </li>
                ))}
              </ul>
            </div>
          ))}
        </div>
      )}

      {checkingIn && (
        <CheckinDialog
          appointment={checkingIn}
          today={today}
          onCancel={() => setCheckingIn(null)}
          onConfirm={(flags) => {
            const a = checkingIn;
            setCheckingIn(null);
            void run(a, 'check-in', { priorityFlags: flags });
          }}
        />
      )}
      {booking && (
        <BookingForm
          doctors={doctors}
          day={today}
          onClose={() => setBooking(false)}
          onCreated={(created) => {
            created.forEach(upsert);
            setBooking(false);
            const day = dayOf(created[0]?.date) || today;
            const what = created.length > 1 ? `${created.length} agendamentos criados` : 'Agendamento criado';
            const when = day === account.today ? 'hoje' : formatDay(day);
            toast.show(
              `${what} para ${when}, às ${created[0]?.startTime ?? ''}.`,
              'success',
              day === today ? undefined : { label: 'Ver o dia', run: () => navigate(`/agenda?data=${day}`) },
            );
          }}
        />
      )}
      {askCall && (
        <BusyDoctorDialog
          call={askCall}
          onCancel={() => setAskCall(null)}
          onConfirm={() => {
            const a = askCall.appointment;
            setAskCall(null);
            void run(a, 'em atendimento');
          }}
        />
      )}
      {rescheduling && (
        <RescheduleDialog
          appointment={rescheduling}
          doctors={doctors}
          onCancel={() => setRescheduling(null)}
          onDone={(updated, now) => {
            setRescheduling(null);
            upsert(updated);
            if (now) setCheckingIn(updated);
            else
              toast.show(
                `${updated.patient?.name ?? 'Agendamento'} reagendado para ${formatDay(dayOf(updated.date))}, às ${updated.startTime}.`,
                'success',
                dayOf(updated.date) === today
                  ? undefined
                  : { label: 'Ver o dia', run: () => navigate(`/agenda?data=${dayOf(updated.date)}`) },
              );
          }}
        />
      )}
    </section>
  );
}

interface Group {
  doctorId: number;
  doctorName: string;
  room: string | null;
  rows: Appointment[];
}

/** Groups by doctor; a doctor's name and room come from the live doctors list (doctors.* events),
 * so an edit on /medicos shows at once, else from the appointment. */
function groupByDoctor(rows: Map<number, Appointment>, filter: Filter, doctor: number | 'all', doctors: Doctor[]): Group[] {
  const statuses = FILTERS.find((f) => f.value === filter)?.statuses ?? null;
  const groups = new Map<number, Group>();
  for (const a of rows.values()) {
    if (statuses && !statuses.includes(a.status.name)) continue;
    const id = a.doctor?.id ?? 0;
    if (doctor !== 'all' && id !== doctor) continue;
    let group = groups.get(id);
    if (!group) {
      const live = doctors.find((d) => d.id === id);
      group = {
        doctorId: id,
        doctorName: live?.name ?? a.doctor?.name ?? 'Sem médico',
        room: live ? (live.room ?? null) : (a.doctor?.room ?? null),
        rows: [],
      };
      groups.set(id, group);
    }
    group.rows.push(a);
  }
  const list = [...groups.values()].sort((x, y) => x.doctorName.localeCompare(y.doctorName, 'pt-BR'));
  for (const g of list) g.rows.sort((x, y) => x.startTime.localeCompare(y.startTime) || x.id - y.id);
  return list;
}

function countByFilter(rows: Map<number, Appointment>): Record<Filter, number> {
  const counts: Record<Filter, number> = { todos: 0, chegar: 0, clinica: 0, encerrados: 0 };
  for (const a of rows.values()) {
    counts.todos++;
    for (const f of FILTERS) if (f.statuses?.includes(a.status.name)) counts[f.value]++;
  }
  return counts;
}

function doctorsOf(rows: Map<number, Appointment>, doctors: Doctor[]): Array<{ id: number; name: string }> {
  const byId = new Map<number, string>(doctors.map((d) => [d.id, d.name]));
  for (const a of rows.values()) if (a.doctor && !byId.has(a.doctor.id)) byId.set(a.doctor.id, a.doctor.name);
  return [...byId].map(([id, name]) => ({ id, name })).sort((x, y) => x.name.localeCompare(y.name, 'pt-BR'));
}
