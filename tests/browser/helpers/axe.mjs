// axe-core (from npm) injected into the page: a screen passes when it has no violation of
// "serious" or "critical" impact. Every screen and every dialog is checked this way.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
// Evaluated through the DevTools protocol rather than added as a <script>: the app's CSP
// (script-src 'self') rightly refuses inline scripts, and the test must not weaken it.
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** Runs axe on the page as it is now; fails listing each serious or critical violation. */
export async function assertAccessible(page, what) {
  const present = await page.evaluate(() => typeof window.axe !== 'undefined');
  if (!present) await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ['violations'] });
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(' ')} — ${n.failureSummary}`),
      }));
  });
  assert.deepEqual(violations, [], `${what}: axe found serious/critical violations:\n${JSON.stringify(violations, null, 2)}`);
}
