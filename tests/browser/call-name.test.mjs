// The waiting room's name rule (web/src/lib/callName.ts), run as it ships: the TypeScript
// module is transpiled with the web app's own compiler and imported.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const web = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../web');
const ts = createRequire(path.join(web, 'package.json'))('typescript');
const source = readFileSync(path.join(web, 'src/lib/callName.ts'), 'utf8');
const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 } });
const { callName, spokenCall } = await import(`data:text/javascript;base64,${Buffer.from(outputText).toString('base64')}`);

test('the initial skips Filho, Júnior, Neto, Sobrinho and the particles', () => {
  const cases = [
    ['José Carlos de Oliveira Filho', 'José O.'],
    ['Valentina Alves', 'Valentina A.'],
    ['João da Silva Santos', 'João S.'],
    ['Pedro Henrique dos Santos Júnior', 'Pedro S.'],
    ['Antônio Ferreira Neto', 'Antônio F.'],
    ['Luís Carlos Sobrinho', 'Luís C.'],
    ['Maria das Dores e Silva', 'Maria S.'],
    ['Ana de Souza', 'Ana S.'],
    ['Carlos Junior', 'Carlos'],
    ['Paulo Jr.', 'Paulo'],
    ['  Helena   Costa  ', 'Helena C.'],
    ['Madalena', 'Madalena'],
    ['ana maria da cunha', 'ana C.'],
    ['', '—'],
  ];
  for (const [name, expected] of cases) assert.equal(callName(name), expected, name);
  assert.equal(callName(null), '—');
});

test('the spoken call says the name and the room (or the doctor)', () => {
  assert.equal(spokenCall('Valentina Alves', 'Sala 1', 'Dra. Helena'), 'Valentina A., Sala 1');
  assert.equal(spokenCall('José Carlos de Oliveira Filho', null, 'Dr. Victor'), 'José O., Dr. Victor');
  assert.equal(spokenCall('Madalena', null, null), 'Madalena');
});
