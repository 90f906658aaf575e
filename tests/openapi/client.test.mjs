// openapi-typescript generates types from the served document; a small typed client built on
// openapi-fetch (client/workflow.ts) compiles with `tsc --noEmit` under `strict`, then runs a
// booking → check-in → serving → finished workflow against the real server and reads its
// error answers through the types.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import openapiTS, { astToString } from 'openapi-typescript';
import ts from 'typescript';
import { startServer, here } from './server.mjs';

const run = promisify(execFile);
const generated = path.join(here, 'generated');

let server;

before(async () => {
  server = await startServer();
});

after(async () => {
  await server?.stop();
});

test('the generated types and the typed client compile with tsc --noEmit', async () => {
  const ast = await openapiTS(await server.get('/api/openapi.json'));
  mkdirSync(generated, { recursive: true });
  writeFileSync(path.join(generated, 'fila.d.ts'), astToString(ast));
  const tsc = path.join(here, 'node_modules/.bin/tsc');
  await run(tsc, ['--noEmit', '-p', path.join(here, 'tsconfig.json')]).catch((error) => {
    assert.fail(`tsc --noEmit:\n${error.stdout}${error.stderr}`);
  });
});

test('the typed client books, checks in, serves and finishes an appointment, and reads the errors', async () => {
  // The types were checked above; here the client is only transpiled to run it.
  const source = readFileSync(path.join(here, 'client/workflow.ts'), 'utf8');
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
  });
  const compiled = path.join(generated, 'workflow.mjs');
  mkdirSync(generated, { recursive: true });
  writeFileSync(compiled, outputText);
  const { runWorkflow } = await import(pathToFileURL(compiled).href);
  const { email, password } = server.account;
  const flow = await runWorkflow(server.base, email, password);

  assert.deepEqual(flow.booked.status, { id: 1, name: 'Agendado', color: '#6c757d' });
  assert.equal(flow.booked.notes, 'Primeira consulta');
  assert.equal(flow.booked.deletedAt, null);
  assert.equal(flow.booked.appointmentProcedures.procedure.name, 'Ultrassom: Tireoide');
  assert.deepEqual(flow.checkedIn.status, { id: 2, name: 'Check-in', color: '#17a2b8' });
  assert.deepEqual(flow.queue.map((a) => a.id), [flow.booked.id]);
  assert.deepEqual(flow.serving.status, { id: 3, name: 'Em atendimento', color: '#ffc107' });
  assert.equal(flow.serving.doctor.name, 'Dr. Victor');
  assert.deepEqual(flow.finished.status, { id: 4, name: 'Finalizado', color: '#28a745' });

  assert.equal(flow.illegalMove.status, 409);
  assert.equal(flow.illegalMove.error.statusCode, 409);
  assert.equal(flow.illegalMove.error.error, 'Conflict');
  assert.equal(typeof flow.illegalMove.error.message, 'string');

  assert.deepEqual(flow.notFound, { status: 404, statusCode: 404, message: flow.notFound.message, error: 'Not Found' });
  assert.match(String(flow.notFound.message), /not found/i);

  assert.equal(flow.badPatient.status, 400);
  assert.ok(flow.badPatient.messages.length >= 1, JSON.stringify(flow.badPatient));
});
