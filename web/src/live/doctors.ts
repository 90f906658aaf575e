// Applies the doctor events (contract §5) to a list of doctors.

import type { Doctor, DoctorBusy, LiveEvent } from '../api/types';

export function applyDoctorEvent(doctors: Doctor[], event: LiveEvent): Doctor[] {
  switch (event.event) {
    case 'doctors.busy': {
      const { doctorId, isBusy } = event.data as DoctorBusy;
      return doctors.map((d) => (d.id === Number(doctorId) ? { ...d, isBusy } : d));
    }
    case 'doctors.created':
    case 'doctors.updated': {
      const doctor = event.data as Doctor;
      if (!doctor || typeof doctor.id !== 'number') return doctors;
      const rest = doctors.filter((d) => d.id !== doctor.id);
      return doctor.deletedAt ? rest : [...rest, doctor].sort((a, b) => a.name.localeCompare(b.name, 'pt-BR'));
    }
    case 'doctors.deleted': {
      const { doctorId } = event.data as { doctorId: number };
      return doctors.filter((d) => d.id !== Number(doctorId));
    }
    default:
      return doctors;
  }
}
