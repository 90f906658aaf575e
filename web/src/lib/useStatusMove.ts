// Sends a status move and applies the answer at once (the socket event follows and is
// harmless). A 409 means someone else moved the appointment first: the live update shows how.

import { useCallback, useState } from 'react';
import type { Appointment } from '../api/types';
import { ApiError, describeError } from '../api/errors';
import { useStaff } from '../components/StaffContext';
import { useToast } from '../components/Toasts';

export function useStatusMove(onUpdated: (appointment: Appointment) => void) {
  const { api } = useStaff();
  const toast = useToast();
  const [pending, setPending] = useState<ReadonlySet<number>>(new Set());

  const run = useCallback(
    async (appointment: Appointment, action: string, extra?: Record<string, unknown>) => {
      setPending((ids) => new Set(ids).add(appointment.id));
      try {
        const { data } = await api.patch<Appointment>(`/api/appointments/${appointment.id}/status`, {
          action,
          ...extra,
        });
        if (data) onUpdated(data);
      } catch (err) {
        toast.show(
          err instanceof ApiError && err.status === 409
            ? `Não foi possível: o agendamento de ${appointment.patient?.name ?? 'este paciente'} já mudou de situação. A tela mostra a situação atual.`
            : describeError(err),
          'error',
        );
      } finally {
        setPending((ids) => {
          const next = new Set(ids);
          next.delete(appointment.id);
          return next;
        });
      }
    },
    [api, onUpdated, toast],
  );

  return { run, pending };
}
