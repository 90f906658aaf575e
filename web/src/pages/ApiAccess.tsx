// Acesso à API (master only): the "liberação" of the accessToken. Create a key (shown once,
// with a curl line that trades it for a token), list and revoke keys, and hand a key to the
// TV panel of this browser. Also the clinic's wait thresholds, which only the master may set.

import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { describeError } from '../api/errors';
import type { Account, ApiKey, ApiKeyScope } from '../api/types';
import { panelKiosk } from '../auth/kioskSession';
import { useStaff } from '../components/StaffContext';
import { useToast } from '../components/Toasts';
import { MoveButton } from '../components/MoveButton';
import { usePageTitle } from '../lib/hooks';
import { formatInstant } from '../lib/format';

export function ApiAccess() {
  usePageTitle('Acesso à API');
  const { me } = useStaff();
  if (!me.isMaster) {
    return (
      <section className="narrow">
        <h1>Acesso à API</h1>
        <div className="card">
          <p>Apenas o usuário master da clínica pode liberar o acesso à API.</p>
        </div>
      </section>
    );
  }
  return (
    <section className="narrow api-access">
      <div className="page-head">
        <div>
          <h1>Acesso à API</h1>
          <p className="muted">
            Chaves para integrações, para o painel da sala de espera e para o totem. Cada chave só faz o que o seu
            tipo permite e é trocada por um token de acesso válido por 1 hora.
          </p>
        </div>
      </div>
      <ApiKeys />
      <WaitSettings />
      <TimeZoneSettings />
    </section>
  );
}

/** The scopes a key may have, as the master reads them. */
const SCOPES: { value: ApiKeyScope; label: string; hint: string }[] = [
  { value: 'integration', label: 'Integração', hint: 'acesso completo da equipe (sem as funções do master)' },
  { value: 'panel', label: 'Painel', hint: 'só as chamadas e a fila de hoje, sem CPF, telefone, nascimento ou observações' },
  { value: 'kiosk', label: 'Totem', hint: 'só o check-in pelo próprio paciente' },
];

const scopeLabel = (scope: ApiKeyScope | undefined) => SCOPES.find((s) => s.value === (scope ?? 'integration'))?.label ?? scope;

function ApiKeys() {
  const { api, account } = useStaff();
  const toast = useToast();
  const [keys, setKeys] = useState<ApiKey[] | null>(null);
  const [name, setName] = useState('');
  const [scope, setScope] = useState<ApiKeyScope>('integration');
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<ApiKey | null>(null);

  const load = useCallback(async () => {
    try {
      const { data } = await api.get<ApiKey[]>('/api/api-keys?limit=100');
      setKeys(data);
    } catch (err) {
      toast.show(describeError(err), 'error');
      setKeys([]);
    }
  }, [api, toast]);

  useEffect(() => void load(), [load]);

  const create = async (event: FormEvent) => {
    event.preventDefault();
    if (!name.trim()) return;
    setBusy(true);
    try {
      const { data } = await api.post<ApiKey>('/api/api-keys', { name: name.trim(), scope });
      setCreated(data);
      setName('');
      await load();
    } catch (err) {
      toast.show(describeError(err), 'error');
    } finally {
      setBusy(false);
    }
  };

  const revoke = async (key: ApiKey) => {
    try {
      await api.delete(`/api/api-keys/${key.id}`);
      if (created?.id === key.id) setCreated(null);
      toast.show(`Chave “${key.name}” revogada.`, 'success');
      await load();
    } catch (err) {
      toast.show(describeError(err), 'error');
    }
  };

  return (
    <>
      <div className="card">
        <h2 className="card-title">Nova chave</h2>
        <form className="inline-form" onSubmit={create}>
          <label className="field grow">
            <span>Nome (para quem é a chave)</span>
            <input
              name="keyName"
              placeholder="Ex.: Painel da recepção, Integração do site"
              value={name}
              onChange={(e) => setName(e.target.value)}
            />
          </label>
          <label className="field">
            <span>O que a chave pode fazer</span>
            <select
              className="select"
              name="keyScope"
              data-testid="key-scope-select"
              value={scope}
              onChange={(e) => setScope(e.target.value as ApiKeyScope)}
            >
              {SCOPES.map((s) => (
                <option key={s.value} value={s.value}>
                  {s.label}
                </option>
              ))}
            </select>
          </label>
          <button className="btn btn-primary" type="submit" disabled={busy || !name.trim()} data-testid="create-key">
            {busy ? 'Criando…' : 'Criar chave'}
          </button>
        </form>
        <p className="muted small" data-testid="key-scope-hint">
          {scopeLabel(scope)}: {SCOPES.find((s) => s.value === scope)?.hint}.
        </p>
        {created?.key && <NewKey apiKey={created} onDone={() => setCreated(null)} />}
      </div>

      <div className="card">
        <h2 className="card-title">Chaves ativas</h2>
        {keys === null ? (
          <p className="empty">Carregando…</p>
        ) : keys.length === 0 ? (
          <p className="empty">Nenhuma chave criada.</p>
        ) : (
          <ul className="rows" data-testid="api-keys">
            {keys.map((k) => (
              <li key={k.id} className="row key-row" data-key-id={k.id}>
                <span className="who">
                  <span className="patient">{k.name}</span>
                  <span className="muted small">
                    <span className="key-scope" data-testid="key-scope" data-scope={k.scope}>
                      {scopeLabel(k.scope)}
                    </span>{' '}
                    criada em {formatInstant(k.createdAt, account.timeZone)}
                  </span>
                </span>
                <span className="actions">
                  <MoveButton
                    move={{ action: 'revoke', label: 'Revogar', tone: 'danger', confirm: 'Revogar? Quem usa esta chave perde o acesso.' }}
                    onRun={() => void revoke(k)}
                  />
                </span>
              </li>
            ))}
          </ul>
        )}
      </div>
    </>
  );
}

function NewKey({ apiKey, onDone }: { apiKey: ApiKey; onDone: () => void }) {
  const toast = useToast();
  const key = apiKey.key ?? '';
  const curl = [
    `curl -s -X POST ${window.location.origin}/api/auth/token \\`,
    `  -H 'Content-Type: application/json' \\`,
    `  -d '{"apiKey":"${key}"}'`,
  ].join('\n');

  const copy = async (text: string, what: string) => {
    try {
      await navigator.clipboard.writeText(text);
      toast.show(`${what} copiad${what === 'Chave' ? 'a' : 'o'}.`, 'success');
    } catch {
      toast.show('Não foi possível copiar; selecione o texto e copie.', 'error');
    }
  };

  return (
    <div className="new-key" data-testid="new-key">
      <p className="new-key-warning">
        <strong>Guarde esta chave agora.</strong> Ela não será mostrada de novo.
      </p>
      <div className="key-box">
        <code data-testid="new-key-value">{key}</code>
        <button className="btn btn-small btn-neutral" onClick={() => void copy(key, 'Chave')}>
          Copiar
        </button>
      </div>
      <p className="muted small">Para obter um token de acesso (válido por 1 hora):</p>
      <div className="key-box">
        <pre data-testid="curl-example">{curl}</pre>
        <button className="btn btn-small btn-neutral" onClick={() => void copy(curl, 'Exemplo')}>
          Copiar
        </button>
      </div>
      <p className="muted small">
        Use o token no cabeçalho <code>Authorization: Bearer …</code> das chamadas e no <code>auth.token</code> do
        Socket.IO.
      </p>
      <div className="new-key-actions">
        {apiKey.scope !== 'kiosk' && (
        <button
          className="btn btn-primary"
          data-testid="use-in-panel"
          onClick={() => {
            panelKiosk.storeApiKey(key);
            toast.show('Chave guardada para o Painel deste navegador.', 'success');
          }}
        >
          Usar esta chave no Painel deste navegador
        </button>
        )}
        <Link className="btn btn-ghost" to="/painel" target="_blank">
          Abrir o painel ↗
        </Link>
        <button className="btn btn-ghost" onClick={onDone}>
          Já guardei
        </button>
      </div>
    </div>
  );
}

function WaitSettings() {
  const { api, account, reloadAccount } = useStaff();
  const toast = useToast();
  const [warn, setWarn] = useState(String(account.waitWarnMinutes));
  const [alert, setAlert] = useState(String(account.waitAlertMinutes));
  const [busy, setBusy] = useState(false);

  const save = async (event: FormEvent) => {
    event.preventDefault();
    const w = Number(warn), a = Number(alert);
    if (!Number.isInteger(w) || !Number.isInteger(a) || w < 1 || a > 1440 || w > a) {
      toast.show('Use minutos inteiros de 1 a 1440, com o amarelo antes do vermelho.', 'error');
      return;
    }
    setBusy(true);
    try {
      await api.patch<Account>('/api/account', { waitWarnMinutes: w, waitAlertMinutes: a });
      await reloadAccount();
      toast.show('Tempos de espera salvos.', 'success');
    } catch (err) {
      toast.show(describeError(err), 'error');
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="card">
      <h2 className="card-title">Tempo de espera na fila</h2>
      <form className="inline-form" onSubmit={save}>
        <label className="field">
          <span>Amarelo a partir de (min)</span>
          <input type="number" min={1} max={1440} value={warn} onChange={(e) => setWarn(e.target.value)} name="waitWarnMinutes" />
        </label>
        <label className="field">
          <span>Vermelho a partir de (min)</span>
          <input type="number" min={1} max={1440} value={alert} onChange={(e) => setAlert(e.target.value)} name="waitAlertMinutes" />
        </label>
        <button className="btn btn-neutral" type="submit" disabled={busy}>
          Salvar
        </button>
      </form>
    </div>
  );
}

const BRAZIL_ZONES = [
  ['America/Sao_Paulo', 'Brasília (SP, RJ, MG, Sul, GO, DF, BA…)'],
  ['America/Recife', 'Recife / Nordeste sem horário de verão'],
  ['America/Fortaleza', 'Fortaleza'],
  ['America/Belem', 'Belém'],
  ['America/Manaus', 'Manaus (AM)'],
  ['America/Cuiaba', 'Cuiabá (MT)'],
  ['America/Campo_Grande', 'Campo Grande (MS)'],
  ['America/Porto_Velho', 'Porto Velho (RO)'],
  ['America/Boa_Vista', 'Boa Vista (RR)'],
  ['America/Rio_Branco', 'Rio Branco (AC)'],
  ['America/Noronha', 'Fernando de Noronha'],
];

/** The clinic's time zone: its "today" and every time on the screens and the panel. */
export function TimeZoneSettings() {
  const { api, account, reloadAccount } = useStaff();
  const toast = useToast();
  const [zone, setZone] = useState(account.timeZone);
  const [busy, setBusy] = useState(false);
  const supported = (Intl as unknown as { supportedValuesOf?: (key: string) => string[] }).supportedValuesOf?.('timeZone') ?? [];
  const brazil = new Set(BRAZIL_ZONES.map(([z]) => z));
  const others = [...new Set([...supported, account.timeZone])].filter((z) => !brazil.has(z)).sort();

  const save = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    try {
      await api.patch<Account>('/api/account', { timeZone: zone });
      await reloadAccount();
      toast.show('Fuso horário salvo.', 'success');
    } catch (err) {
      toast.show(describeError(err), 'error');
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="card">
      <h2 className="card-title">Fuso horário da clínica</h2>
      <p className="muted small">
        Define o “hoje” da agenda e da fila e o horário mostrado nas telas e no painel. Agora na clínica:{' '}
        {new Intl.DateTimeFormat('pt-BR', { timeZone: account.timeZone, dateStyle: 'short', timeStyle: 'short' }).format(new Date())}.
      </p>
      <form className="inline-form" onSubmit={save}>
        <label className="field grow">
          <span>Fuso horário</span>
          <select className="select" name="timeZone" value={zone} onChange={(e) => setZone(e.target.value)}>
            <optgroup label="Brasil">
              {BRAZIL_ZONES.map(([z, label]) => (
                <option key={z} value={z}>
                  {label} — {z}
                </option>
              ))}
            </optgroup>
            <optgroup label="Outros">
              {others.map((z) => (
                <option key={z} value={z}>
                  {z}
                </option>
              ))}
            </optgroup>
          </select>
        </label>
        <button className="btn btn-neutral" type="submit" disabled={busy || zone === account.timeZone}>
          Salvar
        </button>
      </form>
    </div>
  );
}
