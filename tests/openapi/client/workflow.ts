// A typed client of Fila, built on openapi-fetch with the types openapi-typescript generates
// from the served document (generated/fila.d.ts). `tsc --noEmit` compiles it under `strict`:
// a wrong path, body or field is a compile error, and so is reading an error answer's
// `message` if the document did not describe it. client.test.mjs runs it against a server.

import createClient from 'openapi-fetch';
import type { components, paths } from '../generated/fila.js';

export type Appointment = components['schemas']['Appointment'];
export type ErrorBody = components['schemas']['ErrorBody'];

/** What the workflow saw, for the test to assert. */
export interface Workflow {
  booked: Appointment;
  checkedIn: Appointment;
  queue: Appointment[];
  serving: Appointment;
  finished: Appointment;
  /** The 409 of a move out of FINALIZADO. */
  illegalMove: { status: number; error: ErrorBody };
  /** The 404 of an unknown appointment. */
  notFound: { status: number; statusCode: number; message: string | string[]; error: string };
  /** The 400 of a patient without a name or a valid CPF. */
  badPatient: { status: number; messages: string[] };
}

/** `true` only when A and B are the same type. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;

/** Fails with the error answer when a call did not succeed. */
function ok<T>(result: { data?: T; error?: ErrorBody; response: Response }, what: string): T {
  if (result.data === undefined) {
    throw new Error(`${what}: ${result.response.status} ${JSON.stringify(result.error)}`);
  }
  return result.data;
}

/** Logs in, creates a procedure, a doctor and a patient, books an appointment for the clinic's
 *  today, checks it in, serves and finishes it, and collects three error answers. */
export async function runWorkflow(baseUrl: string, email: string, password: string): Promise<Workflow> {
  const anonymous = createClient<paths>({ baseUrl });
  const token = ok(await anonymous.POST('/api/auth/login', { body: { email, password } }), 'login');
  const tokenType: string = token.tokenType;
  const client = createClient<paths>({ baseUrl, headers: { Authorization: `${tokenType} ${token.accessToken}` } });

  const account = ok(await client.GET('/api/account'), 'account');
  const procedure = ok(await client.POST('/api/procedures', { body: { name: 'Ultrassom: Tireoide', price: '100' } }), 'procedure');
  const doctor = ok(await client.POST('/api/doctors', {
    body: {
      name: 'Dr. Victor', procedureIds: [procedure.id], startTime: '00:00', endTime: '23:45', intervalMinutes: 15,
      workingDays: ['Segunda', 'Terça', 'Quarta', 'Quinta', 'Sexta', 'Sábado', 'Domingo'],
    },
  }), 'doctor');
  const patient = ok(await client.POST('/api/patients', {
    body: { name: 'João Silva', phone: '(81) 99999-9999', dateBirth: '1980-05-17', cpf: '529.982.247-25' },
  }), 'patient');

  const created = ok(await client.POST('/api/appointments', {
    body: {
      patientId: patient.id, procedures: [{ id: procedure.id }], doctorId: doctor.id,
      date: account.today, startTime: '09:00', endTime: '09:15', notes: 'Primeira consulta',
    },
  }), 'booking');
  const booked = created[0];
  if (!booked) throw new Error('booking answered no appointment');
  const id = booked.id;

  const move = async (action: string) => ok(await client.PATCH('/api/appointments/{id}/status', {
    params: { path: { id } }, body: { action, doctorId: doctor.id },
  }), action);
  const checkedIn = await move('check-in');
  const queue = ok(await client.GET('/api/appointments/queue', { params: { query: { date: account.today } } }), 'queue');
  const serving = await move('em atendimento');
  const finished = await move('finalizado');

  const again = await client.PATCH('/api/appointments/{id}/status', { params: { path: { id } }, body: { action: 'check-in' } });
  if (!again.error) throw new Error('a move out of FINALIZADO was accepted');
  const illegalMove = { status: again.response.status, error: again.error };

  const missing = await client.GET('/api/appointments/{id}', { params: { path: { id: id + 1_000_000 } } });
  // Every error answer of the operation is described with the error body: a compile error if not.
  const errorIsTyped: Equal<NonNullable<typeof missing.error>, ErrorBody> = true;
  const moveErrorIsTyped: Equal<NonNullable<typeof again.error>, ErrorBody> = true;
  void [errorIsTyped, moveErrorIsTyped];
  if (!missing.error) throw new Error('an unknown appointment was found');
  // Typed: the document describes the 404's body.
  const message: string | string[] = missing.error.message;
  const statusCode: number = missing.error.statusCode;
  const notFound = { status: missing.response.status, statusCode, message, error: missing.error.error };

  const bad = await client.POST('/api/patients', { body: { cpf: '111.111.111-11' } });
  if (!bad.error) throw new Error('a patient without a name was created');
  const messages = Array.isArray(bad.error.message) ? bad.error.message : [bad.error.message];
  const badPatient = { status: bad.response.status, messages };

  return { booked, checkedIn, queue, serving, finished, illegalMove, notFound, badPatient };
}

/** Never called: lines the types must refuse (`tsc` fails if one of them compiles). */
export async function refusedByTheTypes(baseUrl: string): Promise<void> {
  const client = createClient<paths>({ baseUrl });
  // @ts-expect-error: an id is a number
  await client.GET('/api/appointments/{id}', { params: { path: { id: 'one' } } });
  // @ts-expect-error: no such path
  await client.GET('/api/appointment');
  // @ts-expect-error: `action` is required
  await client.PATCH('/api/appointments/{id}/status', { params: { path: { id: 1 } }, body: {} });
  const { data, error } = await client.GET('/api/appointments/{id}', { params: { path: { id: 1 } } });
  if (data) {
    // @ts-expect-error: the payload has no such field
    void data.statusName;
    // Always present (required), so no `?`: `null` where empty.
    const notes: string | null = data.notes;
    const doctor: { id: number; name: string } | null = data.doctor;
    void [notes, doctor];
  }
  if (error) {
    // @ts-expect-error: the error body has no such field
    void error.detail;
  }
}
