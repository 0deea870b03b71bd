// The CA status page in a real browser: Debian's headless Chromium driven by playwright-core,
// after real issuances and a refusal (playwright gives it a fresh temporary profile). Saves a
// screenshot to test-output/status-page.png.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromPem } from '../../common/pem.js';
import { REPO_ROOT } from '../helpers/ca-process.js';
import { ORDERS, type StatusScenario, startStatusScenario, WEB } from '../helpers/status-scenario.js';

const CHROMIUM = process.env['TETHER_CHROMIUM'] ?? '/usr/bin/chromium';
const SCREENSHOT = path.join(REPO_ROOT, 'test-output', 'status-page.png');

/** The one browser API the test calls inside the page (the project has no DOM typings). */
interface BrowserWindow {
  getComputedStyle(element: unknown): { borderCollapse: string };
}

let s: StatusScenario;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}: install the Debian package "chromium" (apt-get install -y chromium)`,
    );
  }
  s = await startStatusScenario();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  await s?.stop();
});

describe('the CA status page in Chromium', () => {
  it('shows the trust domain, root fingerprint, identities and the refusal, without console errors', async () => {
    const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    page.on('requestfailed', (r) => problems.push(`requestfailed: ${r.url()}`));
    const response = await page.goto(`http://127.0.0.1:${s.ca.metricsPort}/`, { waitUntil: 'load' });
    expect(response?.status()).toBe(200);

    // innerText, not textContent: what a person sees, after CSS (hidden elements excluded).
    // biome-ignore lint/performance/useDomNodeTextContent: the rendered text is the point
    const text = await page.locator('body').innerText();
    const rootSha = createHash('sha256').update(fromPem(s.ca.bundlePem)[0]!).digest('hex');
    expect(text).toContain('example.org');
    expect(text).toContain(rootSha);
    expect(text).toContain(WEB);
    expect(text).toContain(ORDERS);
    expect(text).toMatch(/ERR_CREDENTIAL_INVALID: join token is unknown, expired, revoked or already used/);
    for (const token of s.tokens) expect(text).not.toContain(token);

    // The stylesheet loaded (the CSP allows 'self'), so the tables are styled, not raw.
    const collapse = await page
      .locator('table')
      .first()
      .evaluate((t) => (globalThis as unknown as BrowserWindow).getComputedStyle(t).borderCollapse);
    expect(collapse).toBe('collapse');
    expect(await page.locator('svg.bar').count()).toBeGreaterThanOrEqual(2);

    mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  });
});
