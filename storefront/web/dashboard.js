// The live dashboard: recent orders (step, the worker that ran the last step, outcome) and the
// Lambda emulator's invocations and concurrency per second, drawn as inline SVG. Polls every second.
import { api, ApiError, el, STEP_NAMES } from './api.js';

const $ = (id) => document.getElementById(id);
const SVG = 'http://www.w3.org/2000/svg';

function svg(tag, attrs = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

function problemText(err) {
  return err instanceof ApiError ? err.describe() : String(err);
}

async function refreshOrders() {
  try {
    const { orders } = await api('/dashboard/api/orders');
    const rows = orders.map((o) => {
      const outcome = o.outcome
        ? (o.outcome.status === 'completed' ? `Completed (${o.outcome.trackingNumber})` : `Compensated: ${o.outcome.reasonCode}`)
        : (o.status === 'running' ? '—' : o.status);
      const worker = o.worker
        ? el('span', { class: `worker ${o.worker.kind}`, title: o.worker.identity }, o.worker.kind === 'lambda' ? 'Lambda' : o.worker.kind === 'local' ? 'local worker' : 'unknown')
        : '—';
      const link = o.temporalUiUrl ? el('a', { href: o.temporalUiUrl, target: '_blank', rel: 'noopener' }, 'history') : '—';
      const step = o.step ? STEP_NAMES[o.step] || o.step : (o.note ? `? (${o.note})` : '—');
      return el('tr', { 'data-order-id': o.orderId, 'data-step': o.step || '', 'data-worker': o.worker?.kind || '' },
        el('td', {}, o.orderId), el('td', { class: `step ${o.step || ''}` }, step), el('td', {}, worker),
        el('td', {}, outcome), el('td', {}, o.startedAt ? new Date(o.startedAt).toLocaleTimeString() : '—'), el('td', {}, link));
    });
    document.querySelector('#orders tbody').replaceChildren(...rows);
    $('orders-status').textContent = orders.length ? `${orders.length} orders` : 'No orders yet.';
  } catch (err) {
    $('orders-status').textContent = `Orders unavailable: ${problemText(err)}`;
  }
}

// One chart per function: bars = invocations started in the second, line = peak concurrency.
function chart(fn) {
  const width = 720, height = 160, pad = 28;
  const series = fn.series;
  const max = Math.max(1, ...series.map((s) => Math.max(s.invocations, s.concurrency)));
  const n = Math.max(series.length, 1);
  const x = (i) => pad + (i * (width - 2 * pad)) / n;
  const y = (v) => height - pad - (v * (height - 2 * pad)) / max;
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', class: 'chart', 'data-function': fn.name });
  const title = svg('title');
  const last = series[series.length - 1] || { invocations: 0, concurrency: 0 };
  title.textContent = `${fn.name}: ${fn.invocations} invocations in total, ${fn.concurrentExecutions} running now; last second ${last.invocations} started, peak concurrency ${last.concurrency}`;
  root.append(title);
  root.append(svg('line', { x1: pad, y1: height - pad, x2: width - pad, y2: height - pad, class: 'axis' }));
  root.append(svg('line', { x1: pad, y1: pad, x2: pad, y2: height - pad, class: 'axis' }));
  const label = (text, lx, ly, anchor = 'start') => { const t = svg('text', { x: lx, y: ly, 'text-anchor': anchor }); t.textContent = text; root.append(t); };
  label(String(max), pad - 4, pad + 4, 'end');
  label('0', pad - 4, height - pad + 4, 'end');
  label(`${series.length} s ago`, pad, height - 8);
  label('now', width - pad, height - 8, 'end');
  const barWidth = Math.max(1, (width - 2 * pad) / n - 1);
  series.forEach((s, i) => {
    if (s.invocations > 0) root.append(svg('rect', { x: x(i), y: y(s.invocations), width: barWidth, height: height - pad - y(s.invocations), class: 'bar' }));
  });
  if (series.length > 0) {
    const points = series.map((s, i) => `${x(i) + barWidth / 2},${y(s.concurrency)}`).join(' ');
    root.append(svg('polyline', { points, class: 'concurrency' }));
  }
  return root;
}

async function refreshLambda() {
  try {
    const { functions } = await api('/dashboard/api/lambda');
    $('lambda-status').textContent = functions.length ? '' : 'The emulator runs no functions.';
    $('lambda-charts').replaceChildren(...functions.map((fn) => el('figure', { class: 'fn' },
      el('figcaption', {}, `${fn.name} — ${fn.invocations} invocations, ${fn.concurrentExecutions} running now, ${fn.environments} environments, ${fn.coldStarts} cold starts`),
      chart(fn))));
  } catch (err) {
    $('lambda-status').textContent = `Lambda metrics unavailable: ${problemText(err)}`;
    $('lambda-charts').replaceChildren();
  }
}

async function refresh() {
  await Promise.all([refreshOrders(), refreshLambda()]);
  $('updated').textContent = `Last update ${new Date().toLocaleTimeString()}.`;
  setTimeout(refresh, 1000);
}

refresh();
