// The browser tests' machinery: launching the system Chromium, running steps that may depend
// on each other, checking pages with axe-core, taking screenshots, and writing the report.
// The flows themselves are in flows.mjs; run.mjs ties them together.

import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Where install.sh put playwright-core and axe-core. */
export function cacheDir() {
  return process.env.CAIRN_BROWSER_CACHE || path.join(os.homedir(), '.cache', 'cairn-browser');
}

// The packages live in the cache folder rather than next to the sources, so they are loaded
// through a require function rooted there.
const requireFromCache = createRequire(path.join(cacheDir(), 'package.json'));

function load(name) {
  try {
    return requireFromCache(name);
  } catch (e) {
    throw new Error(
      `${name} is not installed in ${cacheDir()}; run tests/browser/install.sh first ` +
        `(scripts/test.sh does): ${e.message}`,
    );
  }
}

export const { chromium } = load('playwright-core');
const axeSource = fs.readFileSync(requireFromCache.resolve('axe-core/axe.min.js'), 'utf8');
export const axeVersion = load('axe-core/package.json').version;
export const playwrightVersion = load('playwright-core/package.json').version;

export const CHROMIUM = process.env.CAIRN_CHROMIUM || '/usr/bin/chromium';

// Without the background-networking flags Chromium tries to reach Google's services. The
// resolver rule is a second fence: every host name but the loopback ones fails to resolve, so
// nothing the browser does can leave 127.0.0.0/8.
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  '--disable-extensions',
  '--no-default-browser-check',
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
];

export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 800 };

/** Whether a URL stays on this machine: loopback, or something with no network at all. */
function isLocal(url) {
  const u = new URL(url);
  if (['data:', 'blob:', 'about:'].includes(u.protocol)) return true;
  return u.hostname === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(u.hostname);
}

/**
 * Everything one run learns: the steps of each flow, the axe results of each page, the
 * screenshots, and the problems seen on the side (console errors, CSP violations, requests
 * that would have left the machine).
 */
export class Report {
  constructor(meta) {
    this.meta = meta;
    this.flows = [];
    this.axe = [];
    this.screenshots = [];
    this.problems = [];
    this.started = Date.now();
  }

  failed() {
    return (
      this.flows.some((f) => f.steps.some((s) => s.status === 'fail')) ||
      this.axe.some((a) => a.error || a.blocking.length > 0) ||
      this.problems.length > 0
    );
  }

  markdown() {
    const lines = [];
    const m = this.meta;
    lines.push(`# Browser tests (${m.backend})`, '');
    lines.push(`- base URL: ${m.base}`);
    lines.push(`- Chromium: ${m.chromium}; playwright-core ${playwrightVersion}; axe-core ${axeVersion}`);
    lines.push(`- output: ${m.out}`);
    lines.push(`- took ${((Date.now() - this.started) / 1000).toFixed(1)} s`, '');
    for (const f of this.flows) {
      lines.push(`## ${f.name}`, '');
      for (const s of f.steps) {
        const ms = s.ms === undefined ? '' : ` (${s.ms} ms)`;
        const why = s.detail ? `: ${s.detail}` : '';
        lines.push(`- ${s.name}: ${s.status.toUpperCase()}${ms}${why}`);
      }
      lines.push('');
    }
    lines.push('## Accessibility (axe-core; serious and critical violations fail)', '');
    lines.push('| page | JS | scheme | serious/critical | minor/moderate |');
    lines.push('|---|---|---|---|---|');
    for (const a of this.axe) {
      const fmt = (vs) => (vs.length ? vs.map((v) => `${v.id} (${v.nodes.join(' ; ')})`).join('<br>') : '–');
      const blocking = a.error ? `axe did not run: ${a.error}` : fmt(a.blocking);
      lines.push(`| ${a.page} | ${a.js ? 'on' : 'off'} | ${a.scheme} | ${blocking} | ${fmt(a.other)} |`);
    }
    lines.push('');
    lines.push(`## Screenshots: ${this.screenshots.length} files in ${m.out}/screenshots`, '');
    if (this.problems.length) {
      lines.push('## Problems seen on the side', '');
      for (const p of this.problems) lines.push(`- ${p}`);
      lines.push('');
    }
    lines.push(this.failed() ? 'RESULT: FAIL' : 'RESULT: PASS', '');
    return lines.join('\n');
  }
}

/** Starts the system Chromium. playwright-core gives every launch a fresh profile folder. */
export async function launchBrowser() {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

/**
 * One browser context with one page, JavaScript on or off, with its own cookies. Watches the
 * page for console errors, CSP violations, failed subresources and requests that would leave
 * loopback, and reports them.
 */
export class Session {
  static async open(report, browser, { js, out, label }) {
    const options = { viewport: DESKTOP, colorScheme: 'light', locale: 'en-GB', timezoneId: 'UTC' };
    const context = await browser.newContext({ ...options, javaScriptEnabled: js });
    // The copy button writes to the clipboard, which a headless page may only do when allowed.
    await context.grantPermissions(['clipboard-read', 'clipboard-write']);
    // axe cannot run inside a page whose JavaScript is off, so with JavaScript off each page's
    // HTML is checked again in this second context, which may run scripts (see axeWithoutScript).
    const checker = js ? null : await browser.newContext({ ...options, javaScriptEnabled: true });
    const s = new Session(report, context, checker, { js, out, label });
    await s.init();
    return s;
  }

  constructor(report, context, checker, { js, out, label }) {
    this.report = report;
    this.context = context;
    this.checker = checker;
    this.js = js;
    this.out = out;
    this.label = label;
  }

  async init() {
    for (const context of [this.context, this.checker].filter(Boolean)) {
      await context.route('**/*', (route) => {
        const url = route.request().url();
        if (isLocal(url)) return route.continue();
        this.report.problems.push(`${this.label}: blocked a request off loopback: ${url}`);
        return route.abort('blockedbyclient');
      });
    }
    this.page = await this.context.newPage();
    this.page.setDefaultTimeout(15_000);
    this.page.setDefaultNavigationTimeout(30_000);
    this.page.on('console', (msg) => {
      // Chromium logs every answer of 400 or more as "Failed to load resource"; error pages
      // are answered so on purpose, and failed subresources are caught by the listener below.
      if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) {
        this.report.problems.push(`${this.label}: console error on ${this.page.url()}: ${msg.text()}`);
      }
    });
    this.page.on('pageerror', (err) => {
      this.report.problems.push(`${this.label}: script error on ${this.page.url()}: ${err.message}`);
    });
    this.page.on('response', (resp) => {
      const req = resp.request();
      const expected = req.isNavigationRequest() || req.resourceType() === 'fetch';
      if (resp.status() >= 400 && !expected) {
        this.report.problems.push(`${this.label}: ${req.resourceType()} ${req.url()} answered ${resp.status()}`);
      }
    });
  }

  async close() {
    await this.context.close().catch(() => {});
    await this.checker?.close().catch(() => {});
  }

  /**
   * Checks the page as it is now under the name `name`: axe in the light and the dark scheme,
   * and full-page screenshots at phone and desktop widths (plus desktop in dark).
   */
  async checkPage(name) {
    const page = this.page;
    await page.waitForLoadState('load');
    for (const scheme of ['light', 'dark']) {
      await page.emulateMedia({ colorScheme: scheme });
      await this.axe(name, scheme);
    }
    const dir = path.join(this.out, 'screenshots');
    fs.mkdirSync(dir, { recursive: true });
    const mode = this.js ? 'js' : 'nojs';
    const shots = [
      ['phone', PHONE, 'light'],
      ['desktop', DESKTOP, 'light'],
      ['desktop-dark', DESKTOP, 'dark'],
    ];
    for (const [what, size, scheme] of shots) {
      await page.setViewportSize(size);
      await page.emulateMedia({ colorScheme: scheme });
      if (what === 'phone') {
        // On a phone the page must fit its width: sideways scrolling is a layout fault.
        const [scroll, width] = await within(10_000, 'measuring the page', this.measure());
        if (scroll > width) {
          this.report.problems.push(
            `${this.label}: ${name} is ${scroll} px wide at a ${width} px wide phone screen`,
          );
        }
      }
      const file = path.join(dir, `${name}.${mode}.${what}.png`);
      await page.screenshot({ path: file, fullPage: true });
      this.report.screenshots.push(file);
    }
    await page.setViewportSize(DESKTOP);
    await page.emulateMedia({ colorScheme: 'light' });
  }

  /**
   * A clean axe report is only worth something if axe really ran on the page, so before the
   * flows each mode's checking path is shown a page with known faults (an image without alt
   * text, a field without a label, grey on grey) and must find them. The page is served under
   * the instance's own origin by the browser itself, so the CSP and routing are as for Cairn.
   */
  async axeSelfTest(base) {
    const url = `${base}/__cairn_axe_self_test`;
    const html =
      '<!doctype html><html lang="en"><head><title>Known faults</title><style>p{color:#bbb;background:#ccc}</style></head>' +
      '<body><main><h1>Known faults</h1><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">' +
      '<input type="text"><p>Grey on grey</p></main></body></html>';
    await this.page.route(url, (route) =>
      route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: html }),
    );
    try {
      await this.page.goto(url);
      const result = this.js ? await runAxe(this.page) : await this.axeWithoutScript('light');
      const found = new Set(result.violations.map((v) => v.id));
      const missed = ['image-alt', 'label', 'color-contrast'].filter((id) => !found.has(id));
      check(missed.length === 0, `axe missed the known faults ${missed.join(', ')}; found ${[...found].join(', ')}`);
    } finally {
      await this.page.unroute(url);
    }
  }

  /** The page's scrolling width and the viewport's width. */
  async measure() {
    // With JavaScript off the page cannot be asked, so its layout is measured by the DevTools
    // protocol instead, which works either way.
    const cdp = await this.context.newCDPSession(this.page);
    try {
      const m = await cdp.send('Page.getLayoutMetrics');
      return [Math.ceil(m.cssContentSize.width), Math.floor(m.cssLayoutViewport.clientWidth)];
    } finally {
      await cdp.detach();
    }
  }

  async axe(name, scheme) {
    const entry = { page: name, js: this.js, scheme, blocking: [], other: [] };
    try {
      const result = this.js ? await runAxe(this.page) : await this.axeWithoutScript(scheme);
      for (const v of result.violations) {
        const item = {
          id: v.id,
          impact: v.impact,
          help: v.help,
          nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')),
        };
        if (v.impact === 'serious' || v.impact === 'critical') entry.blocking.push(item);
        else entry.other.push(item);
      }
    } catch (e) {
      entry.error = e.message.split('\n')[0];
    }
    this.report.axe.push(entry);
  }

  /**
   * axe for a page seen with JavaScript off: the same HTML, served again under the same URL to
   * a page that may run scripts, with Cairn's own script replaced by nothing so that the DOM
   * stays the one a reader without JavaScript gets.
   */
  async axeWithoutScript(scheme) {
    const html = await this.page.content();
    const url = this.page.url().split('#')[0];
    const checker = await this.checker.newPage();
    await checker.route(url, (route) =>
      route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: html }),
    );
    await checker.route('**/*.js', (route) =>
      route.fulfill({ status: 200, contentType: 'text/javascript', body: '' }),
    );
    try {
      await checker.emulateMedia({ colorScheme: scheme });
      await checker.goto(url, { waitUntil: 'load' });
      return await runAxe(checker);
    } finally {
      await checker.close();
    }
  }
}

/** Rejects with `what` when `promise` has not settled within `ms`. */
export function within(ms, what, promise) {
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

function runAxe(page) {
  // page.evaluate has no time limit of its own, and a page that cannot run scripts never
  // answers it, so the check gets one.
  return within(60_000, 'axe', axeOn(page));
}

async function axeOn(page) {
  // page.evaluate goes through the DevTools protocol, which the page's Content-Security-Policy
  // does not govern, so axe runs without weakening the policy under test.
  await page.evaluate(axeSource);
  return page.evaluate(() =>
    // eslint-disable-next-line no-undef
    axe.run(document, {
      resultTypes: ['violations'],
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
    }),
  );
}

/**
 * A flow: named steps, each of which may need earlier ones. A step whose needs did not pass is
 * recorded as skipped with the reason, so one failure does not hide what else works.
 */
export class Flow {
  constructor(report, name, session) {
    this.entry = { name, steps: [] };
    this.session = session;
    report.flows.push(this.entry);
  }

  /** A screenshot of the page as a step failed, to see what the browser saw; its file name. */
  async failureShot(step) {
    const s = this.session;
    if (!s) return null;
    const dir = path.join(s.out, 'screenshots');
    const file = path.join(dir, `FAILED.${s.js ? 'js' : 'nojs'}.${step.replace(/[^a-z0-9]+/gi, '-')}.png`);
    try {
      fs.mkdirSync(dir, { recursive: true });
      await within(10_000, 'the failure screenshot', s.page.screenshot({ path: file, fullPage: true }));
      return file;
    } catch {
      return null;
    }
  }

  async step(name, needs, fn) {
    const missing = needs.filter((n) => {
      const s = this.entry.steps.find((x) => x.name === n);
      return !s || s.status !== 'pass';
    });
    if (missing.length) {
      this.entry.steps.push({ name, status: 'skipped', detail: `needs ${missing.join(', ')}` });
      return;
    }
    const t0 = Date.now();
    try {
      await within(120_000, 'the step', fn());
      this.entry.steps.push({ name, status: 'pass', ms: Date.now() - t0 });
    } catch (e) {
      // playwright-core colours its call logs for terminals; the report is plain text.
      const text = (e && e.message ? e.message : String(e)).replace(/\x1b\[[0-9;]*m/g, '');
      const detail = text.split('\n').filter((l) => l.trim()).slice(0, 6).join(' | ').slice(0, 800);
      const shot = await this.failureShot(name);
      this.entry.steps.push({ name, status: 'fail', ms: Date.now() - t0, detail: shot ? `${detail} (screenshot: ${shot})` : detail });
    }
  }
}

/** Fails with `message` unless `cond` holds. */
export function check(cond, message) {
  if (!cond) throw new Error(message);
}
