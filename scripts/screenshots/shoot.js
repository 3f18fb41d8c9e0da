// Takes the screenshots of docs/operator.md with Debian's headless Chromium (playwright-core drives
// /usr/bin/chromium; no browser is downloaded). scripts/screenshots.sh starts the stack and a device
// that waits on an operator, then runs this:
//
//   node shoot.js --ui http://localhost:8233 --serial F2LXK0A1HG7J --step console-wipe --by alice \
//     --out docs/images --user-data-dir /tmp/fresh-dir [--next await-greyed-out]
//
// It saves, in --out:
//   operator-1-list.png        the workflow list filtered by WaitingOn="operator"
//   operator-2-details.png     the device's workflow page: Current details with the instruction
//   operator-3-update.png      "Send an Update" filled with the complete-step JSON
//   operator-4-next-step.png   after the update: the device on its next step
// The Web UI is version 2.42.1 (the one the Temporal CLI's dev server embeds); its selectors are here.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { chromium } = require('playwright-core');

function parseArgs(argv) {
  const out = { ui: 'http://localhost:8233', namespace: 'default', by: 'alice', out: 'docs/images', next: '' };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '').replace(/-(.)/g, (_, c) => c.toUpperCase());
    if (!(key in out) && !['serial', 'step', 'userDataDir'].includes(key)) throw new Error(`unknown flag ${argv[i]}`);
    out[key] = argv[i + 1];
  }
  for (const need of ['serial', 'step', 'userDataDir']) {
    if (!out[need]) throw new Error(`--${need.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())} is required`);
  }
  return out;
}

// The flags of docs/operator.md: headless, no sandbox (root in a container), nothing phoned home.
// playwright-core adds --headless itself and passes the fresh profile as --user-data-dir.
const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const WIDTH = 1280;
const HEIGHT = 800;
const DETAILS_HEIGHT = 1000;

async function main() {
  const opt = parseArgs(process.argv.slice(2));
  fs.mkdirSync(opt.out, { recursive: true });
  const workflowId = `offboard-${opt.serial}`;
  const base = `${opt.ui}/namespaces/${opt.namespace}`;
  const report = { step: opt.step, by: opt.by, outcome: 'done' };

  const context = await chromium.launchPersistentContext(opt.userDataDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: chromiumArgs,
    viewport: { width: WIDTH, height: HEIGHT },
    deviceScaleFactor: 1,
    colorScheme: 'light',
    locale: 'en-US',
    timezoneId: 'UTC',
  });
  context.setDefaultTimeout(30_000);
  const page = context.pages()[0] || (await context.newPage());
  const shot = async (name) => {
    const file = path.join(opt.out, name);
    await page.screenshot({ path: file, animations: 'disabled', caret: 'hide' });
    console.log(`  wrote ${file}`);
  };

  try {
    // (a) Devices that wait on an operator: the list, filtered by the WaitingOn search attribute,
    // with the search attributes as columns instead of the run ID and type.
    await page.goto(`${base}/workflows?query=${encodeURIComponent('WaitingOn="operator"')}`);
    await page.getByRole('link', { name: workflowId }).first().waitFor();
    await page.getByRole('button', { name: 'Collapse saved views' }).click();
    await page.getByTestId('workflows-summary-table-configuration-button').click();
    for (const column of ['Run ID', 'Type', 'End']) {
      await page.getByTestId(`orderable-list-item-${column}-remove-button`).click();
    }
    for (const column of ['OffboardPath', 'OffboardStep', 'WaitingOn']) {
      await page.getByTestId(`orderable-list-item-${column}-add-button`).click();
    }
    await page.getByTestId('drawer-close-button').click();
    await page.locator('#workflows-table-configuration-drawer').waitFor({ state: 'hidden' });
    await settle(page);
    await shot('operator-1-list.png');

    // (b) The device's page, "User Metadata" tab: Current details shows the instruction.
    await page.getByRole('link', { name: workflowId }).first().click();
    await page.waitForURL(/\/history$/);
    const metadataURL = page.url().replace(/\/history$/, '/user-metadata');
    // Taller than the others, so the whole instruction and the report line fit.
    await page.setViewportSize({ width: WIDTH, height: DETAILS_HEIGHT });
    await openDetails(page, metadataURL, { want: `${opt.step}, waiting on`, scrollToTabs: true });
    await shot('operator-2-details.png');
    await page.setViewportSize({ width: WIDTH, height: HEIGHT });

    // (c) More Actions → Send an Update: complete-step, with the report as JSON.
    await page.getByRole('button', { name: 'More Actions' }).first().click();
    await page.locator('[data-testid=update-button]:visible').first().click();
    const dialog = page.getByRole('dialog', { name: 'Send an Update' });
    await dialog.waitFor();
    await dialog.locator('[data-testid=update-select-button]').click();
    await dialog.getByRole('option', { name: /^complete-step/ }).click();
    const editor = dialog.locator('.cm-content');
    await editor.click();
    // insertText types no keys, so the editor's bracket and quote closing adds nothing.
    await page.keyboard.insertText(JSON.stringify(report).replace(/,"/g, ', "').replace(/":/g, '": '));
    // Leaving the editor formats the JSON (and moves the Submit button): leave it before the shot.
    await editor.evaluate((el) => el.blur());
    await page.waitForTimeout(500);
    const typed = (await editor.innerText()).trim();
    if (JSON.stringify(JSON.parse(typed)) !== JSON.stringify(report)) {
      throw new Error(`the update form holds ${typed}, not the report`);
    }
    await page.mouse.move(0, 0);
    await settle(page);
    await shot('operator-3-update.png');

    // (d) Submit; the device moves on to its next step, and Current details says so.
    await dialog.getByRole('button', { name: 'Submit' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await openDetails(page, metadataURL, { want: opt.next ? `${opt.next}, waiting on` : '', gone: opt.step });
    await shot('operator-4-next-step.png');
  } finally {
    await context.close();
  }
}

// openDetails loads the "User Metadata" tab until Current details shows want (and no longer shows
// gone as the current step); with scrollToTabs it scrolls the workflow's header out of the view.
async function openDetails(page, url, { want, gone, scrollToTabs }) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    await page.goto(url);
    await page.getByText('Current Details', { exact: true }).first().waitFor();
    const text = await detailsText(page);
    const nowLine = (text.match(/Now: .*/) || [''])[0];
    if (nowLine && (!want || nowLine.includes(want)) && (!gone || !nowLine.includes(`${gone},`))) break;
    if (Date.now() > deadline) throw new Error(`Current details never showed "${want}" (now: ${nowLine || 'nothing'})`);
    await page.waitForTimeout(1000);
  }
  // The iframe sizes itself to its markdown once it has rendered: wait until its height settles.
  let last = -1;
  for (let i = 0; i < 20; i++) {
    const height = await page.evaluate(() => Math.max(0, ...[...document.querySelectorAll('iframe')].map((f) => f.clientHeight)));
    if (height > 150 && height === last) break;
    last = height;
    await page.waitForTimeout(250);
  }
  if (scrollToTabs) {
    await page.locator('#user-metadata-tab').evaluate((tab) => {
      // The tabs just below the Web UI's top bar, Current details under them.
      const scroller = document.getElementById('content-wrapper') || document.scrollingElement;
      scroller.scrollTop += tab.getBoundingClientRect().top - 60;
    });
  }
  await settle(page);
}

// detailsText is the text of Current details, which the Web UI renders as markdown in an iframe.
async function detailsText(page) {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    for (const frame of page.frames()) {
      if (frame === page.mainFrame() || !frame.url().includes('/render?')) continue;
      const text = await frame.evaluate(() => document.body?.innerText || '').catch(() => '');
      if (text.includes('Now:') || text.includes(' mode · ')) return text;
    }
    await page.waitForTimeout(250);
  }
  return '';
}

async function settle(page) {
  await page.evaluate(() => document.fonts.ready);
  await page.waitForTimeout(500);
}

main().catch((err) => {
  console.error(`screenshots: ${err.message}`);
  process.exit(1);
});
