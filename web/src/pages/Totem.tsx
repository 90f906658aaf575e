// Totem (/totem): self check-in on a tablet at the entrance. It logs in with an API key kept in
// this browser, like the TV panel (a master logged in here sets it up in one click). The
// patient types their CPF and birth date on a large keypad, sees today's appointments (first
// name, doctor, time), may declare a legal priority, confirms, and gets their place, the
// estimated wait and a QR code for their live status page, with a ticket to print.

import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import QRCode from 'qrcode';
import { ApiClient } from '../api/client';
import { ApiError, describeError } from '../api/errors';
import type { SelfCheckinAppointment } from '../api/types';
import { totemKiosk } from '../auth/kioskSession';
import { KioskGate } from '../components/KioskSetup';
import { usePageTitle, useSessionToken } from '../lib/hooks';
import { PRIORITY_FLAGS } from '../lib/priority';
import { estimateText } from './PatientStatus';

const RESET_AFTER_MS = 60_000;

export function Totem() {
  usePageTitle('Totem');
  return <KioskGate kiosk={totemKiosk} screen={(onForget) => <TotemScreen onForget={onForget} />} />;
}

type Step =
  | { kind: 'cpf' }
  | { kind: 'birth' }
  | { kind: 'confirm'; appointments: SelfCheckinAppointment[] }
  | { kind: 'done'; appointments: SelfCheckinAppointment[] };

function TotemScreen({ onForget }: { onForget: () => void }) {
  const api = useMemo(() => new ApiClient(totemKiosk.session), []);
  const token = useSessionToken(totemKiosk.session);
  const [step, setStep] = useState<Step>({ kind: 'cpf' });
  const [cpf, setCpf] = useState('');
  const [birth, setBirth] = useState('');
  const [flags, setFlags] = useState<string[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const idleTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  useEffect(() => {
    totemKiosk.session.start();
    return () => totemKiosk.session.stop();
  }, []);
  useEffect(() => {
    if (token) return;
    if (!totemKiosk.apiKey()) {
      onForget();
      return;
    }
    void totemKiosk.session.refresh();
  }, [token, onForget]);

  const reset = useCallback(() => {
    setStep({ kind: 'cpf' });
    setCpf('');
    setBirth('');
    setFlags([]);
    setError(null);
  }, []);

  // Nobody touches the screen for a minute: back to the start, forgetting what was typed.
  useEffect(() => {
    clearTimeout(idleTimer.current);
    if (step.kind === 'cpf' && cpf === '') return;
    idleTimer.current = setTimeout(reset, RESET_AFTER_MS);
    return () => clearTimeout(idleTimer.current);
  }, [step, cpf, birth, flags, reset]);

  const send = async (dryRun: boolean) => {
    setBusy(true);
    setError(null);
    try {
      const body = { cpf, dateBirth: birthIso(birth), dryRun, ...(dryRun || flags.length === 0 ? {} : { priorityFlags: flags }) };
      const { data } = await api.post<{ appointments: SelfCheckinAppointment[] }>('/api/self-checkin', body);
      setStep(dryRun ? { kind: 'confirm', appointments: data.appointments } : { kind: 'done', appointments: data.appointments });
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        setError('Não encontramos agendamento para hoje com estes dados. Confira e tente de novo, ou procure a recepção.');
        setStep({ kind: 'cpf' });
        setCpf('');
        setBirth('');
      } else if (err instanceof ApiError && err.status === 429) {
        setError('Muitas tentativas seguidas. Aguarde um minuto ou procure a recepção.');
      } else {
        setError(describeError(err));
      }
    } finally {
      setBusy(false);
    }
  };

  const digits = step.kind === 'cpf' ? cpf : birth;
  const setDigits = step.kind === 'cpf' ? setCpf : setBirth;
  const max = step.kind === 'cpf' ? 11 : 8;
  const press = useCallback(
    (key: string) => {
      if (key === 'back') setDigits((d) => d.slice(0, -1));
      else if (key === 'clear') setDigits('');
      else setDigits((d) => (d.length < max ? d + key : d));
    },
    [setDigits, max],
  );
  const next = () => {
    if (step.kind === 'cpf' && cpf.length === 11) setStep({ kind: 'birth' });
    else if (step.kind === 'birth' && birthIso(birth)) void send(true);
  };

  // A physical keyboard works too.
  useEffect(() => {
    if (step.kind !== 'cpf' && step.kind !== 'birth') return;
    const onKey = (e: KeyboardEvent) => {
      if (/^\d$/.test(e.key)) press(e.key);
      else if (e.key === 'Backspace') press('back');
      else if (e.key === 'Enter') next();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  });

  return (
    <div className="totem" data-testid="totem" data-step={step.kind}>
      <header className="totem-head">
        <span className="logo" aria-hidden>F</span>
        <span>Check-in</span>
        <button
          className="pbtn pbtn-quiet totem-forget"
          onClick={() => {
            if (window.confirm('Remover a chave de API deste totem?')) {
              totemKiosk.forgetApiKey();
              onForget();
            }
          }}
        >
          ⚙
        </button>
      </header>
      <main className="totem-main">
        {error && <p className="totem-error" role="alert" data-testid="totem-error">{error}</p>}
        {(step.kind === 'cpf' || step.kind === 'birth') && (
          <section className="totem-entry">
            <h1>{step.kind === 'cpf' ? 'Digite seu CPF' : 'Digite sua data de nascimento'}</h1>
            <output className="totem-display" data-testid={step.kind === 'cpf' ? 'totem-cpf' : 'totem-birth'}>
              {step.kind === 'cpf' ? maskCpf(cpf) : maskBirth(birth)}
            </output>
            <Keypad onPress={press} />
            <div className="totem-actions">
              {step.kind === 'birth' && (
                <button className="tbtn tbtn-ghost" onClick={() => setStep({ kind: 'cpf' })}>
                  Voltar
                </button>
              )}
              <button
                className="tbtn tbtn-primary"
                data-testid="totem-next"
                disabled={busy || digits.length !== max || (step.kind === 'birth' && !birthIso(birth))}
                onClick={next}
              >
                {busy ? 'Procurando…' : 'Avançar'}
              </button>
            </div>
          </section>
        )}
        {step.kind === 'confirm' && (
          <section className="totem-confirm">
            <h1>Olá, {step.appointments[0]?.firstName}!</h1>
            <p>Seus atendimentos de hoje:</p>
            <ul className="totem-list">
              {step.appointments.map((a) => (
                <li key={a.id}>
                  <strong>{a.startTime}</strong> · {a.doctor?.name ?? 'Atendimento'}
                  {a.doctor?.room ? ` · ${a.doctor.room}` : ''}
                  {a.status !== 'Agendado' && a.status !== 'Confirmado' && <span className="muted"> (check-in já feito)</span>}
                </li>
              ))}
            </ul>
            <fieldset className="totem-flags">
              <legend>Tem direito a atendimento prioritário? (opcional)</legend>
              {PRIORITY_FLAGS.map((f) => (
                <label key={f.value} className="totem-flag">
                  <input
                    type="checkbox"
                    name={f.value}
                    checked={flags.includes(f.value)}
                    onChange={(e) => setFlags((all) => (e.target.checked ? [...all, f.value] : all.filter((x) => x !== f.value)))}
                  />
                  {f.label}
                </label>
              ))}
              <p className="muted small">Pessoas com 60 anos ou mais já têm prioridade pela data de nascimento.</p>
            </fieldset>
            <div className="totem-actions">
              <button className="tbtn tbtn-ghost" onClick={reset}>
                Cancelar
              </button>
              <button className="tbtn tbtn-primary" data-testid="totem-confirm" disabled={busy} onClick={() => void send(false)}>
                {busy ? 'Confirmando…' : 'Confirmar check-in'}
              </button>
            </div>
          </section>
        )}
        {step.kind === 'done' && <Done appointments={step.appointments} onDone={reset} />}
      </main>
    </div>
  );
}

function Done({ appointments, onDone }: { appointments: SelfCheckinAppointment[]; onDone: () => void }) {
  return (
    <section className="totem-done" data-testid="totem-done">
      <h1>Check-in feito, {appointments[0]?.firstName}!</h1>
      {appointments.map((a) => (
        <TicketCard key={a.id} appointment={a} />
      ))}
      <div className="totem-actions no-print">
        <button className="tbtn tbtn-ghost" onClick={() => window.print()} data-testid="totem-print">
          Imprimir senha
        </button>
        <button className="tbtn tbtn-primary" onClick={onDone}>
          Concluir
        </button>
      </div>
    </section>
  );
}

function TicketCard({ appointment: a }: { appointment: SelfCheckinAppointment }) {
  const [qr, setQr] = useState<string | null>(null);
  useEffect(() => {
    if (!a.url) return;
    let live = true;
    void QRCode.toDataURL(a.url, { margin: 1, width: 220 }).then((image) => live && setQr(image));
    return () => {
      live = false;
    };
  }, [a.url]);
  return (
    <div className="ticket" data-testid="totem-ticket" data-appointment-id={a.id} data-position={a.position ?? ''}>
      <div className="ticket-facts">
        <p className="ticket-doctor">
          {a.doctor?.name ?? 'Atendimento'} {a.doctor?.room ? `· ${a.doctor.room}` : ''} · {a.startTime}
        </p>
        {a.position !== null ? (
          <p className="ticket-place">
            <span className="ticket-big">{a.position}º</span> na fila
          </p>
        ) : (
          <p className="ticket-place">Você já está sendo chamado.</p>
        )}
        <p>
          Espera estimada: <strong>{estimateText(a.estimate)}</strong>
        </p>
        <p className="muted small">Acompanhe pelo celular: aponte a câmera para o QR code.</p>
      </div>
      {qr && <img src={qr} alt="QR code do acompanhamento" width={220} height={220} data-testid="totem-qr" />}
    </div>
  );
}

function Keypad({ onPress }: { onPress: (key: string) => void }) {
  const keys = ['1', '2', '3', '4', '5', '6', '7', '8', '9', 'clear', '0', 'back'];
  return (
    <div className="keypad" data-testid="keypad">
      {keys.map((k) => (
        <button key={k} className={`key ${k.length > 1 ? 'key-fn' : ''}`} data-key={k} onClick={() => onPress(k)}>
          {k === 'back' ? '⌫' : k === 'clear' ? 'Limpar' : k}
        </button>
      ))}
    </div>
  );
}

function maskCpf(d: string): string {
  const padded = d.padEnd(11, '_');
  return `${padded.slice(0, 3)}.${padded.slice(3, 6)}.${padded.slice(6, 9)}-${padded.slice(9, 11)}`;
}

function maskBirth(d: string): string {
  const padded = d.padEnd(8, '_');
  return `${padded.slice(0, 2)}/${padded.slice(2, 4)}/${padded.slice(4, 8)}`;
}

/** DDMMAAAA → YYYY-MM-DD, or null when it is not a real date. */
function birthIso(d: string): string | null {
  if (!/^\d{8}$/.test(d)) return null;
  const [dd, mm, yyyy] = [d.slice(0, 2), d.slice(2, 4), d.slice(4, 8)];
  const date = new Date(Date.UTC(Number(yyyy), Number(mm) - 1, Number(dd)));
  if (date.getUTCDate() !== Number(dd) || date.getUTCMonth() !== Number(mm) - 1 || Number(yyyy) < 1900) return null;
  return `${yyyy}-${mm}-${dd}`;
}
