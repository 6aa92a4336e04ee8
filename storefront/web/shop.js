// The shop page: catalog → cart → POST /shop/orders → poll the order's status every second and
// draw its steps until it is Completed or Compensated.
import { api, ApiError, el, money, STEP_NAMES, FORWARD_STEPS } from './api.js';

const $ = (id) => document.getElementById(id);
let catalog = [];
let polling = null;

function showError(err) {
  const box = $('error');
  box.textContent = err instanceof ApiError ? err.describe() : String(err);
  box.hidden = false;
}

function clearError() {
  $('error').hidden = true;
  $('error').textContent = '';
}

async function loadCatalog() {
  try {
    const { items } = await api('/catalog');
    catalog = items;
    const list = $('catalog');
    list.replaceChildren();
    for (const item of items) {
      const input = el('input', {
        type: 'number', min: '0', max: String(Math.min(item.available, 1000)), value: '0',
        id: `qty-${item.sku}`, 'data-sku': item.sku, inputmode: 'numeric',
      });
      input.addEventListener('input', updateTotal);
      list.append(el('li', { 'data-sku': item.sku },
        el('span', { class: 'name' }, item.name),
        el('span', { class: 'price' }, money(item.unitPriceMinor, item.currency)),
        el('span', { class: 'stock' }, `${item.available} in stock`),
        el('label', { for: `qty-${item.sku}` }, el('span', { class: 'visually-hidden' }, `Quantity of ${item.name}`)),
        input));
    }
    $('catalog-status').textContent = `${items.length} products`;
    updateTotal();
  } catch (err) {
    $('catalog-status').textContent = 'The catalog could not be loaded.';
    showError(err);
  }
}

function cart() {
  return [...document.querySelectorAll('#catalog input[data-sku]')]
    .map((input) => ({ sku: input.dataset.sku, quantity: Number.parseInt(input.value, 10) || 0 }))
    .filter((line) => line.quantity > 0);
}

function updateTotal() {
  const lines = cart();
  if (lines.length === 0) { $('total').textContent = '—'; return; }
  const currency = catalog[0]?.currency || 'USD';
  const minor = lines.reduce((sum, line) => sum + line.quantity * (catalog.find((c) => c.sku === line.sku)?.unitPriceMinor || 0), 0);
  $('total').textContent = money(minor, currency);
}

async function placeOrder(event) {
  event.preventDefault();
  clearError();
  const form = new FormData($('checkout'));
  const items = cart();
  if (items.length === 0) { showError('Choose at least one item (set a quantity above 0).'); return; }
  const order = {
    customer: { id: form.get('customerId').trim(), email: form.get('email').trim() },
    items,
    shippingAddress: {
      name: form.get('name'), line1: form.get('line1'), line2: form.get('line2') || null,
      city: form.get('city'), postalCode: form.get('postalCode'), country: form.get('country').trim().toUpperCase(),
    },
  };
  const button = $('place-order');
  button.disabled = true;
  try {
    const placed = await api('/shop/orders', { method: 'POST', body: JSON.stringify(order) });
    startWatching(placed);
  } catch (err) {
    showError(err);
  } finally {
    button.disabled = false;
  }
}

function startWatching(placed) {
  if (polling) clearInterval(polling);
  $('progress').hidden = false;
  const summary = $('order-summary');
  summary.replaceChildren(`Order ${placed.orderId} placed. `);
  summary.dataset.orderId = placed.orderId;
  if (placed.temporalUiUrl) {
    summary.append(el('a', { href: placed.temporalUiUrl, target: '_blank', rel: 'noopener' }, 'Open in Temporal UI'));
  }
  $('order-result').textContent = 'Waiting for the workflow…';
  drawSteps(null);
  const tick = async () => {
    try {
      const view = await api(placed.statusUrl);
      drawSteps(view);
      if (view.status !== 'running') { clearInterval(polling); polling = null; loadCatalog(); }
    } catch (err) {
      // 404 right after placing: ingest accepted it, the workflow is being started. Keep polling.
      if (!(err instanceof ApiError && err.status === 404)) $('order-result').textContent = err.describe ? err.describe() : String(err);
    }
  };
  tick();
  polling = setInterval(tick, 1000);
}

function drawSteps(view) {
  const done = new Set(view?.done || []);
  const failed = view?.outcome?.status === 'compensated' ? view.outcome.failedStep : null;
  const list = $('steps');
  list.replaceChildren();
  for (const step of FORWARD_STEPS) {
    let state = 'pending';
    if (done.has(step)) state = 'done';
    else if (step === failed) state = 'failed';
    else if (view?.step === step) state = 'current';
    const label = { pending: 'waiting', done: 'done', failed: 'failed', current: 'in progress' }[state];
    list.append(el('li', { class: state, 'data-step': step, 'data-state': state },
      el('span', { class: 'step-name' }, STEP_NAMES[step]), el('span', { class: 'step-state' }, label)));
  }
  const result = $('order-result');
  result.dataset.step = view?.step || '';
  if (!view) return;
  const worker = view.worker ? ` Last step ran on the ${view.worker.kind} worker (${view.worker.identity}).` : '';
  if (view.step === 'Completed') {
    result.textContent = `Completed: tracking number ${view.outcome.trackingNumber}.${worker}`;
  } else if (view.step === 'Compensated') {
    result.textContent = `Compensated: ${STEP_NAMES[view.outcome.failedStep]} failed (${view.outcome.reasonCode}: ${view.outcome.reason}); everything before it was undone.${worker}`;
  } else if (view.step) {
    result.textContent = `${STEP_NAMES[view.step]}…${worker}`;
  } else {
    result.textContent = `${view.status}${view.note ? ` — ${view.note}` : ''}`;
  }
  $('undone').replaceChildren(...(view.undone || []).map((u) =>
    el('li', {}, `${u.action} ${u.reference}${u.error ? ` — failed: ${u.error}` : ' — done'}`)));
}

$('checkout').addEventListener('submit', placeOrder);
loadCatalog();
