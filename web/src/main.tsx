import { StrictMode, Suspense, lazy } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter, Navigate, Route, Routes } from 'react-router';
import { ToastProvider } from './components/Toasts';
import { StaffShell } from './components/StaffShell';
import { Login } from './pages/Login';
import { Agenda } from './pages/Agenda';
import { Queue } from './pages/Queue';
import { Painel } from './pages/Painel';
import { ApiAccess } from './pages/ApiAccess';
import { Settings } from './pages/Settings';
import { Doctors } from './pages/Doctors';
import { Procedures } from './pages/Procedures';
import { Team } from './pages/Team';
import { Patients } from './pages/Patients';
import { PatientStatus } from './pages/PatientStatus';
import { Totem } from './pages/Totem';
import './styles.css';

// The reports bring the chart library: loaded only when /relatorios is opened.
const Reports = lazy(() => import('./pages/Reports').then((m) => ({ default: m.Reports })));

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <ToastProvider>
      <BrowserRouter>
        <Routes>
          <Route path="/entrar" element={<Login />} />
          <Route path="/painel" element={<Painel />} />
          <Route path="/totem" element={<Totem />} />
          <Route path="/p/:token" element={<PatientStatus />} />
          <Route element={<StaffShell />}>
            <Route path="/agenda" element={<Agenda />} />
            <Route path="/fila" element={<Queue />} />
            <Route path="/pacientes" element={<Patients />} />
            <Route path="/acesso-api" element={<ApiAccess />} />
            <Route
              path="/relatorios"
              element={
                <Suspense fallback={<p className="empty">Carregando…</p>}>
                  <Reports />
                </Suspense>
              }
            />
            <Route path="/medicos" element={<Doctors />} />
            <Route path="/procedimentos" element={<Procedures />} />
            <Route path="/equipe" element={<Team />} />
            <Route path="/configuracoes" element={<Settings />} />
          </Route>
          <Route path="*" element={<Navigate to="/agenda" replace />} />
        </Routes>
      </BrowserRouter>
    </ToastProvider>
  </StrictMode>,
);
