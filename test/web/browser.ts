// Browser tests drive Debian's Chromium through playwright-core (no downloaded browsers), each run in a
// fresh profile, against the page the hub serves from cloud-hub/web/dist (built here when missing or older
// than its sources).
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

const root = join(import.meta.dirname, '..', '..');
export const webDir = join(root, 'cloud-hub', 'web');
export const artifactsDir = join(root, 'test-artifacts', 'web');

function newestSource(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newestSource(join(path, name))));
}

/** Runs `vite build` unless dist/index.html is newer than every source of the page. */
export async function ensureWebBuilt(): Promise<void> {
  const sources = ['src', 'public', 'index.html', 'vite.config.ts'].map((p) => newestSource(join(webDir, p)));
  let built = 0;
  try {
    built = statSync(join(webDir, 'dist', 'index.html')).mtimeMs;
  } catch {}
  if (built > Math.max(...sources)) return;
  const { build } = await import('vite');
  await build({ root: webDir, configFile: join(webDir, 'vite.config.ts'), logLevel: 'warn' });
}

export interface Browser {
  context: BrowserContext;
  /** Uncaught page errors and Content-Security-Policy violations seen so far. */
  problems: string[];
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'tp-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
    viewport: { width: 1280, height: 860 },
    acceptDownloads: true,
    timezoneId: 'UTC',
    locale: 'en-GB',
  });
  context.setDefaultTimeout(20_000);
  const problems: string[] = [];
  const watch = (page: Page) => {
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (/Content.Security.Policy/i.test(message.text())) problems.push(`CSP: ${message.text()}`);
    });
  };
  context.pages().forEach(watch);
  context.on('page', watch);
  return {
    context,
    problems,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

// Code that runs in the page is written as strings: this repository type-checks Node code, without DOM types.

/** Form controls that a screen reader could not name (no <label>, no aria-label). */
export function unlabelledControls(page: Page): Promise<string[]> {
  return page.evaluate(`[...document.querySelectorAll('input, select, textarea')]
    .filter((c) => c.type !== 'hidden' && c.labels.length === 0 && !c.getAttribute('aria-label'))
    .map((c) => c.outerHTML.slice(0, 120))`);
}

/** Sum of the layout shifts not caused by input since the last call (Chromium's CLS entries); resets it. */
export function takeLayoutShift(page: Page): Promise<number> {
  return page.evaluate(
    '(() => { const shift = window.__tpShift ?? 0; window.__tpShift = 0; return shift; })()',
  );
}

/** Counts layout shifts in every page of the context from its first paint. */
export async function recordLayoutShifts(context: BrowserContext): Promise<void> {
  await context.addInitScript({
    content: `window.__tpShift = 0;
      new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) if (!entry.hadRecentInput) window.__tpShift += entry.value;
      }).observe({ type: 'layout-shift', buffered: true });`,
  });
}
