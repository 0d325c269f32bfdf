/**
 * The web console in a real browser (issue 11): Debian's chromium, headless, driven by playwright-core (no
 * browser download). `gba-sim up --demo` runs; the console's first page, at console.url exactly, with no login
 * and no clicks, lists the demo subscriber's IMSI and the registered device's endpoint name; the revoke button
 * revokes; adding a subscriber works; the browser console shows no errors (failed requests count).
 * The screenshot is kept in test-artifacts/console.png (and docs/console.png with UPDATE_DOCS_SCREENSHOT=1).
 */
import { expect } from 'chai';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { runUp, type UpProcess } from '../support/up.js';
import { freePortRange } from '../support/ports.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';
import { tempDir } from '../support/nf.js';
import { REPO_ROOT } from '../support/cli.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const DEMO_IMSI = '001010123456789';

describe('web console in headless Chromium (gba-sim up --demo)', function () {
  this.timeout(180_000);
  let up: UpProcess | undefined;
  let browser: BrowserContext | undefined;
  after(async () => {
    await browser?.close();
    await up?.stop('SIGTERM');
  });

  it('lists the subscriber and the registered device at console.url, revokes a session, adds a subscriber, with no browser errors', async () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} (Debian package chromium)`).to.equal(true);
    const base = await freePortRange(12);
    up = await runUp(['--base-port', String(base), '--demo', '--store', 'redis', '--redis-url', await testRedisUrl()], {
      env: { GBA_STORE_PREFIX: uniquePrefix('console') },
      timeoutMs: 60_000,
    });
    const e = up.endpoints;
    expect(e.console!.url).to.equal(`http://127.0.0.1:${base + 9}/`);
    // The demo device registers a moment after endpoints.json appears.
    let endpoint = '';
    const t0 = Date.now();
    while (!endpoint) {
      if (Date.now() - t0 > 60_000) throw new Error(`the demo device did not register:\n${up.output.join('')}`);
      const list = (await (
        await fetch(`${e.lwm2m!.api}api/clients`, { headers: { authorization: `Bearer ${e.admin!.token}` } })
      )
        .json()
        .catch(() => [])) as Array<{ endpoint: string }>;
      endpoint = Array.isArray(list) ? (list[0]?.endpoint ?? '') : '';
      if (!endpoint) await new Promise((r) => setTimeout(r, 200));
    }

    browser = await chromium.launchPersistentContext(tempDir('gba-sim-chromium-'), {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 900 },
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
    const page = browser.pages()[0] ?? (await browser.newPage());
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (err) => errors.push(`page: ${err.message}`));
    page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
    page.on('response', (r) => {
      if (r.status() >= 400) errors.push(`HTTP ${r.status()}: ${r.url()}`);
    });

    await page.goto(e.console!.url);
    const text = await page.locator('body').innerText();
    expect(text).to.contain(DEMO_IMSI);
    expect(text).to.contain(endpoint);
    expect(await page.locator('#sessions').count()).to.equal(1);
    await page.waitForTimeout(2500); // one live-event poll and a few countdown ticks
    expect(await page.locator('[data-expires]').first().innerText()).to.match(/min .* s|expired/);
    mkdirSync(join(REPO_ROOT, 'test-artifacts'), { recursive: true });
    const shot = join(REPO_ROOT, 'test-artifacts', 'console.png');
    await page.screenshot({ path: shot, fullPage: true });
    if (process.env.UPDATE_DOCS_SCREENSHOT === '1') copyFileSync(shot, join(REPO_ROOT, 'docs', 'console.png'));

    // Revoke the demo device's session with its button (keyboard: focus + Enter).
    const sessionsBefore = (await (
      await fetch(`${e.bsf.admin}/sessions`, { headers: { authorization: `Bearer ${e.admin!.token}` } })
    ).json()) as { items: Array<{ btid: string }> };
    expect(sessionsBefore.items.length).to.be.greaterThan(0);
    const btid = sessionsBefore.items[0]!.btid;
    const button = page.getByRole('button', { name: `Revoke session ${btid}` });
    await button.focus();
    await Promise.all([page.waitForURL(/msg=/), page.keyboard.press('Enter')]);
    expect(await page.locator('[role=status]').innerText()).to.contain('revoked');
    const after = (await (
      await fetch(`${e.bsf.admin}/sessions`, { headers: { authorization: `Bearer ${e.admin!.token}` } })
    ).json()) as { items: Array<{ btid: string }> };
    expect(after.items.map((s) => s.btid)).to.not.include(btid);

    // Add a subscriber with the form.
    await page.getByLabel('IMSI', { exact: true }).fill('001010000004242');
    await page.getByLabel('K (32 hex digits)').fill('00112233445566778899aabbccddeeff');
    await page.getByLabel('OPc (32 hex digits)').fill('ffeeddccbbaa99887766554433221100');
    await Promise.all([page.waitForURL(/msg=/), page.getByRole('button', { name: 'Add subscriber' }).click()]);
    expect(await page.locator('#subscribers').innerText()).to.contain('001010000004242');

    // The device page: timeline and the /3/0 read (the device re-bootstraps after the revocation).
    await page.goto(`${e.console!.url}device?imsi=${DEMO_IMSI}`);
    expect(await page.locator('body').innerText()).to.match(/Timeline[\s\S]*ok/);
    const html = await page.content();
    for (const secret of ['465b5ce8b199b49faa5f0a2ee238a6bc', 'cd63cb71954a9f4e48a5994e37a02baf', e.admin!.token])
      expect(html).to.not.contain(secret);
    expect(errors).to.deep.equal([]);
  });
});
