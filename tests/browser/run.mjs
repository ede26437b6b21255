// Runs the browser flows against one running Cairn and writes a report.
//
//   node tests/browser/run.mjs BASE_URL OUT_DIR [LABEL]
//
// BASE_URL is the instance (http://localhost:PORT), OUT_DIR receives report.md, report.json
// and screenshots/, LABEL names the run in the report (the Rust test passes the backend).
// Exits 0 when every step passed, no page has a serious or critical axe violation and nothing
// went wrong on the side (console errors, CSP violations, requests off loopback); 1 otherwise,
// after printing the report.

import fs from 'node:fs';
import path from 'node:path';

import { CHROMIUM, Report, Session, launchBrowser } from './lib.mjs';
import { memberFlow } from './flows.mjs';

const [base, out, label = 'manual'] = process.argv.slice(2);
if (!base || !out) {
  console.error('usage: node run.mjs BASE_URL OUT_DIR [LABEL]');
  process.exit(2);
}
if (!fs.existsSync(CHROMIUM)) {
  console.error(
    `${CHROMIUM} is missing: install the Debian packages chromium and chromium-driver ` +
      '(apt-get install chromium chromium-driver), as .ci/run does',
  );
  process.exit(2);
}

fs.rmSync(path.join(out, 'screenshots'), { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });

const report = new Report({
  backend: label,
  base,
  out,
  chromium: CHROMIUM,
});

function finish(code) {
  fs.writeFileSync(path.join(out, 'report.json'), JSON.stringify(report, null, 2));
  const md = report.markdown();
  fs.writeFileSync(path.join(out, 'report.md'), md);
  console.log(md);
  process.exit(code);
}

// A hung browser must not hang the test suite: after this long the report so far is written
// and the run fails.
const LIMIT_MS = Number(process.env.CAIRN_BROWSER_LIMIT_MS || 8 * 60_000);
setTimeout(() => {
  report.problems.push(`the run did not finish within ${LIMIT_MS / 1000} s`);
  finish(1);
}, LIMIT_MS).unref();

const browser = await launchBrowser();
report.meta.chromium = `${CHROMIUM} (Chromium ${browser.version()})`;
for (const js of [true, false]) {
  const mode = js ? 'js' : 'nojs';
  let session;
  try {
    session = await Session.open(report, browser, { js, out, label: `JavaScript ${js ? 'on' : 'off'}` });
    await memberFlow(report, session, { base, suffix: mode });
  } catch (e) {
    report.problems.push(`JavaScript ${js ? 'on' : 'off'}: the flow stopped: ${e.message.split('\n')[0]}`);
  } finally {
    await session?.close();
  }
}

await browser.close();
finish(report.failed() ? 1 : 0);
