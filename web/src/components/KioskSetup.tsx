// The setup of an unattended screen (the TV panel, the totem): paste an API key, or, for a
// master logged in on this browser, create one of the screen's scope in one click. The key is
// checked by trading it for a token before it is kept.

import { useCallback, useEffect, useState, type FormEvent, type ReactNode } from 'react';
import { ApiClient } from '../api/client';
import { describeError } from '../api/errors';
import type { KioskScope, KioskSession } from '../auth/kioskSession';
import { userSession } from '../auth/sessions';
import { useSessionToken } from '../lib/hooks';

interface SetupTexts {
  /** Prefix of the `data-testid`s: `<prefix>-setup`, `<prefix>-create-key`. */
  testId: string;
  className: string;
  title: string;
  intro: ReactNode;
  activate: string;
  checking: string;
  create: string;
  /** The created key is named "<keyName> dd/mm/aaaa". */
  keyName: string;
  /** Said when the pasted key is refused; without it, the server's answer is said. */
  rejected?: string;
  /** Said when the stored key stopped being accepted and the setup shows again. */
  refused?: string;
  autoFocus: boolean;
}

const TEXTS: Record<KioskScope, SetupTexts> = {
  panel: {
    testId: 'painel',
    className: 'painel painel-setup',
    title: 'Configurar o painel',
    intro: (
      <>
        Cole a chave de API que o usuário master criou em <strong>Acesso à API</strong>. Ela fica guardada neste
        navegador e o painel se conecta sozinho, mesmo depois de reiniciar.
      </>
    ),
    activate: 'Ativar painel',
    checking: 'Verificando…',
    create: 'Criar uma chave para este painel',
    keyName: 'Painel',
    rejected: 'Chave recusada pelo servidor. Confira e tente de novo.',
    refused:
      'A chave de API deste painel foi revogada ou não é mais aceita, e o painel parou de mostrar as chamadas. Peça ao usuário master uma nova chave em Acesso à API e cole-a abaixo.',
    autoFocus: true,
  },
  kiosk: {
    testId: 'totem',
    className: 'totem totem-setup',
    title: 'Configurar o totem',
    intro: (
      <>
        Cole a chave de API criada pelo usuário master em <strong>Acesso à API</strong>. Ela fica guardada neste
        navegador e o totem se conecta sozinho.
      </>
    ),
    activate: 'Ativar totem',
    checking: 'Ativar totem',
    create: 'Criar uma chave para este totem',
    keyName: 'Totem',
    autoFocus: false,
  },
};

/**
 * Shows the setup until the kiosk has a key, then its screen. `screen` gets the callback that
 * brings the setup back (the screen's "forget the key" button, or a key refused meanwhile).
 * `onActivated` runs in the click that activated the key (the panel unlocks its sound there).
 */
export function KioskGate({
  kiosk,
  onActivated,
  screen,
}: {
  kiosk: KioskSession;
  onActivated?: () => void;
  screen: (onForget: () => void) => ReactNode;
}) {
  const [hasKey, setHasKey] = useState(() => kiosk.apiKey() !== null);
  useSessionToken(kiosk.session); // re-render when a refused key is forgotten
  const forget = useCallback(() => setHasKey(false), []);
  if (!hasKey || kiosk.apiKey() === null) {
    return (
      <KioskSetup
        kiosk={kiosk}
        onReady={() => {
          onActivated?.();
          setHasKey(true);
        }}
      />
    );
  }
  return screen(forget);
}

export function KioskSetup({ kiosk, onReady }: { kiosk: KioskSession; onReady: () => void }) {
  const texts = TEXTS[kiosk.scope];
  const [key, setKey] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(() => (texts.refused && kiosk.wasRefused() ? texts.refused : null));
  const isMaster = useIsMaster();

  const run = async (work: () => Promise<void>, explain: (err: unknown) => string) => {
    setBusy(true);
    setError(null);
    try {
      await work();
      onReady();
    } catch (err) {
      setError(explain(err));
    } finally {
      setBusy(false);
    }
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    void run(
      () => kiosk.activate(key),
      // A refusal is a RenewError (it has a `kind`); a network failure an ApiError.
      (err) => (texts.rejected && err instanceof Error && 'kind' in err ? texts.rejected : describeError(err)),
    );
  };

  // A master already logged in on this browser releases a key for this screen in one click.
  const createHere = () =>
    run(async () => {
      const created = await new ApiClient(userSession).post<{ key: string }>('/api/api-keys', {
        name: `${texts.keyName} ${new Date().toLocaleDateString('pt-BR')}`,
        scope: kiosk.scope,
      });
      await kiosk.activate(created.data.key);
    }, describeError);

  return (
    <main className={texts.className}>
      <form className="setup-card" onSubmit={submit} data-testid={`${texts.testId}-setup`}>
        <h1>{texts.title}</h1>
        <p>{texts.intro}</p>
        <label className="field">
          <span>Chave de API</span>
          <input
            name="apiKey"
            autoComplete="off"
            spellCheck={false}
            value={key}
            onChange={(e) => setKey(e.target.value)}
            required
            autoFocus={texts.autoFocus}
          />
        </label>
        {error && <p className="form-error" role="alert">{error}</p>}
        <button className="btn btn-primary btn-block" type="submit" disabled={busy || !key.trim()}>
          {busy ? texts.checking : texts.activate}
        </button>
        {isMaster && (
          <button className="btn btn-block" type="button" disabled={busy} onClick={() => void createHere()} data-testid={`${texts.testId}-create-key`}>
            {texts.create}
          </button>
        )}
      </form>
    </main>
  );
}

/** Whether the staff session of this browser belongs to the master user. */
function useIsMaster(): boolean {
  const [isMaster, setIsMaster] = useState(false);
  useEffect(() => {
    if (!userSession.isLoggedIn()) return;
    let live = true;
    new ApiClient(userSession)
      .get<{ isMaster: boolean }>('/api/me')
      .then((me) => { if (live) setIsMaster(me.data.isMaster); })
      .catch(() => { /* not logged in any more: the key form stays */ });
    return () => { live = false; };
  }, []);
  return isMaster;
}
