// /p/{token}: the patient's own live status page, opened from a QR code or a WhatsApp link on
// their phone, with no login. It shows only what the token's appointment allows: the first
// name, the doctor and room, the status, the people ahead and the estimated wait; it follows
// changes live over a status socket (`auth: {statusToken}`), which receives nothing else.

import { useCallback, useEffect, useState } from 'react';
import { useParams } from 'react-router';
import { io } from 'socket.io-client';
import type { PublicStatus, WaitEstimate } from '../api/types';
import { usePageTitle } from '../lib/hooks';

type Load = { kind: 'loading' } | { kind: 'gone' } | { kind: 'offline' } | { kind: 'ok'; status: PublicStatus };

export function PatientStatus() {
  usePageTitle('Sua vez');
  const { token = '' } = useParams();
  const [state, setState] = useState<Load>({ kind: 'loading' });
  const [live, setLive] = useState(false);

  const fetchStatus = useCallback(async () => {
    try {
      const response = await fetch(`/api/public/status/${encodeURIComponent(token)}`, { cache: 'no-store' });
      if (response.status === 404) setState({ kind: 'gone' });
      else if (response.ok) setState({ kind: 'ok', status: (await response.json()) as PublicStatus });
      else setState((s) => (s.kind === 'ok' ? s : { kind: 'offline' }));
    } catch {
      setState((s) => (s.kind === 'ok' ? s : { kind: 'offline' }));
    }
  }, [token]);

  useEffect(() => {
    void fetchStatus();
    const socket = io({ auth: { statusToken: token }, transports: ['websocket', 'polling'] });
    socket.on('patient.status', (status: PublicStatus) => setState({ kind: 'ok', status }));
    socket.on('connect', () => {
      setLive(true);
      void fetchStatus();
    });
    socket.on('disconnect', (reason) => {
      setLive(false);
      // Revoked or expired: the server closed it; the page then says so.
      if (reason === 'io server disconnect') void fetchStatus();
    });
    socket.on('connect_error', (err: Error) => {
      setLive(false);
      if (err.message === 'invalid token') {
        socket.disconnect();
        void fetchStatus();
      }
    });
    // A phone that slept may have missed updates: look again when the page is shown.
    const onVisible = () => document.visibilityState === 'visible' && void fetchStatus();
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      document.removeEventListener('visibilitychange', onVisible);
      socket.disconnect();
    };
  }, [token, fetchStatus]);

  return (
    <div className="patient-page">
      <main className="patient-card">
        {state.kind === 'loading' && <p className="muted">Carregando…</p>}
        {state.kind === 'offline' && <p className="muted">Sem conexão. Tentando de novo…</p>}
        {state.kind === 'gone' && (
          <div data-testid="patient-status" data-status="GONE">
            <h1>Link expirado</h1>
            <p className="muted">Este link não vale mais. Se ainda estiver na clínica, fale com a recepção.</p>
          </div>
        )}
        {state.kind === 'ok' && <StatusView status={state.status} live={live} />}
      </main>
      <footer className="patient-foot">Fila · acompanhamento do atendimento</footer>
    </div>
  );
}

function StatusView({ status, live }: { status: PublicStatus; live: boolean }) {
  const key = status.status.key;
  const where = status.doctor?.room || status.doctor?.name || '';
  return (
    <div data-testid="patient-status" data-status={key} data-ahead={status.ahead} className={`patient-status ps-${key.toLowerCase()}`}>
      <p className="patient-hello">Olá, {status.firstName}</p>
      <h1 className="patient-headline" data-testid="patient-headline">{headline(key, where)}</h1>
      {status.doctor && (
        <p className="patient-doctor">
          {status.doctor.name}
          {status.doctor.room ? ` · ${status.doctor.room}` : ''}
        </p>
      )}
      {key === 'CHECKIN' && (
        <div className="patient-facts">
          <div className="fact">
            <span className="fact-value" data-testid="patient-ahead">{status.ahead}</span>
            <span className="fact-label">{status.ahead === 1 ? 'pessoa na sua frente' : 'pessoas na sua frente'}</span>
          </div>
          <div className="fact">
            <span className="fact-value" data-testid="patient-estimate">{estimateText(status.estimate)}</span>
            <span className="fact-label">espera estimada</span>
          </div>
        </div>
      )}
      {key === 'CHECKIN' && (
        <p className="muted small">
          {status.ahead === 0 ? 'Você é o próximo. ' : ''}A ordem segue a prioridade legal e a hora de chegada. Fique atento
          ao painel.
        </p>
      )}
      <p className={`patient-live ${live ? 'on' : ''}`}>{live ? '● atualizando ao vivo' : '○ reconectando…'}</p>
    </div>
  );
}

function headline(key: string, where: string): string {
  switch (key) {
    case 'CHECKIN':
      return 'Aguardando';
    case 'EM_ATENDIMENTO':
      return where ? `Chamado — dirija-se à ${where}` : 'Chamado — dirija-se ao atendimento';
    case 'FINALIZADO':
      return 'Atendido';
    case 'AGENDADO':
    case 'CONFIRMADO':
      return 'Agendado — faça o check-in na recepção ou no totem';
    case 'CANCELADO':
      return 'Agendamento cancelado';
    case 'FALTOU':
      return 'Ausência registrada';
    default:
      return key;
  }
}

export function estimateText(estimate: WaitEstimate | null): string {
  if (!estimate) return '—';
  if (estimate.p90Minutes <= 1) return 'menos de 1 min';
  if (estimate.p50Minutes === estimate.p90Minutes) return `${estimate.p50Minutes} min`;
  return `${estimate.p50Minutes}–${estimate.p90Minutes} min`;
}
