// Entrar: email and password. The token lands in localStorage, so reloads and new tabs keep it.

import { useState, type FormEvent } from 'react';
import { Navigate, useNavigate, useSearchParams } from 'react-router';
import { publicPost } from '../api/client';
import { ApiError, describeError } from '../api/errors';
import type { TokenAnswer } from '../api/types';
import { userSession } from '../auth/sessions';
import { useSessionToken, usePageTitle } from '../lib/hooks';

export function Login() {
  usePageTitle('Entrar');
  const token = useSessionToken(userSession);
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const next = safeNext(params.get('next'));

  if (token && userSession.isLoggedIn()) return <Navigate to={next} replace />;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const answer = await publicPost<TokenAnswer>('/api/auth/login', { email: email.trim(), password });
      userSession.store(answer);
      navigate(next, { replace: true });
    } catch (err) {
      setError(
        err instanceof ApiError && (err.status === 401 || err.status === 400)
          ? 'E-mail ou senha incorretos.'
          : describeError(err),
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="login-page">
      <form className="login-card" onSubmit={submit} data-testid="login-form">
        <div className="login-brand">
          <span className="logo logo-large" aria-hidden>F</span>
          <div>
            <h1>Fila</h1>
            <p className="muted">Agenda e fila de espera da clínica, em tempo real</p>
          </div>
        </div>
        <label className="field">
          <span>E-mail</span>
          <input
            type="email"
            name="email"
            autoComplete="username"
            required
            autoFocus
            value={email}
            onChange={(e) => setEmail(e.target.value)}
          />
        </label>
        <label className="field">
          <span>Senha</span>
          <input
            type="password"
            name="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        <button className="btn btn-primary btn-block" type="submit" disabled={busy}>
          {busy ? 'Entrando…' : 'Entrar'}
        </button>
        <p className="muted small center">
          Painel da sala de espera? Abra <a href="/painel">/painel</a> neste navegador.
        </p>
      </form>
    </main>
  );
}

/** Only same-app paths: `?next=https://evil` must not send anyone elsewhere. */
function safeNext(next: string | null): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/entrar')) return '/agenda';
  return next;
}
