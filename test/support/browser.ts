import { type Browser, type Page, chromium } from 'playwright-core';

/** Debian's chromium (`apt-get install chromium`; .ci/run installs it). */
export const CHROMIUM = '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
}

/**
 * A page that notes in `problems` every console error, uncaught error, failed request and
 * dialog (a dialog is what injected markup would open), so a test can assert there were none.
 */
export async function watchedPage(browser: Browser, problems: string[], viewport = { width: 1360, height: 900 }): Promise<Page> {
  const page = await browser.newPage({ viewport });
  page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('requestfailed', (r) => problems.push(`${r.url()} ${r.failure()?.errorText}`));
  page.on('dialog', (d) => {
    problems.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  return page;
}

/** The service's dashboard in a watched page, once its image graph is drawn. */
export async function openDashboard(url: string, problems: string[]): Promise<{ browser: Browser; page: Page }> {
  const browser = await launchChromium();
  const page = await watchedPage(browser, problems);
  await page.goto(`${url}/dashboard`);
  await page.locator('svg.graph g.node').first().waitFor();
  return { browser, page };
}
