// Debian's Chromium driven by playwright-core, as every browser test runs it: headless, with what a test machine
// needs off, and pages watched for what must never happen on them (a dialog, a script error, a console error or
// warning: CSP violations land there).
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

export const BROWSER_PATH = '/usr/bin/chromium';
/** For node:test's `skip`: the reason, when Chromium is not installed. */
export const browserSkip = !existsSync(BROWSER_PATH) && `${BROWSER_PATH} is not installed`;

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: BROWSER_PATH,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/**
 * Records the page's script errors and console errors and warnings, and the dialogs it opens (dismissed at once),
 * into the returned list; dialogs into `dialogs` instead when given (one list for several pages).
 */
export function watchPage(page: Page, dialogs?: string[]): string[] {
  const problems: string[] = [];
  page.on('dialog', (dialog) => {
    (dialogs ?? problems).push(`${dialog.type()}: ${dialog.message()}`);
    dialog.dismiss().catch(() => {});
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warning') problems.push(`console ${msg.type()}: ${msg.text()} (${msg.location().url})`);
  });
  return problems;
}
