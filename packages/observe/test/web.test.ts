/**
 * The web view in a real headless browser (Playwright driving Debian's Chromium) against two
 * daemons on loopback: the page shows a failover as it happens (pushed over server-sent events,
 * no reload), the quarantine with its reason, and an action that needs the token — refused
 * without it and with a wrong one, done with the right one, reached by keyboard alone. It also fits
 * a phone's width. With PACELINE_SCREENSHOTS=DIR it saves the screenshots the docs show.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { chromium, type Browser, type Page } from 'playwright-core';
import { AgentRegistry } from '@paceline/agent-api';
import { dummyAgents } from '@paceline/agent-dummy';
import { ExecaCommandRunner, createLogger, systemClock } from '@paceline/runtime';
import { Daemon, systemTimers } from '@paceline/daemon';
import { Observer } from '@paceline/observe';
import { freePorts, twoNodeConfig, testbed } from '../../daemon/test/helpers.js';

const CHROMIUM = process.env['PACELINE_CHROMIUM'] ?? '/usr/bin/chromium';
const haveBrowser = existsSync(CHROMIUM);
if (!haveBrowser) process.stderr.write(`web view browser test skipped: no Chromium at ${CHROMIUM} (scripts/setup.sh installs Debian's chromium)\n`);
const maybe = haveBrowser ? test : test.skip;

const { root, key, daemons } = testbed('web');
const observers: Observer[] = [];
let browser: Browser | undefined;
afterAll(async () => {
  await browser?.close();
  for (const o of observers) await o.dispose();
});
const logger = createLogger({
  stream: new Writable({
    write(_c, _e, cb) {
      cb();
    },
  }),
  level: 'info',
});
const runner = new ExecaCommandRunner();
const shots = process.env['PACELINE_SCREENSHOTS'] ?? join(root, 'shots');
const TOKEN = 'a-test-token-of-some-length-0123';

/** Presses Tab until the focused element's text is `label` (at most `max` times); false if never. */
async function tabTo(page: Page, label: string, max = 60): Promise<boolean> {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    if ((await page.evaluate('document.activeElement?.textContent?.trim()')) === label) return true;
  }
  return false;
}

maybe(
  'the page follows a failover live; actions need the token',
  async () => {
    const tokenFile = join(root, 'web-token');
    writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    const config = twoNodeConfig(await freePorts(8), { properties: { clusterName: 'demo', stonithEnabled: false, noQuorumPolicy: 'ignore' } });
    const make = (node: string): Daemon => {
      const d = new Daemon({
        node,
        config,
        stateDir: join(root, node),
        key,
        agents: new AgentRegistry([...dummyAgents]),
        runner,
        clock: systemClock,
        timers: systemTimers,
        logger,
        fence: async () => ({ ok: true }),
      });
      daemons.push(d);
      return d;
    };
    const s1 = make('serv1');
    const s2 = make('serv2');
    await Promise.all([s1.start(), s2.start()]);
    const web = { host: '127.0.0.1', port: 0 };
    const o1 = await Observer.open(s1, { runner, logger, version: 't', web });
    const o2 = await Observer.open(s2, { runner, logger, version: 't', web, webTokenFile: tokenFile });
    observers.push(o1, o2);

    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    const page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(`${o2.web!.url}/`);
    const card = (node: string): ReturnType<Page['locator']> => page.locator(`#resources .card[data-node="${node}"]`);
    const expectText = async (loc: ReturnType<Page['locator']>, text: string | RegExp, timeout = 30_000): Promise<void> => {
      await loc
        .filter({ hasText: text })
        .first()
        .waitFor({ timeout })
        .catch(async (e: Error) => {
          throw new Error(`${e.message}\npage: ${await page.locator('main').innerText()}`);
        });
    };

    // Before: web on serv1, both online, serv1 coordinates; the page is live.
    await expectText(page.locator('#live'), 'live');
    await expectText(card('serv1'), 'web');
    await expectText(page.locator('#nodes tr[data-node="serv1"]'), 'coordinator');
    await expectText(page.locator('#nodes tr[data-node="serv2"]'), 'this node');
    await expectText(page.locator('#nodes tr[data-node="serv1"]'), 'lan up');
    expect(await page.locator('h1').textContent()).toContain('demo');
    if (process.env['PACELINE_SCREENSHOTS']) mkdirSync(shots, { recursive: true });

    // serv1 dies: without a reload, the page shows web moving to serv2, the loss, the fencing and the quarantine.
    const t0 = Date.now();
    await s1.abandon();
    await expectText(card('serv2'), 'web');
    const shownAfterMs = Date.now() - t0;
    await expectText(page.locator('#timeline li'), 'serv1 lost on every link');
    await expectText(page.locator('#timeline li'), 'serv1 fenced');
    await expectText(page.locator('#timeline li'), /start web on serv2: ok/);
    await expectText(page.locator('#nodes tr[data-node="serv1"]'), 'lan down');
    await expectText(page.locator('#nodes tr[data-node="serv1"] .quarantine'), /fenced at .* by serv2/);
    // The last transition says what it ran and why web is where it is (the scheduler's decisions).
    await expectText(page.locator('#transitions > li'), /start web on serv2: ok/);
    await expectText(page.locator('#transitions .why li'), /web: (placed on|start to) serv2/);
    expect(await card('serv1').textContent()).toContain('nothing runs here');
    process.stderr.write(`web view showed web on serv2 ${shownAfterMs} ms after serv1 was killed\n`);
    await page.screenshot({ path: join(shots, 'web-view.png'), fullPage: true });

    // An action without the token: refused before it is sent, the token field gets the focus.
    await page.getByRole('button', { name: 'Clear serv1' }).click();
    await expectText(page.locator('#action-result'), 'enter the token first');
    expect(await page.evaluate('document.activeElement?.id')).toBe('token');
    // A wrong token: the daemon refuses it (401) and nothing changes.
    await page.fill('#token', 'wrong-token-wrong-token');
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Clear serv1' }).click();
    await expectText(page.locator('#action-result'), /Refused: actions need the token/);
    expect(s2.document().quarantine['serv1']).toBeDefined();
    // The right token, and the keyboard alone: Tab to the button, Enter.
    await page.fill('#token', TOKEN);
    await page.keyboard.press('Enter');
    await expectText(page.locator('#action-result'), 'Token kept for this tab');
    await page.locator('.skip').focus();
    expect(await tabTo(page, 'Clear serv1')).toBe(true);
    await page.keyboard.press('Enter');
    await expectText(page.locator('#action-result'), /Done: .*serv1 cleared/);
    await page.locator('#nodes tr[data-node="serv1"] .quarantine').filter({ hasText: '—' }).waitFor({ timeout: 30_000 });
    expect(s2.document().quarantine['serv1']).toBeUndefined();

    // The same view, read-only, on serv1's address would need its own daemon; serv2's API says who may act.
    const api = (await (
      await fetch(`${o2.web!.url}/api/action`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"op":"cleanup"}' })
    ).json()) as { ok: boolean; message: string };
    expect(api).toEqual({ ok: false, message: 'actions need the token (monitoring.web.tokenFile)' });

    // On a phone: nothing wider than the screen but the tables' own scrolling boxes.
    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = (await page.evaluate('document.documentElement.scrollWidth - window.innerWidth')) as number;
    expect(overflow).toBeLessThanOrEqual(0);
    await page.screenshot({ path: join(shots, 'web-view-phone.png'), fullPage: false });
    // The wrong token's 401 is the one error the console may show.
    expect(errors.filter((e) => !e.includes('401 (Unauthorized)'))).toEqual([]);
  },
  120_000,
);

maybe(
  'without a token file the view is read-only',
  async () => {
    const s3 = new Daemon({
      node: 'solo',
      config: {
        nodes: [{ name: 'solo', addresses: { lan: `127.0.0.1:${await freePorts(2)}` } }],
        properties: { noQuorumPolicy: 'ignore', stonithEnabled: false },
      },
      stateDir: join(root, 'solo'),
      key,
      agents: new AgentRegistry([...dummyAgents]),
      runner,
      clock: systemClock,
      timers: systemTimers,
      logger,
    });
    daemons.push(s3);
    await s3.start();
    const o = await Observer.open(s3, { runner, logger, version: 't', web: { host: '127.0.0.1', port: 0 } });
    observers.push(o);
    const res = await fetch(`${o.web!.url}/api/action`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: '{"op":"cleanup"}',
    });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { message: string }).message).toContain('read-only');
    browser ??= await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    const page = await browser.newPage();
    await page.goto(`${o.web!.url}/`);
    await page.locator('#mode').filter({ hasText: 'read-only' }).waitFor({ timeout: 30_000 });
    const head = await fetch(`${o.web!.url}/`);
    expect(head.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect((await fetch(`${o.web!.url}/nope`)).status).toBe(404);
  },
  60_000,
);
