// The documents Fila serves pass the validators a client's tooling runs: the OpenAPI 3.1
// document (openapi-spec-validator from PyPI, Redocly CLI's lint, swagger-parser) and the
// AsyncAPI 3.0 document (@asyncapi/parser), all with zero errors.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import SwaggerParser from '@apidevtools/swagger-parser';
import { Parser } from '@asyncapi/parser';
import { startServer, here, repoRoot } from './server.mjs';

const run = promisify(execFile);

/** openapi-spec-validator, installed by scripts/setup in a venv of its own under target/. */
const SPEC_VALIDATOR = process.env.OPENAPI_SPEC_VALIDATOR
  ?? path.join(repoRoot, 'target/openapi-venv/bin/openapi-spec-validator');

let server;
let dir;
let openapi;
let asyncapi;
let openapiFile;

before(async () => {
  server = await startServer();
  openapi = await server.get('/api/openapi.json');
  asyncapi = await server.get('/api/asyncapi.json');
  dir = mkdtempSync(path.join(tmpdir(), 'fila-documents-'));
  openapiFile = path.join(dir, 'openapi.json');
  writeFileSync(openapiFile, JSON.stringify(openapi, null, 2));
});

after(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('openapi-spec-validator finds no error in the OpenAPI document', async () => {
  assert.ok(existsSync(SPEC_VALIDATOR), `${SPEC_VALIDATOR} is missing: run scripts/setup`);
  const { stdout } = await run(SPEC_VALIDATOR, [openapiFile]).catch((error) => {
    assert.fail(`openapi-spec-validator:\n${error.stdout}${error.stderr}`);
  });
  assert.match(stdout, /: OK\s*$/);
});

test('Redocly CLI lint (recommended ruleset, redocly.yaml) finds no error', async () => {
  const redocly = path.join(here, 'node_modules/.bin/redocly');
  const env = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' };
  const args = ['lint', openapiFile, '--config', path.join(here, 'redocly.yaml'), '--format', 'json'];
  const { stdout } = await run(redocly, args, { env, maxBuffer: 16 << 20 })
    .catch((error) => ({ stdout: error.stdout ?? '', stderr: error.stderr }));
  const report = JSON.parse(stdout.slice(stdout.indexOf('{')));
  const errors = report.problems.filter((p) => p.severity === 'error');
  assert.deepEqual(errors.map((p) => `${p.ruleId}: ${p.message} at ${p.location?.[0]?.pointer}`), []);
  assert.equal(report.totals.errors, 0);
  // The warnings redocly.yaml expects, and no other.
  const warnings = report.problems.filter((p) => p.severity === 'warn').map((p) => p.ruleId);
  assert.ok(warnings.every((rule) => rule === 'operation-4xx-response'), warnings.join(', '));
});

test('swagger-parser validates the OpenAPI document', async () => {
  const api = await SwaggerParser.validate(structuredClone(openapi));
  assert.equal(api.openapi, '3.1.0');
});

test('the OpenAPI document names every operation once and says who may call it', () => {
  const ids = [];
  for (const item of Object.values(openapi.paths)) {
    for (const operation of Object.values(item)) {
      ids.push(operation.operationId);
      assert.ok(Array.isArray(operation.security), `${operation.operationId}: security`);
    }
  }
  assert.equal(new Set(ids).size, ids.length);
  assert.ok(ids.every((id) => /^[a-z][A-Za-z]+$/.test(id)), ids.join(', '));
  assert.deepEqual(openapi.servers, [{ url: '/', description: openapi.servers[0].description }]);
});

test('@asyncapi/parser validates the AsyncAPI 3.0 document with no error or warning', async () => {
  const { document, diagnostics } = await new Parser().parse(JSON.stringify(asyncapi));
  // Severity 0 is an error, 1 a warning; 2 and 3 are hints (such as "3.1.0 exists").
  const problems = diagnostics.filter((d) => d.severity <= 1)
    .map((d) => `${d.code}: ${d.message} at ${d.path.join('.')}`);
  assert.deepEqual(problems, []);
  assert.ok(document, 'parsed');
  assert.equal(document.version(), '3.0.0');
  const account = document.channels().get('account');
  assert.equal(account.address(), 'orders.account.{accountId}');
  const names = account.messages().all().map((m) => m.name()).sort();
  assert.deepEqual(names, [
    'appointments.checkin', 'appointments.created', 'appointments.finished', 'appointments.recalled',
    'appointments.serving', 'appointments.updated', 'appointmnents.finished',
    'doctors.busy', 'doctors.created', 'doctors.deleted', 'doctors.updated',
  ]);
  const checkin = account.messages().get('appointments.checkin').payload().json();
  assert.deepEqual(checkin.items.map((arg) => arg.type), ['object', 'object', 'string']);
  assert.deepEqual(checkin.items[1].required, ['seq', 'at']);
  assert.equal(document.channels().get('patientStatus').messages().get('patient.status').name(), 'patient.status');
});
