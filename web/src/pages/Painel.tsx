// Painel (TV): the current call in very large type, the doctor's room, the last few calls and a
// chime per call. It runs unattended for days: it logs in with an API key stored in this
// browser, renews its own token, reconnects by itself, and follows the clinic's day.

import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { ApiClient } from '../api/client';
import type { Account, Appointment, LiveEvent } from '../api/types';
import { panelKiosk } from '../auth/kioskSession';
import { playChime, soundBlocked, unlockSound } from '../lib/chime';
import { dayOf, formatClock, formatDay, panelName } from '../lib/format';
import { spokenCall } from '../lib/callName';
import { compareQueue } from '../lib/priority';
import { STATUS } from '../lib/status';
import { loadSpeechSettings, portugueseVoices, saveSpeechSettings, speak, speechAvailable, type SpeechSettings } from '../lib/speech';
import { useLiveStatus, useNow, useSessionToken, usePageTitle } from '../lib/hooks';
import { appointmentOf } from '../live/lists';
import { LiveSocket } from '../live/socket';
import { useFeed } from '../live/useFeed';
import { KioskGate } from '../components/KioskSetup';
import { LiveBadge } from '../components/LiveBadge';

const SHOWN_CALLS = 6;
const SHOWN_NEXT = 5;
/** The spoken call starts once the chime has rung. */
const SPEAK_AFTER_MS = 1_300;
const MUTE_KEY = 'fila.painel.muted';
const ACCOUNT_REFRESH_MS = 5 * 60_000;
const RETRY_MS = 5_000;

export function Painel() {
  usePageTitle('Painel');
  // The activating click is the gesture browsers require before playing sound.
  return <KioskGate kiosk={panelKiosk} onActivated={() => void unlockSound()} screen={(onForget) => <PanelScreen onForget={onForget} />} />;
}

function PanelScreen({ onForget }: { onForget: () => void }) {
  const api = useMemo(() => new ApiClient(panelKiosk.session), []);
  const token = useSessionToken(panelKiosk.session);
  const [socket, setSocket] = useState<LiveSocket | null>(null);
  const [account, setAccount] = useState<Account | null>(null);
  const [calls, setCalls] = useState<Appointment[]>([]);
  const [waiting, setWaiting] = useState<Map<number, Appointment>>(new Map());
  const [loaded, setLoaded] = useState(false);
  const [speech, setSpeech] = useState<SpeechSettings>(loadSpeechSettings);
  const [voiceMenu, setVoiceMenu] = useState(false);
  const [recalls, setRecalls] = useState<{ n: number; appointment: Appointment | null }>({ n: 0, appointment: null });
  const speechRef = useRef(speech);
  speechRef.current = speech;
  const [muted, setMuted] = useState(() => localStorage.getItem(MUTE_KEY) === '1');
  const [blocked, setBlocked] = useState(false);
  const [flash, setFlash] = useState(0);
  const [skewMs, setSkewMs] = useState(0);
  const announced = useRef<string | null>(null);
  const mutedRef = useRef(muted);
  mutedRef.current = muted;
  const status = useLiveStatus(socket);
  const localNow = useNow(1000);
  const now = localNow + skewMs;

  // Keep a token: trade the key at start and whenever the token goes away (retrying if offline).
  useEffect(() => {
    panelKiosk.session.start();
    return () => panelKiosk.session.stop();
  }, []);
  useEffect(() => {
    if (token) return;
    if (!panelKiosk.apiKey()) {
      onForget();
      return;
    }
    void panelKiosk.session.refresh();
    const timer = setInterval(() => {
      if (!panelKiosk.apiKey()) onForget();
      else void panelKiosk.session.refresh();
    }, RETRY_MS);
    return () => clearInterval(timer);
  }, [token, onForget]);

  useEffect(() => {
    if (!token || socket) return;
    const live = new LiveSocket(panelKiosk.session);
    live.start();
    setSocket(live);
  }, [token, socket]);
  useEffect(() => () => socket?.close(), [socket]);

  // The clinic's day and clock; re-read now and then so the panel rolls over at midnight.
  const hasToken = token !== null;
  useEffect(() => {
    if (!hasToken) return;
    let cancelled = false;
    const read = () =>
      api
        .get<Account>('/api/account')
        .then(({ data }) => {
          if (cancelled) return;
          setAccount(data);
          const skew = Date.parse(data.now) - Date.now();
          setSkewMs(Number.isFinite(skew) ? skew : 0);
        })
        .catch(() => !cancelled && setAccount((a) => a ?? fallbackAccount()));
    void read();
    const timer = setInterval(read, ACCOUNT_REFRESH_MS);
    return () => {
      cancelled = true;
      clearInterval(timer);
    };
  }, [api, hasToken]);

  const today = account?.today ?? '';

  const load = useCallback(async () => {
    const dateParam = today ? `date=${today}&` : '';
    const { data, seq } = await api.get<Appointment[]>(`/api/appointments/calls?${dateParam}limit=${SHOWN_CALLS}`);
    const queue = await api.get<Appointment[]>(`/api/appointments/queue?${dateParam}`.replace(/[?&]$/, ''));
    setWaiting(new Map(queue.data.filter((a) => a.status.name === STATUS.CHECKIN).map((a) => [a.id, a])));
    const list = sortCalls(data);
    announced.current = callKey(list[0]); // what was already called before we looked: no chime
    setCalls(list);
    setLoaded(true);
    return seq;
  }, [api, today]);

  const apply = useCallback(
    (event: LiveEvent) => {
      if (event.event === 'appointments.recalled') {
        const again = event.data as Appointment | null;
        if (again && typeof again.id === 'number') setRecalls((r) => ({ n: r.n + 1, appointment: again }));
        return;
      }
      const a = appointmentOf(event);
      if (!a) return;
      setWaiting((current) => {
        const next = new Map(current);
        const waits = a.status.name === STATUS.CHECKIN && !a.deletedAt && (!today || dayOf(a.date) === today);
        if (waits) next.set(a.id, a);
        else next.delete(a.id);
        return next;
      });
      setCalls((current) => {
        const rest = current.filter((c) => c.id !== a.id);
        const called = a.calledAt && !a.deletedAt && (!today || dayOf(a.date) === today);
        return called ? sortCalls([a, ...rest]).slice(0, SHOWN_CALLS) : rest;
      });
    },
    [today],
  );

  // A new call on top (a new patient, or the same one called again): flash and chime.
  useEffect(() => {
    const key = callKey(calls[0]);
    if (key === announced.current) return;
    announced.current = key;
    if (!key) return;
    announce(calls[0]);
  }, [calls]);

  // "Rechamar" on a staff screen: the same call again, chime and voice.
  useEffect(() => {
    if (recalls.appointment) announce(recalls.appointment);
  }, [recalls]);

  function announce(call: Appointment | undefined) {
    if (!call) return;
    setFlash((n) => n + 1);
    if (mutedRef.current) return;
    playChime();
    const text = spokenCall(call.patient?.name, call.doctor?.room, call.doctor?.name);
    setTimeout(() => speak(text, speechRef.current), SPEAK_AFTER_MS);
  }

  const changeSpeech = (next: SpeechSettings) => {
    setSpeech(next);
    saveSpeechSettings(next);
  };

  const upNext = useMemo(() => [...waiting.values()].sort(compareQueue).slice(0, SHOWN_NEXT), [waiting]);

  useFeed(account ? api : null, socket, today, load, apply);

  useEffect(() => {
    const check = () => setBlocked(!muted && soundBlocked());
    check();
    const timer = setInterval(check, 2000);
    return () => clearInterval(timer);
  }, [muted]);

  const toggleMute = () => {
    const next = !muted;
    setMuted(next);
    localStorage.setItem(MUTE_KEY, next ? '1' : '0');
    if (!next) void unlockSound().then(playChime);
  };

  const current = calls[0] ?? null;
  const history = calls.slice(1);
  const timeZone = account?.timeZone;

  return (
    <div className="painel" onClick={() => blocked && void unlockSound().then(() => setBlocked(soundBlocked()))}>
      <header className="painel-head">
        <div className="painel-brand">
          <span className="logo" aria-hidden>F</span>
          <span>{account?.name ?? 'Fila'}</span>
        </div>
        <div className="painel-clock">
          <span className="painel-date capitalize">{today ? formatDay(today) : ''}</span>
          <span className="painel-time">{formatClock(new Date(now).toISOString(), timeZone)}</span>
        </div>
        <div className="painel-controls">
          <LiveBadge status={status} />
          <button className="pbtn" onClick={toggleMute} data-testid="mute" aria-pressed={muted}>
            <SpeakerIcon muted={muted} />
            {muted ? 'Som desligado' : 'Som ligado'}
          </button>
          {speechAvailable() && (
            <button className="pbtn" onClick={() => setVoiceMenu((v) => !v)} data-testid="speech-menu" aria-expanded={voiceMenu}>
              Voz {speech.on ? 'ligada' : 'desligada'}
            </button>
          )}
          <button className="pbtn" onClick={() => void document.documentElement.requestFullscreen?.().catch(() => {})}>
            Tela cheia
          </button>
          <button
            className="pbtn pbtn-quiet"
            title="Remover a chave deste navegador"
            onClick={() => {
              if (window.confirm('Remover a chave de API deste navegador? O painel vai pedir uma nova.')) {
                panelKiosk.forgetApiKey();
                onForget();
              }
            }}
          >
            Trocar chave
          </button>
        </div>
      </header>

      {voiceMenu && <SpeechMenu settings={speech} onChange={changeSpeech} onClose={() => setVoiceMenu(false)} />}

      <main className="painel-main">
        <section className={`painel-current ${current ? '' : 'is-empty'}`} data-testid="painel-current" data-appointment-id={current?.id ?? ''} data-loaded={loaded} key={flash}>
          {current ? (
            <>
              <span className="painel-label">Chamando agora</span>
              <span className="painel-name">{panelName(current.patient?.name, account?.panelNameStyle)}</span>
              {current.doctor?.room && <span className="painel-room">{current.doctor.room}</span>}
              <span className="painel-doctor">{current.doctor?.name ?? ''}</span>
            </>
          ) : (
            <span className="painel-idle">Aguarde ser chamado pelo nome nesta tela</span>
          )}
        </section>

        <aside className="painel-history">
          <h2>Últimas chamadas</h2>
          <ol data-testid="painel-history">
            {history.length === 0 && <li className="painel-none">—</li>}
            {history.map((c) => (
              <li key={c.id} data-appointment-id={c.id}>
                <span className="h-name">{panelName(c.patient?.name, account?.panelNameStyle)}</span>
                <span className="h-where">
                  {c.doctor?.room ?? c.doctor?.name ?? ''}
                  <span className="h-time">{formatClock(c.calledAt, timeZone)}</span>
                </span>
              </li>
            ))}
          </ol>
        </aside>
      </main>

      <footer className="painel-next" data-testid="painel-next">
        <span className="painel-next-label">Próximos</span>
        <ol>
          {upNext.length === 0 && <li className="painel-none">—</li>}
          {upNext.map((a) => (
            <li key={a.id} data-appointment-id={a.id}>
              {panelName(a.patient?.name)}
            </li>
          ))}
        </ol>
      </footer>

      {blocked && (
        <div className="painel-sound-hint" role="button">
          Toque na tela para ativar o som das chamadas
        </div>
      )}
    </div>
  );
}

function SpeechMenu({ settings, onChange, onClose }: { settings: SpeechSettings; onChange: (s: SpeechSettings) => void; onClose: () => void }) {
  const [voices, setVoices] = useState<SpeechSynthesisVoice[]>(portugueseVoices);
  useEffect(() => {
    const update = () => setVoices(portugueseVoices());
    window.speechSynthesis.addEventListener('voiceschanged', update);
    return () => window.speechSynthesis.removeEventListener('voiceschanged', update);
  }, []);
  return (
    <div className="painel-speech" data-testid="speech-settings">
      <label className="check">
        <input type="checkbox" checked={settings.on} onChange={(e) => onChange({ ...settings, on: e.target.checked })} data-testid="speech-toggle" />
        Falar o nome nas chamadas
      </label>
      <label>
        Voz
        <select value={settings.voice} onChange={(e) => onChange({ ...settings, voice: e.target.value })} data-testid="speech-voice">
          <option value="">Padrão (português do Brasil)</option>
          {voices.map((v) => (
            <option key={v.voiceURI} value={v.voiceURI}>
              {v.name} ({v.lang})
            </option>
          ))}
        </select>
      </label>
      <label>
        Volume
        <input
          type="range"
          min={0}
          max={1}
          step={0.1}
          value={settings.volume}
          onChange={(e) => onChange({ ...settings, volume: Number(e.target.value) })}
          data-testid="speech-volume"
        />
      </label>
      <button className="pbtn" onClick={() => speak('Valentina A., Sala 1', settings)}>
        Testar
      </button>
      <button className="pbtn pbtn-quiet" onClick={onClose}>
        Fechar
      </button>
    </div>
  );
}

function SpeakerIcon({ muted }: { muted: boolean }) {
  return (
    <svg width="18" height="18" viewBox="0 0 24 24" aria-hidden fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round">
      <path d="M11 5 6 9H3v6h3l5 4z" fill="currentColor" />
      {muted ? <path d="m16 9 5 6m0-6-5 6" /> : <path d="M15.5 8.5a5 5 0 0 1 0 7M18.5 5.5a9 9 0 0 1 0 13" />}
    </svg>
  );
}

function callKey(call: Appointment | undefined): string | null {
  return call ? `${call.id}@${call.calledAt}` : null;
}

function sortCalls(list: Appointment[]): Appointment[] {
  return list
    .filter((c) => c.calledAt)
    .sort((a, b) => (b.calledAt ?? '').localeCompare(a.calledAt ?? '') || b.id - a.id);
}

/** When `GET /api/account` is not open to an API-key token: the calls endpoint defaults to today. */
function fallbackAccount(): Account {
  return { id: 0, name: 'Fila', today: '', now: new Date().toISOString(), timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone, waitWarnMinutes: 15, waitAlertMinutes: 30, lastSeq: 0 };
}
