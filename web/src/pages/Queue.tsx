// Fila de espera: who is waiting, in the legal priority order (tier, then check-in time), with
// the wait ("18 min") coloured by the clinic's thresholds and how late they arrived; who is being
// seen; which doctors are busy. "Chamar" sends a patient in, "Finalizar" ends the visit.
// `/fila?medico={id}` is one doctor's own queue with "Chamar próximo"; the choice is kept in this
// browser. Calling a patient for a doctor who already has one in the room asks first.

import { useCallback, useEffect, useMemo, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import type { Appointment, Doctor, LiveEvent } from '../api/types';
import { describeError } from '../api/errors';
import { useStaff } from '../components/StaffContext';
import { useToast } from '../components/Toasts';
import { PriorityBadge } from '../components/Badges';
import { MoveButton } from '../components/MoveButton';
import { BusyDoctorDialog, DoctorOptions, busyCall, type BusyCall } from '../components/Pickers';
import { StatusLinkButton } from '../components/StatusLinkButton';
import { RecallButton } from '../components/RecallButton';
import { appointmentOf, loadAll } from '../live/lists';
import { applyDoctorEvent } from '../live/doctors';
import { applyQueueEvent, keep, type QueueRows } from '../live/queueRules';
import { useFeed } from '../live/useFeed';
import { formatClock, formatDay, formatWait, minutesLate, procedureName } from '../lib/format';
import { useNow, usePageTitle } from '../lib/hooks';
import { compareQueue, compareServing, tierOf } from '../lib/priority';
import { CHAMAR, FINALIZAR, STATUS, VOLTAR_A_FILA } from '../lib/status';
import { useStatusMove } from '../lib/useStatusMove';

const DOCTOR_KEY = 'fila.fila.medico';

export function Queue() {
  const { api, socket, account, skewMs } = useStaff();
  const [params, setParams] = useSearchParams();
  const chosen = Number(params.get('medico')) || null;
  const [asking, setAsking] = useState<BusyCall | null>(null);
  const toast = useToast();
  const today = account.today;
  const [rows, setRows] = useState<QueueRows>(new Map());
  const [doctors, setDoctors] = useState<Doctor[]>([]);
  const [loaded, setLoaded] = useState(false);
  const now = useNow(1000) + skewMs;

  const load = useCallback(async () => {
    // The queue first: its seq is then no newer than the doctors read after it.
    const queue = await loadAll<Appointment>(api, `/api/appointments/queue?date=${today}`);
    const docs = await loadAll<Doctor>(api, '/api/doctors');
    setRows(queue.items.reduce<QueueRows>((map, a) => keep(map, a, today), new Map()));
    setDoctors(docs.items.filter((d) => !d.deletedAt));
    setLoaded(true);
    return queue.seq;
  }, [api, today]);

  const apply = useCallback(
    (event: LiveEvent) => {
      if (appointmentOf(event)) setRows((current) => applyQueueEvent(current, event, today));
      else setDoctors((all) => applyDoctorEvent(all, event));
    },
    [today],
  );

  useFeed(api, socket, today, load, apply, (err) => toast.show(describeError(err), 'error'));
  const onUpdated = useCallback((a: Appointment) => setRows((current) => keep(current, a, today)), [today]);
  const { run, pending } = useStatusMove(onUpdated);

  // The doctor chosen in this browser comes back on a plain /fila.
  useEffect(() => {
    if (params.has('medico')) {
      localStorage.setItem(DOCTOR_KEY, params.get('medico') ?? '');
      return;
    }
    const kept = Number(localStorage.getItem(DOCTOR_KEY));
    if (kept) setParams({ medico: String(kept) }, { replace: true });
  }, [params, setParams]);

  const choose = (value: string) => {
    localStorage.setItem(DOCTOR_KEY, value);
    setParams(value ? { medico: value } : {});
  };

  const doctor = chosen ? (doctors.find((d) => d.id === chosen) ?? null) : null;
  usePageTitle(doctor ? `Fila · ${doctor.name}` : 'Fila de espera');
  const mine = useCallback((a: Appointment) => !chosen || a.doctor?.id === chosen, [chosen]);

  const allServing = useMemo(
    () => [...rows.values()].filter((a) => a.status.name === STATUS.EM_ATENDIMENTO).sort(compareServing),
    [rows],
  );
  const waiting = useMemo(
    () => [...rows.values()].filter((a) => a.status.name === STATUS.CHECKIN && mine(a)).sort(compareQueue),
    [rows, mine],
  );
  const serving = useMemo(() => allServing.filter(mine), [allServing, mine]);

  /** Chamar: asks first when the doctor already has a patient in the room. */
  const call = (a: Appointment) => {
    const busy = busyCall(a, allServing, doctors);
    if (busy) {
      setAsking(busy);
      return;
    }
    void run(a, CHAMAR.action);
  };

  const waitClass = (a: Appointment) => {
    const minutes = (now - Date.parse(a.checkedInAt ?? a.updatedAt)) / 60_000;
    if (minutes >= account.waitAlertMinutes) return 'wait-alert';
    if (minutes >= account.waitWarnMinutes) return 'wait-warn';
    return 'wait-ok';
  };

  return (
    <section className="queue-page" data-doctor={chosen ?? ''}>
      <div className="page-head">
        <div>
          <h1 tabIndex={-1}>{doctor ? `Fila de ${doctor.name}` : 'Fila de espera'}</h1>
          <p className="muted capitalize">
            {formatDay(today)} · espera em amarelo a partir de {account.waitWarnMinutes} min, em vermelho a partir de{' '}
            {account.waitAlertMinutes} min
          </p>
        </div>
        <div className="counters">
          <span className="counter"><strong>{waiting.length}</strong> aguardando</span>
          <span className="counter"><strong>{serving.length}</strong> em atendimento</span>
        </div>
      </div>

      <div className="toolbar queue-toolbar">
        <label className="inline-field">
          <span>Médico</span>
          <select
            className="select"
            name="medico"
            value={chosen ?? ''}
            onChange={(e) => choose(e.target.value)}
            data-testid="doctor-filter"
          >
            <option value="">Todos os médicos</option>
            <DoctorOptions doctors={doctors} />
          </select>
        </label>
        {chosen && (
          <button
            className="btn btn-primary btn-large"
            onClick={() => waiting[0] && call(waiting[0])}
            disabled={waiting.length === 0 || pending.has(waiting[0]?.id ?? -1)}
            data-testid="call-next"
          >
            Chamar próximo{waiting[0]?.patient ? `: ${waiting[0].patient.name}` : ''}
          </button>
        )}
      </div>

      <div className="queue-layout">
        <div className="queue-main">
          <div className="card">
            <h2 className="card-title">Aguardando</h2>
            {!loaded ? (
              <p className="empty">Carregando a fila…</p>
            ) : waiting.length === 0 ? (
              <p className="empty">{doctor ? `Ninguém aguardando ${doctor.name} agora.` : 'Ninguém aguardando agora.'}</p>
            ) : null}
            <ol className="rows queue-list" data-testid="queue" data-loaded={loaded}>
              {waiting.map((a, index) => (
                <li
                  key={a.id}
                  className={`row queue-row tier-${tierOf(a)}`}
                  data-appointment-id={a.id}
                  data-tier={tierOf(a)}
                >
                  <span className="pos">{index + 1}</span>
                  <span className="who">
                    <span className="patient">
                      <PatientLink appointment={a} /> <PriorityBadge appointment={a} />
                    </span>
                    <span className="muted small">
                      {a.doctor?.name ?? 'Sem médico'}
                      {a.doctor?.room ? ` · ${a.doctor.room}` : ''} · {procedureName(a)} · agendado {a.startTime}, chegou{' '}
                      {formatClock(a.checkedInAt, account.timeZone)}
                      <Lateness minutes={minutesLate(a, account.timeZone)} />
                    </span>
                  </span>
                  <span className={`wait ${waitClass(a)}`}>
                    <span className="wait-label">espera</span>
                    <span className="wait-time" data-testid="wait">
                      {formatWait(now - Date.parse(a.checkedInAt ?? a.updatedAt))}
                    </span>
                  </span>
                  <span className="actions">
                    <StatusLinkButton appointment={a} />
                    <MoveButton move={CHAMAR} disabled={pending.has(a.id)} onRun={() => call(a)} />
                  </span>
                </li>
              ))}
            </ol>
          </div>

          <div className="card">
            <h2 className="card-title">Em atendimento</h2>
            {loaded && serving.length === 0 && <p className="empty">Nenhum atendimento em andamento.</p>}
            <ul className="rows" data-testid="serving">
              {serving.map((a) => (
                <li key={a.id} className="row serving-row" data-appointment-id={a.id}>
                  <span className="who">
                    <span className="patient">
                      <PatientLink appointment={a} /> <PriorityBadge appointment={a} compact />
                    </span>
                    <span className="muted small">
                      {a.doctor?.name ?? 'Sem médico'}
                      {a.doctor?.room ? ` · ${a.doctor.room}` : ''} · {procedureName(a)}
                    </span>
                  </span>
                  <span className="wait wait-neutral">
                    <span className="wait-label">chamado às</span>
                    <span className="wait-time">{formatClock(a.calledAt, account.timeZone)}</span>
                  </span>
                  <span className="actions">
                    <RecallButton appointment={a} />
                    <MoveButton move={VOLTAR_A_FILA} disabled={pending.has(a.id)} onRun={() => void run(a, VOLTAR_A_FILA.action)} />
                    <MoveButton move={FINALIZAR} disabled={pending.has(a.id)} onRun={() => void run(a, FINALIZAR.action)} />
                  </span>
                </li>
              ))}
            </ul>
          </div>
        </div>

        <aside className="card doctors" data-testid="doctors">
          <h2 className="card-title">Médicos</h2>
          {doctors.length === 0 && <p className="empty">Nenhum médico cadastrado.</p>}
          <ul className="doctor-list">
            {doctors.map((d) => (
              <li key={d.id} className={`doctor ${d.isBusy ? 'busy' : 'free'}`} data-doctor-id={d.id} data-busy={d.isBusy}>
                <span className="doctor-name">
                  {d.name}
                  {d.room && <span className="doctor-room">{d.room}</span>}
                </span>
                <span className="doctor-state">{d.isBusy ? 'Ocupado' : 'Livre'}</span>
              </li>
            ))}
          </ul>
        </aside>
      </div>
      {asking && (
        <BusyDoctorDialog
          call={asking}
          onCancel={() => setAsking(null)}
          onConfirm={() => {
            const a = asking.appointment;
            setAsking(null);
            void run(a, CHAMAR.action);
          }}
        />
      )}
    </section>
  );
}

function PatientLink({ appointment }: { appointment: Appointment }) {
  if (!appointment.patient) return <>—</>;
  return (
    <Link className="patient-link" to={`/pacientes?id=${appointment.patient.id}`}>
      {appointment.patient.name}
    </Link>
  );
}

/** " · 12 min de atraso" when the patient checked in after their appointment time. */
function Lateness({ minutes }: { minutes: number }) {
  if (minutes < 1) return null;
  return (
    <span className="late" data-testid="late">
      {' '}
      · {formatWait(minutes * 60_000)} de atraso
    </span>
  );
}
