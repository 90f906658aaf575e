// Headless Chromium (Debian's package) through playwright-core, and small polling helpers.

import { chromium } from 'playwright-core';

export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
  });
}

/** A fresh browser profile (own localStorage): a separate machine, as far as the app knows. */
export async function newPage(browser, { viewport = { width: 1366, height: 860 } } = {}) {
  const context = await browser.newContext({ viewport, locale: 'pt-BR' });
  return trackErrors(await context.newPage());
}

/** Collects uncaught page errors in `page.errors`, for tests to assert there were none. */
export function trackErrors(page) {
  page.errors = [];
  page.on('pageerror', (err) => page.errors.push(err.message));
  return page;
}

/** Logs in through the form, as a person would. */
export async function loginThroughForm(page, base, email, password, next = '/agenda') {
  await page.goto(`${base}/entrar?next=${encodeURIComponent(next)}`);
  await page.fill('input[type="email"]', email);
  await page.fill('input[type="password"]', password);
  await page.click('button[type="submit"]');
  await page.waitForURL((url) => url.pathname === next, { timeout: 10_000 });
}

/** Polls `check` until it returns a truthy value or the time runs out (then throws `message`). */
export async function eventually(check, { timeout = 5_000, interval = 25, message = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await check();
      if (last) return last;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${message} (last: ${last})`);
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}

export const queueRow = (id) => `[data-testid="queue"] [data-appointment-id="${id}"]`;

/** The ids of the waiting queue, in screen order. */
export async function queueIds(page) {
  return page.$$eval('[data-testid="queue"] [data-appointment-id]', (rows) =>
    rows.map((r) => Number(r.getAttribute('data-appointment-id'))),
  );
}

export async function waitLive(page, timeout = 10_000) {
  await page.waitForSelector('[data-testid="live-status"][data-status="live"]', { timeout });
}
