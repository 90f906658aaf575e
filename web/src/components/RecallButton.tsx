// "Rechamar": calls a patient who is being served again on every TV of the clinic, for the
// patient who did not hear the first call (`POST /api/appointments/{id}/recall`).

import { useState } from 'react';
import type { Appointment } from '../api/types';
import { describeError } from '../api/errors';
import { useStaff } from './StaffContext';
import { useToast } from './Toasts';

export function RecallButton({ appointment }: { appointment: Appointment }) {
  const { api } = useStaff();
  const toast = useToast();
  const [busy, setBusy] = useState(false);
  const recall = async () => {
    setBusy(true);
    try {
      await api.post(`/api/appointments/${appointment.id}/recall`);
      toast.show('Chamado de novo no painel.', 'success');
    } catch (err) {
      toast.show(describeError(err), 'error');
    } finally {
      setBusy(false);
    }
  };
  return (
    <button className="btn btn-small btn-neutral" disabled={busy} data-action="Rechamar" onClick={() => void recall()}>
      Rechamar
    </button>
  );
}
