import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter, Navigate, Route, Routes } from 'react-router';
import { ToastProvider } from './components/Toasts';
import { StaffShell } from './components/StaffShell';
import { Login } from './pages/Login';
import { Agenda } from './pages/Agenda';
import { Queue } from './pages/Queue';
import { Painel } from './pages/Painel';
import { ApiAccess } from './pages/ApiAccess';
import { Patients } from './pages/Patients';
import { PatientStatus } from './pages/PatientStatus';
import { Totem } from './pages/Totem';
import './styles.css';

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
          </Route>
          <Route path="*" element={<Navigate to="/agenda" replace />} />
        </Routes>
      </BrowserRouter>
    </ToastProvider>
  </StrictMode>,
);
