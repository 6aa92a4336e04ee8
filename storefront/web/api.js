// Talking to the storefront's JSON API. Every error answer is RFC 9457 problem+json; it is turned
// into an ApiError that keeps the server's own words, so the pages can show what really happened.

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }

  // One line for people: title, detail and any field errors the server listed.
  describe() {
    const p = this.problem;
    const parts = [p.title ? `${p.title} (${this.status})` : `HTTP ${this.status}`];
    if (p.detail) parts.push(p.detail);
    if (Array.isArray(p.errors)) {
      for (const e of p.errors) parts.push(`${e.field}: ${e.message}`);
    }
    return parts.join(' — ');
  }
}

export async function api(path, options = {}) {
  let response;
  try {
    response = await fetch(path, {
      ...options,
      headers: { accept: 'application/json', ...(options.body ? { 'content-type': 'application/json' } : {}) },
    });
  } catch (err) {
    throw new ApiError(0, { title: 'The storefront did not answer', detail: String(err) });
  }
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = { detail: text.slice(0, 200) };
  }
  if (!response.ok) throw new ApiError(response.status, body || {});
  return body;
}

// Creates an element with text (never HTML: order data comes from shoppers).
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null) node.setAttribute(name, value);
  }
  for (const child of children) {
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function money(minor, currency) {
  return new Intl.NumberFormat('en-US', { style: 'currency', currency }).format(minor / 100);
}

// Human names of the workflow's steps.
export const STEP_NAMES = {
  Received: 'Received',
  ReservingInventory: 'Reserve inventory',
  ChargingCustomer: 'Charge customer',
  CreatingShipment: 'Create shipment',
  NotifyingCustomer: 'Notify customer',
  Compensating: 'Compensating',
  Completed: 'Completed',
  Compensated: 'Compensated',
};

export const FORWARD_STEPS = ['ReservingInventory', 'ChargingCustomer', 'CreatingShipment', 'NotifyingCustomer'];
