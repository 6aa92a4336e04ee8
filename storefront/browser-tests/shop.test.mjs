// The storefront page and the dashboard in headless Chromium, against a real ShopFlow (Temporal,
// ingest-fn in the Lambda emulator, the storefront, a local worker) that storefront/tests/browser.rs
// starts. Scenarios run in order in one browser: the dashboard checks the orders placed before it.
//
// Env: SHOPFLOW_URL (the storefront), SCREENSHOT_DIR, CHROMIUM (default /usr/bin/chromium),
// SHOPFLOW_WORKER: the worker expected to run the orders, `local` (default) or `lambda` (the
// local worker was stopped, so the Worker Controller invokes the Lambda worker).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const BASE = process.env.SHOPFLOW_URL;
const SCREENSHOTS = process.env.SCREENSHOT_DIR || path.resolve('screenshots');
// Orders run through a real workflow; generous, since the CI machine is slow and shared.
const ORDER_TIMEOUT = 90_000;
const WORKER = process.env.SHOPFLOW_WORKER || 'local';

let context;
let page;
let userDataDir;
const problems = [];
const placed = {};

before(async () => {
  assert.ok(BASE, 'SHOPFLOW_URL must point at a running storefront');
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'shopflow-chromium-'));
  // A persistent context is how Playwright takes a --user-data-dir of our choosing: a fresh one
  // per run, so no profile state leaks between runs.
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = context.pages()[0] || (await context.newPage());
  // Script errors and CSP violations would break the pages silently; collect them and fail.
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/status of (404|422|502|503)/.test(msg.text())) problems.push(`console: ${msg.text()}`);
  });
});

after(async () => {
  await context?.close();
  if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
});

async function shot(name) {
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

async function fillCustomer(id) {
  await page.fill('#customer-id', id);
}

async function setQuantity(sku, n) {
  await page.fill(`#qty-${sku}`, String(n));
}

test('the page lists the catalog', async () => {
  await page.goto(`${BASE}/`);
  await page.waitForSelector('#catalog li[data-sku]');
  const skus = await page.$$eval('#catalog li[data-sku]', (lis) => lis.map((li) => li.dataset.sku));
  assert.deepEqual(skus.sort(), ['CAP-NAVY', 'HOODIE-GRY-M', 'MUG-CLASSIC', 'STICKER-PACK', 'TEE-BLK-M', 'TEE-WHT-L']);
  assert.match(await page.textContent('#catalog li[data-sku="MUG-CLASSIC"]'), /Classic mug.*\$14\.00/);
  assert.equal(await page.textContent('#catalog-status'), '6 products');
  await shot('shop-catalog');
});

test('errors from the API are shown, in its own words', async () => {
  await page.goto(`${BASE}/`);
  await page.waitForSelector('#catalog li[data-sku]');
  await page.click('#place-order');
  assert.match(await page.textContent('#error'), /at least one item/);
  await setQuantity('MUG-CLASSIC', 1);
  await page.fill('#email', 'not-an-email');
  await page.click('#place-order');
  await page.waitForFunction(() => /customer\.email/.test(document.querySelector('#error').textContent));
  assert.match(await page.textContent('#error'), /422/);
  assert.equal(await page.isVisible('#progress'), false, 'no order was placed');
});

// The shop's fault injection (PUT /admin/faults), used to hold an order on one step long enough
// for the page's once-a-second status poll to show it.
async function setFaults(faults) {
  const response = await fetch(`${BASE}/admin/faults`, {
    method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(faults),
  });
  assert.equal(response.status, 200, await response.text());
}

const stepStates = () => page.$$eval('#steps li', (lis) => lis.map((li) => `${li.dataset.step}:${li.dataset.state}`));

test('placing an order shows it progressing step by step to Completed', async () => {
  await page.goto(`${BASE}/`);
  await page.waitForSelector('#catalog li[data-sku]');
  await setQuantity('MUG-CLASSIC', 2);
  await setQuantity('STICKER-PACK', 1);
  assert.equal(await page.textContent('#total'), '$33.00');
  // Shipments take 3 s, so the page must show the order standing on CreatingShipment.
  await setFaults({ latencyMs: 3000, services: ['shipments'] });
  try {
    await page.click('#place-order');
    await page.waitForSelector('#order-summary[data-order-id]');
    placed.completed = await page.getAttribute('#order-summary', 'data-order-id');
    await page.waitForSelector('#steps li[data-step="CreatingShipment"][data-state="current"]', { timeout: ORDER_TIMEOUT });
    assert.deepEqual(await stepStates(), ['ReservingInventory:done', 'ChargingCustomer:done', 'CreatingShipment:current', 'NotifyingCustomer:pending']);
    assert.match(await page.textContent('#order-result'), /Create shipment…/);
    await shot('shop-in-progress');
  } finally {
    await setFaults({});
  }
  await page.waitForSelector('#order-result[data-step="Completed"]', { timeout: ORDER_TIMEOUT });
  assert.deepEqual(await stepStates(), ['ReservingInventory:done', 'ChargingCustomer:done', 'CreatingShipment:done', 'NotifyingCustomer:done']);
  assert.match(await page.textContent('#order-result'), new RegExp(`Completed: tracking number \\S+\\. Last step ran on the ${WORKER} worker`));
  assert.match(await page.getAttribute('#order-summary a', 'href'), new RegExp(`/workflows/order-${placed.completed}$`));
  await shot('shop-completed');
});

test('a declined customer shows Compensated', async () => {
  await page.goto(`${BASE}/`);
  await page.waitForSelector('#catalog li[data-sku]');
  await setQuantity('HOODIE-GRY-M', 1);
  await fillCustomer(`decline-${Date.now()}`);
  await page.click('#place-order');
  await page.waitForSelector('#order-summary[data-order-id]');
  placed.compensated = await page.getAttribute('#order-summary', 'data-order-id');
  await page.waitForSelector('#order-result[data-step="Compensated"]', { timeout: ORDER_TIMEOUT });
  assert.deepEqual(await stepStates(), ['ReservingInventory:done', 'ChargingCustomer:failed', 'CreatingShipment:pending', 'NotifyingCustomer:pending']);
  assert.match(await page.textContent('#order-result'), /Compensated: Charge customer failed \(card-declined/);
  assert.match(await page.textContent('#undone'), /ReleaseInventory \S+ — done/);
  await shot('shop-compensated');
});

test('the dashboard lists the orders with their worker, and charts Lambda', async () => {
  assert.ok(placed.completed && placed.compensated, 'the order scenarios ran first');
  await page.goto(`${BASE}/dashboard`);
  const row = (id) => `#orders tbody tr[data-order-id="${id}"]`;
  await page.waitForSelector(`${row(placed.completed)}[data-step="Completed"][data-worker="${WORKER}"]`, { timeout: 30_000 });
  await page.waitForSelector(`${row(placed.compensated)}[data-step="Compensated"][data-worker="${WORKER}"]`, { timeout: 30_000 });
  assert.match(await page.textContent(row(placed.compensated)), /Compensated: card-declined/);
  assert.match(await page.getAttribute(`${row(placed.completed)} a`, 'href'), /\/namespaces\/default\/workflows\/order-web-/);
  // ingest-fn ran in the emulator once per placed order (the failed e-mail never left the shop).
  await page.waitForSelector('svg.chart[data-function="ingest-fn"]');
  const captions = await page.$$eval('#lambda-charts figcaption', (cs) => cs.map((c) => c.textContent));
  assert.ok(captions.some((c) => /^ingest-fn — 2 invocations/.test(c)), captions.join(' | '));
  if (WORKER === 'lambda') {
    // The Lambda worker ran the orders, then scaled to zero: nothing running any more.
    await page.waitForFunction(
      () => [...document.querySelectorAll('#lambda-charts figcaption')].some((c) => /^shopflow-worker — [1-9]\d* invocations, 0 running now/.test(c.textContent)),
      null, { timeout: 60_000 });
    // ...and the chart's latest full second shows it too (the "drop to zero" the demo is about).
    await page.waitForFunction(
      () => /last second 0 started, peak concurrency 0$/.test(document.querySelector('svg.chart[data-function="shopflow-worker"] title')?.textContent || ''),
      null, { timeout: 60_000 });
  }
  // Let a few polls happen: the page must keep updating without errors.
  await page.waitForFunction(() => /Last update/.test(document.querySelector('#updated').textContent));
  await shot('dashboard');
});

test('no script errors or CSP violations on any page', () => {
  assert.deepEqual(problems, []);
});
