// Equipe (master only): the clinic's users. Each receptionist gets their own login, so the
// status history says who did what; a user who leaves is deactivated and loses access at once.

import { useCallback, useEffect, useState, type FormEvent } from 'react';
import type { User } from '../api/types';
import { describeError } from '../api/errors';
import { MoveButton } from '../components/MoveButton';
import { useStaff } from '../components/StaffContext';
import { useToast } from '../components/Toasts';
import { usePageTitle } from '../lib/hooks';

export function Team() {
  usePageTitle('Equipe');
  const { me } = useStaff();
  if (!me.isMaster) {
    return (
      <section className="narrow">
        <h1>Equipe</h1>
        <div className="card">
          <p>Apenas um usuário master da clínica pode gerenciar a equipe.</p>
        </div>
      </section>
    );
  }
  return <TeamList />;
}

function TeamList() {
  const { api, me } = useStaff();
  const toast = useToast();
  const [users, setUsers] = useState<User[] | null>(null);
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [isMaster, setIsMaster] = useState(false);
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    try {
      const { data } = await api.get<User[]>('/api/users');
      setUsers(data);
    } catch (err) {
      toast.show(describeError(err), 'error');
      setUsers([]);
    }
  }, [api, toast]);

  useEffect(() => void load(), [load]);

  const create = async (event: FormEvent) => {
    event.preventDefault();
    if (!name.trim() || !email.trim() || password.length < 8) {
      toast.show('Informe nome, e-mail e uma senha de ao menos 8 caracteres.', 'error');
      return;
    }
    setBusy(true);
    try {
      await api.post<User>('/api/users', { name: name.trim(), email: email.trim(), password, isMaster });
      toast.show(`${name.trim()} pode entrar com ${email.trim()}.`, 'success');
      setName('');
      setEmail('');
      setPassword('');
      setIsMaster(false);
      await load();
    } catch (err) {
      toast.show(describeError(err), 'error');
    } finally {
      setBusy(false);
    }
  };

  const change = async (user: User, patch: Partial<Pick<User, 'active' | 'isMaster'>> & { password?: string }, done: string) => {
    try {
      await api.patch<User>(`/api/users/${user.id}`, patch);
      toast.show(done, 'success');
      await load();
    } catch (err) {
      toast.show(describeError(err), 'error');
    }
  };

  const resetPassword = (user: User) => {
    const next = window.prompt(`Nova senha para ${user.name} (ao menos 8 caracteres):`);
    if (next === null) return;
    if (next.length < 8) {
      toast.show('A senha precisa de ao menos 8 caracteres.', 'error');
      return;
    }
    void change(user, { password: next }, 'Senha alterada.');
  };

  return (
    <section className="narrow registers" data-testid="team-page" data-loaded={users !== null}>
      <div className="page-head">
        <div>
          <h1>Equipe</h1>
          <p className="muted">
            Cada pessoa da recepção com o seu login: o histórico de cada agendamento registra quem fez cada mudança.
          </p>
        </div>
      </div>
      <div className="card">
        <h2 className="card-title">Novo usuário</h2>
        <form className="grid-2" onSubmit={create} data-testid="user-form">
          <label className="field">
            <span>Nome</span>
            <input name="name" value={name} onChange={(e) => setName(e.target.value)} />
          </label>
          <label className="field">
            <span>E-mail (login)</span>
            <input name="email" type="email" autoComplete="off" value={email} onChange={(e) => setEmail(e.target.value)} />
          </label>
          <label className="field">
            <span>Senha inicial</span>
            <input
              name="password"
              type="password"
              autoComplete="new-password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          </label>
          <label className="check field">
            <input name="isMaster" type="checkbox" checked={isMaster} onChange={(e) => setIsMaster(e.target.checked)} />
            Master (gerencia equipe, chaves de API e configurações)
          </label>
          <div className="span-2">
            <button className="btn btn-primary" type="submit" disabled={busy} data-testid="create-user">
              {busy ? 'Criando…' : 'Criar usuário'}
            </button>
          </div>
        </form>
      </div>
      <div className="card">
        {users === null ? (
          <p className="empty">Carregando…</p>
        ) : (
          <ul className="rows" data-testid="user-rows">
            {users.map((u) => (
              <li key={u.id} className={`row register-row ${u.active ? '' : 'inactive'}`} data-user-id={u.id} data-active={u.active}>
                <span className="who">
                  <span className="patient">
                    {u.name} {u.isMaster && <span className="chip">master</span>} {!u.active && <span className="chip">desativado</span>}
                  </span>
                  <span className="muted small">{u.email}</span>
                </span>
                {u.id !== me.userId && (
                  <span className="actions">
                    <button className="btn btn-small btn-ghost" onClick={() => resetPassword(u)}>
                      Trocar senha
                    </button>
                    <button
                      className="btn btn-small btn-neutral"
                      onClick={() => void change(u, { isMaster: !u.isMaster }, u.isMaster ? 'Agora é equipe.' : 'Agora é master.')}
                    >
                      {u.isMaster ? 'Tornar equipe' : 'Tornar master'}
                    </button>
                    {u.active ? (
                      <MoveButton
                        move={{ action: 'deactivate', label: 'Desativar', tone: 'danger', confirm: 'Desativar? A pessoa perde o acesso na hora.' }}
                        onRun={() => void change(u, { active: false }, `${u.name} desativado(a).`)}
                      />
                    ) : (
                      <button className="btn btn-small btn-success" data-action="Reativar" onClick={() => void change(u, { active: true }, `${u.name} reativado(a).`)}>
                        Reativar
                      </button>
                    )}
                  </span>
                )}
              </li>
            ))}
          </ul>
        )}
      </div>
    </section>
  );
}
