// Shapes of the wire contract (shared/spec/API.md and docs/api-additions.md).

export interface Status {
  id: number;
  name: string;
  color: string;
}

export interface Priority {
  tier: 1 | 2 | 3;
  label: string;
  reasons: string[];
  /** The flags were declared by the patient at the totem. */
  declaredByPatient?: boolean;
}

export interface Procedure {
  id: number;
  name: string;
  price: string;
}

export interface Appointment {
  id: number;
  date: string;
  startTime: string;
  endTime: string;
  notes: string | null;
  accountId: number;
  createdAt: string;
  updatedAt: string;
  deletedAt: string | null;
  doctor: { id: number; name: string; room?: string | null } | null;
  patient: {
    id: number;
    name: string;
    dateBirth?: string | null;
    contact: { phone: string | null } | null;
  } | null;
  status: Status;
  appointmentProcedures: { procedure: Procedure | null } | null;
  priority?: Priority | null;
  checkedInAt?: string | null;
  calledAt?: string | null;
}

export interface Doctor {
  id: number;
  name: string;
  isBusy: boolean;
  room?: string | null;
  startTime: string;
  endTime: string;
  intervalMinutes: number;
  workingDays: string[];
  procedures: Procedure[];
  deletedAt: string | null;
}

export interface Patient {
  id: number;
  name: string;
  phone: string | null;
  dateBirth: string | null;
  cpf: string | null;
}

export interface Account {
  id: number;
  name: string;
  today: string;
  now: string;
  timeZone: string;
  waitWarnMinutes: number;
  waitAlertMinutes: number;
  lastSeq: number;
  /** How the panel writes names (absent on servers before it). */
  panelNameStyle?: 'short' | 'initials' | 'full';
}

export interface Me {
  userId: number;
  accountId: number;
  name: string | null;
  email: string | null;
  isMaster: boolean;
  apiKeyId: number | null;
}

/** What an API key may do: the totem's self check-in, the TV panel, or a full integration. */
export type ApiKeyScope = 'kiosk' | 'panel' | 'integration';

export interface ApiKey {
  id: number;
  name: string;
  createdAt: string;
  key?: string;
  scope: ApiKeyScope;
}

export interface TokenAnswer {
  accessToken: string;
  tokenType: string;
  expiresIn: number;
}

/** One row of `GET /api/events`, and the shape live socket events are normalised to. */
export interface LiveEvent {
  seq: number | null;
  event: string;
  data: unknown;
  at?: string;
}

export interface DoctorBusy {
  doctorId: number;
  isBusy: boolean;
}

/** `GET /api/reports/waits`: one day. */
export interface WaitRow {
  day: string;
  waitCount: number;
  waitMedianSeconds: number | null;
  waitP90Seconds: number | null;
  waitMeanSeconds: number | null;
  serviceCount: number;
  serviceMedianSeconds: number | null;
  serviceP90Seconds: number | null;
  serviceMeanSeconds: number | null;
}

/** `GET /api/reports/attendance`: one day. */
export interface AttendanceRow {
  day: string;
  appointments: number;
  finished: number;
  noShows: number;
  cancellations: number;
  noShowRate: number;
  cancellationRate: number;
}

/** `GET /api/reports/doctors`: one doctor. */
export interface DoctorReportRow {
  doctorId: number | null;
  doctorName: string | null;
  appointments: number;
  finished: number;
  noShows: number;
  cancellations: number;
  waitMedianSeconds: number | null;
  serviceMedianSeconds: number | null;
}

/** `GET /api/reports/arrivals`: one weekday × hour cell. */
export interface ArrivalRow {
  weekday: number;
  weekdayName: string;
  hour: number;
  arrivals: number;
}

/** `GET /api/users`. */
export interface User {
  id: number;
  name: string;
  email: string;
  isMaster: boolean;
  active: boolean;
}

/** One slot of `GET /api/doctors/{id}/slots`. */
export interface Slot {
  startTime: string;
  endTime: string;
  free: boolean;
}

/** The wait still ahead, as a range of minutes. */
export interface WaitEstimate {
  p50Minutes: number;
  p90Minutes: number;
}

/** `GET /api/public/status/{token}` and the status socket's `patient.status`. */
export interface PublicStatus {
  firstName: string;
  doctor: { name: string; room: string | null } | null;
  status: { id: number; key: string; name: string };
  ahead: number;
  estimate: WaitEstimate | null;
  calledAt: string | null;
}

export interface StatusLink {
  token: string;
  url: string;
  expiresAt: string;
}

export interface SelfCheckinAppointment {
  id: number;
  firstName: string;
  doctor: { name: string; room: string | null } | null;
  startTime: string;
  status: string;
  position: number | null;
  estimate: WaitEstimate | null;
  url: string | null;
}
