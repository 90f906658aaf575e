// The frame of the staff screens: requires a session (else /entrar), loads who is logged in and
// the clinic's settings, keeps one socket for all screens, and re-reads the account every few
// minutes so a screen left open overnight moves on to the new day by itself.

import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Navigate, NavLink, Outlet, useLocation, useNavigate } from 'react-router';
import { ApiClient } from '../api/client';
import { describeError } from '../api/errors';
import type { Account, Me } from '../api/types';
import { userSession } from '../auth/sessions';
import { useLiveStatus, useSessionToken } from '../lib/hooks';
import { LiveSocket } from '../live/socket';
import { StaffContext, type Staff } from './StaffContext';
import { LiveBadge } from './LiveBadge';
import { NAV_ITEMS } from './nav';

const ACCOUNT_REFRESH_MS = 5 * 60_000;

export function StaffShell() {
  const token = useSessionToken(userSession);
  const location = useLocation();
  if (!token) {
    const next = location.pathname + location.search;
    return <Navigate to={`/entrar?next=${encodeURIComponent(next)}`} replace />;
  }
  return <LoggedIn />;
}

function LoggedIn() {
  const api = useMemo(() => new ApiClient(userSession), []);
  const [socket, setSocket] = useState<LiveSocket | null>(null);
  const [me, setMe] = useState<Me | null>(null);
  const [account, setAccount] = useState<{ value: Account; skewMs: number } | null>(null);
  const [error, setError] = useState<string | null>(null);

  const reloadAccount = useCallback(async () => {
    const { data } = await api.get<Account>('/api/account');
    const skewMs = Date.parse(data.now) - Date.now();
    setAccount({ value: data, skewMs: Number.isFinite(skewMs) ? skewMs : 0 });
  }, [api]);

  useEffect(() => {
    userSession.start();
    const live = new LiveSocket(userSession);
    live.start();
    setSocket(live);
    return () => live.close();
  }, []);

  useEffect(() => {
    let cancelled = false;
    const load = async () => {
      try {
        const [meAnswer] = await Promise.all([api.get<Me>('/api/me'), reloadAccount()]);
        if (!cancelled) setMe(meAnswer.data);
        setError(null);
      } catch (err) {
        if (!cancelled) setError(describeError(err));
      }
    };
    void load();
    const timer = setInterval(() => void reloadAccount().catch(() => {}), ACCOUNT_REFRESH_MS);
    return () => {
      cancelled = true;
      clearInterval(timer);
    };
  }, [api, reloadAccount]);

  const staff: Staff | null = useMemo(
    () =>
      socket && me && account
        ? { api, socket, me, account: account.value, skewMs: account.skewMs, reloadAccount }
        : null,
    [api, socket, me, account, reloadAccount],
  );

  if (!staff) {
    return (
      <div className="boot">
        {error ? (
          <>
            <p>{error}</p>
            <button className="btn" onClick={() => window.location.reload()}>
              Tentar de novo
            </button>
          </>
        ) : (
          <p>Carregando…</p>
        )}
      </div>
    );
  }

  return (
    <StaffContext.Provider value={staff}>
      <TopBar staff={staff} />
      <main className="page">
        <Outlet />
      </main>
    </StaffContext.Provider>
  );
}

/**
 * The top bar: the screens of NAV_ITEMS as tabs on a wide screen; on tablets and phones a
 * "Menu" button opens them as a list of large targets (it closes on a choice, Escape or a click
 * outside), so every screen stays one tap away however many there are.
 */
function TopBar({ staff }: { staff: Staff }) {
  const navigate = useNavigate();
  const location = useLocation();
  const status = useLiveStatus(staff.socket);
  const [open, setOpen] = useState(false);
  const menuRef = useRef<HTMLDivElement>(null);
  const buttonRef = useRef<HTMLButtonElement>(null);
  const items = NAV_ITEMS.filter((item) => !item.masterOnly || staff.me.isMaster);
  const logout = () => {
    userSession.clear();
    navigate('/entrar', { replace: true });
  };

  useEffect(() => setOpen(false), [location.pathname, location.search]);
  useEffect(() => {
    if (!open) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        setOpen(false);
        buttonRef.current?.focus();
      }
    };
    const onDown = (e: MouseEvent) => {
      const target = e.target as Node;
      if (!menuRef.current?.contains(target) && !buttonRef.current?.contains(target)) setOpen(false);
    };
    document.addEventListener('keydown', onKey);
    document.addEventListener('mousedown', onDown);
    return () => {
      document.removeEventListener('keydown', onKey);
      document.removeEventListener('mousedown', onDown);
    };
  }, [open]);

  const links = (onPick?: () => void) =>
    items.map((item) =>
      item.newTab ? (
        <a key={item.to} href={item.to} target="_blank" rel="noreferrer" onClick={onPick}>
          {item.label} <span aria-hidden>↗</span>
          <span className="visually-hidden"> (abre em nova aba)</span>
        </a>
      ) : (
        <NavLink key={item.to} to={item.to} onClick={onPick}>
          {item.label}
        </NavLink>
      ),
    );

  return (
    <header className="topbar">
      <div className="brand">
        <span className="logo" aria-hidden>F</span>
        <span className="brand-name">{staff.account.name}</span>
      </div>
      <nav className="tabs" aria-label="Telas">
        {links()}
      </nav>
      <div className="menu-wrap">
        <button
          ref={buttonRef}
          type="button"
          className="btn menu-button"
          aria-expanded={open}
          aria-controls="nav-menu"
          onClick={() => setOpen((o) => !o)}
          data-testid="menu-button"
        >
          <span aria-hidden className="menu-icon">☰</span> Menu
        </button>
        {open && (
          <div ref={menuRef} id="nav-menu" className="nav-menu" data-testid="nav-menu">
            <nav aria-label="Telas (menu)">{links(() => setOpen(false))}</nav>
          </div>
        )}
      </div>
      <div className="session">
        <LiveBadge status={status} />
        <span className="user" title={staff.me.email ?? ''}>{staff.me.name ?? staff.me.email}</span>
        <button className="btn btn-ghost btn-small" onClick={logout}>
          Sair
        </button>
      </div>
    </header>
  );
}
