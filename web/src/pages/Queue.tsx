// Fila de espera: who is waiting, in the legal priority order (tier, then check-in time), with
// the wait ticking and coloured by the clinic's thresholds; who is being seen; which doctors are
// busy. "Chamar" sends a patient in, "Finalizar" ends the visit.

import { useCallback, useMemo, useState } from 'react';
import type { Appointment, Doctor, LiveEvent } from '../api/types';
import { describeError } from '../api/errors';
import { useStaff } from '../components/StaffContext';
import { useToast } from '../components/Toasts';
import { PriorityBadge } from '../components/Badges';
import { MoveButton } from '../components/MoveButton';
import { StatusLinkButton } from '../components/StatusLinkButton';
import { RecallButton } from '../components/RecallButton';
import { appointmentOf, loadAll } from '../live/lists';
import { applyDoctorEvent } from '../live/doctors';
import { applyQueueEvent, keep, type QueueRows } from '../live/queueRules';
import { useFeed } from '../live/useFeed';
import { formatClock, formatDay, formatElapsed, procedureName } from '../lib/format';
import { useNow, usePageTitle } from '../lib/hooks';
import { compareQueue, compareServing, tierOf } from '../lib/priority';
import { CHAMAR, FINALIZAR, STATUS, VOLTAR_A_FILA } from '../lib/status';
import { useStatusMove } from '../lib/useStatusMove';

export function Queue() {
  usePageTitle('Fila de espera');
  const { api, socket, account, skewMs } = useStaff();
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

  const waiting = useMemo(
    () => [...rows.values()].filter((a) => a.status.name === STATUS.CHECKIN).sort(compareQueue),
    [rows],
  );
  const serving = useMemo(
    () => [...rows.values()].filter((a) => a.status.name === STATUS.EM_ATENDIMENTO).sort(compareServing),
    [rows],
  );

  const waitClass = (a: Appointment) => {
    const minutes = (now - Date.parse(a.checkedInAt ?? a.updatedAt)) / 60_000;
    if (minutes >= account.waitAlertMinutes) return 'wait-alert';
    if (minutes >= account.waitWarnMinutes) return 'wait-warn';
    return 'wait-ok';
  };

  return (
    <section className="queue-page">
      <div className="page-head">
        <div>
          <h1>Fila de espera</h1>
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

      <div className="queue-layout">
        <div className="queue-main">
          <div className="card">
            <h2 className="card-title">Aguardando</h2>
            {!loaded ? (
              <p className="empty">Carregando a fila…</p>
            ) : waiting.length === 0 ? (
              <p className="empty">Ninguém aguardando agora.</p>
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
                      {a.patient?.name ?? '—'} <PriorityBadge appointment={a} />
                    </span>
                    <span className="muted small">
                      {a.doctor?.name ?? 'Sem médico'}
                      {a.doctor?.room ? ` · ${a.doctor.room}` : ''} · {procedureName(a)} · agendado {a.startTime}
                    </span>
                  </span>
                  <span className={`wait ${waitClass(a)}`} title={`Check-in às ${formatClock(a.checkedInAt, account.timeZone)}`}>
                    <span className="wait-label">espera</span>
                    <span className="wait-time" data-testid="wait">
                      {formatElapsed(now - Date.parse(a.checkedInAt ?? a.updatedAt))}
                    </span>
                  </span>
                  <span className="actions">
                    <StatusLinkButton appointment={a} />
                    <MoveButton move={CHAMAR} disabled={pending.has(a.id)} onRun={() => void run(a, CHAMAR.action)} />
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
                      {a.patient?.name ?? '—'} <PriorityBadge appointment={a} compact />
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
    </section>
  );
}
