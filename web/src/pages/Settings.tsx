// Configurações (master only): the clinic's name, the queue's wait thresholds, how the
// waiting-room panel writes names, its time zone, and the panel of this browser (sound of the
// calls, the key it uses).

import { useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import type { Account } from '../api/types';
import { describeError } from '../api/errors';
import { KIOSK_STORAGE, panelKiosk } from '../auth/kioskSession';
import { useStaff } from '../components/StaffContext';
import { TimeZoneSettings } from './ApiAccess';
import { useToast } from '../components/Toasts';
import { usePageTitle } from '../lib/hooks';
import { panelName, type PanelNameStyle } from '../lib/format';

/** The panel's own switch (Painel.tsx keeps the same key). */
const PANEL_MUTE_KEY = 'fila.painel.muted';

export function Settings() {
  usePageTitle('Configurações');
  const { me } = useStaff();
  if (!me.isMaster) {
    return (
      <section className="narrow">
        <h1>Configurações</h1>
        <div className="card">
          <p>Apenas um usuário master da clínica pode mudar as configurações.</p>
        </div>
      </section>
    );
  }
  return (
    <section className="narrow settings" data-testid="settings-page">
      <div className="page-head">
        <div>
          <h1>Configurações</h1>
          <p className="muted">Valem para todas as telas da clínica, exceto as do painel, que são deste navegador.</p>
        </div>
      </div>
      <ClinicSettings />
      <TimeZoneSettings />
      <PanelSettings />
    </section>
  );
}

function ClinicSettings() {
  const { api, account, reloadAccount } = useStaff();
  const toast = useToast();
  const [name, setName] = useState(account.name);
  const [warn, setWarn] = useState(String(account.waitWarnMinutes));
  const [alert, setAlert] = useState(String(account.waitAlertMinutes));
  const [nameStyle, setNameStyle] = useState<PanelNameStyle>(account.panelNameStyle ?? 'short');
  const [busy, setBusy] = useState(false);

  const save = async (event: FormEvent) => {
    event.preventDefault();
    const w = Number(warn);
    const a = Number(alert);
    if (!name.trim()) {
      toast.show('Informe o nome da clínica.', 'error');
      return;
    }
    if (!Number.isInteger(w) || !Number.isInteger(a) || w < 1 || a > 1440 || w > a) {
      toast.show('Use minutos inteiros de 1 a 1440, com o amarelo antes do vermelho.', 'error');
      return;
    }
    setBusy(true);
    try {
      await api.patch<Account>('/api/account', {
        name: name.trim(),
        waitWarnMinutes: w,
        waitAlertMinutes: a,
        panelNameStyle: nameStyle,
      });
      await reloadAccount();
      toast.show('Configurações salvas.', 'success');
    } catch (err) {
      toast.show(describeError(err), 'error');
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="card">
      <h2 className="card-title">Clínica</h2>
      <form className="grid-2" onSubmit={save} data-testid="clinic-settings">
        <label className="field span-2">
          <span>Nome da clínica (aparece no topo das telas e no painel)</span>
          <input name="clinicName" value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <label className="field">
          <span>Espera em amarelo a partir de (min)</span>
          <input type="number" min={1} max={1440} name="waitWarnMinutes" value={warn} onChange={(e) => setWarn(e.target.value)} />
        </label>
        <label className="field">
          <span>Espera em vermelho a partir de (min)</span>
          <input type="number" min={1} max={1440} name="waitAlertMinutes" value={alert} onChange={(e) => setAlert(e.target.value)} />
        </label>
        <label className="field span-2">
          <span>Nome do paciente no painel da sala de espera</span>
          <select className="select" name="panelNameStyle" value={nameStyle} onChange={(e) => setNameStyle(e.target.value as PanelNameStyle)}>
            <option value="short">{`Primeiro nome e inicial (${panelName('João da Silva Santos', 'short')})`}</option>
            <option value="initials">{`Só as iniciais (${panelName('João da Silva Santos', 'initials')})`}</option>
            <option value="full">Nome completo</option>
          </select>
        </label>
        <div className="span-2">
          <button className="btn btn-primary" type="submit" disabled={busy} data-testid="save-settings">
            {busy ? 'Salvando…' : 'Salvar'}
          </button>
        </div>
      </form>
    </div>
  );
}

function PanelSettings() {
  const toast = useToast();
  const [muted, setMuted] = useState(() => localStorage.getItem(PANEL_MUTE_KEY) === '1');
  const [hasKey, setHasKey] = useState(() => Boolean(panelKiosk.apiKey()));

  const toggleSound = () => {
    const next = !muted;
    localStorage.setItem(PANEL_MUTE_KEY, next ? '1' : '0');
    setMuted(next);
    toast.show(next ? 'O painel deste navegador fica sem som.' : 'O painel deste navegador toca um aviso a cada chamada.', 'success');
  };

  const forgetKey = () => {
    localStorage.removeItem(KIOSK_STORAGE.panel.apiKey);
    setHasKey(false);
    toast.show('O painel deste navegador pedirá uma chave de novo.', 'success');
  };

  return (
    <div className="card">
      <h2 className="card-title">Painel da sala de espera (este navegador)</h2>
      <ul className="rows">
        <li className="row register-row">
          <span className="who">
            <span className="patient">Som das chamadas</span>
            <span className="muted small">{muted ? 'Desligado' : 'Ligado'}</span>
          </span>
          <span className="actions">
            <button className="btn btn-small btn-neutral" onClick={toggleSound} data-testid="panel-sound">
              {muted ? 'Ligar som' : 'Desligar som'}
            </button>
          </span>
        </li>
        <li className="row register-row">
          <span className="who">
            <span className="patient">Chave de acesso do painel</span>
            <span className="muted small">{hasKey ? 'Guardada neste navegador' : 'Nenhuma: crie uma em Acesso à API'}</span>
          </span>
          <span className="actions">
            {hasKey ? (
              <button className="btn btn-small btn-ghost" onClick={forgetKey}>
                Esquecer chave
              </button>
            ) : (
              <Link className="btn btn-small btn-neutral" to="/acesso-api">
                Acesso à API
              </Link>
            )}
            <a className="btn btn-small btn-ghost" href="/painel" target="_blank" rel="noreferrer">
              Abrir painel ↗
            </a>
          </span>
        </li>
      </ul>
    </div>
  );
}
