// Serving: the `sieve serve` instances given to `sieve dashboard --serve URL`, which the
// dashboard's server reads (their public Prometheus /metrics) every 2 s. Per instance: whether
// it answers, its models' versions, the queue, active sequences and KV cache, a table with one
// row per variant — a route's A/B split side by side — and live plots of requests/s, p95
// latency and tokens/s per variant and of the queue (GET /api/serving, polled every 2 s).
//
// The plots of an instance are in window.sieveDashboard.servingCharts[url][key], keys
// requests_per_s, p95_ms, tokens_per_s and load.
import { getJson } from './api.js';
import { h, fill, statusPill } from './dom.js';
import { num, ago, bytes } from './format.js';
import { every } from './poll.js';
import { Chart } from './charts.js';

// One plot per per-variant rate of a history point; `load` plots the queue instead.
const VARIANT_PLOTS = [
  { key: 'requests_per_s', title: 'Requests/s per variant', fromZero: true },
  { key: 'p95_ms', title: 'p95 latency per variant (ms; intervals with requests)', spanGaps: true },
  { key: 'tokens_per_s', title: 'Completion tokens/s per variant', fromZero: true },
];

const COLUMNS = [
  { key: 'route', label: 'route', value: (v) => v.route },
  { key: 'model', label: 'model', value: (v) => v.model },
  { key: 'shadow', label: 'shadow', value: (v) => (v.shadow ? 'shadow' : '') },
  { key: 'share', label: 'share', numeric: true, value: (v, share) => share,
    title: 'of the route\'s requests (shadows get a copy of each)' },
  { key: 'requests', label: 'requests', numeric: true, value: (v) => num(v.requests) },
  { key: 'errors', label: 'errors', numeric: true, value: (v) => num(v.errors) },
  { key: 'latency_p50', label: 'latency p50 (ms)', numeric: true, value: (v) => num(quantile(v.latency_ms, 'p50')) },
  { key: 'latency_p95', label: 'latency p95 (ms)', numeric: true, value: (v) => num(quantile(v.latency_ms, 'p95')) },
  { key: 'ttft_p50', label: 'TTFT p50 (ms)', numeric: true, value: (v) => num(quantile(v.ttft_ms, 'p50')) },
  { key: 'ttft_p95', label: 'TTFT p95 (ms)', numeric: true, value: (v) => num(quantile(v.ttft_ms, 'p95')) },
  { key: 'completion_tokens', label: 'tokens', numeric: true, value: (v) => num(v.completion_tokens) },
];

function quantile(quantiles, which) {
  return quantiles ? quantiles[which] ?? null : null;
}

const variantKey = (v) => `${v.route}\u0000${v.model}`;
const variantLabel = (v) => (v.route === v.model ? v.model : `${v.route} → ${v.model}`) + (v.shadow ? ' (shadow)' : '');

// Variants ordered by route, so that a route's A/B variants are neighbours, then by model.
function byRoute(a, b) {
  return a.route.localeCompare(b.route) || Number(Boolean(a.shadow)) - Number(Boolean(b.shadow))
    || a.model.localeCompare(b.model);
}

// "45 %" of the route's requests that went to this variant; none for a shadow (it sees all).
function shares(variants) {
  const total = new Map();
  for (const v of variants) if (!v.shadow) total.set(v.route, (total.get(v.route) || 0) + v.requests);
  return variants.map((v) => {
    const sum = total.get(v.route) || 0;
    return v.shadow || sum === 0 ? '–' : `${Math.round((100 * v.requests) / sum)} %`;
  });
}

function stat(label, value, title, detail = null) {
  return h('div', { class: 'stat', title: title || null }, h('div', { class: 'stat-label' }, label),
    h('div', { class: 'stat-value' }, value), detail ? h('div', { class: 'stat-detail' }, detail) : null);
}

function variantTable(variants) {
  if (variants.length === 0) return h('p', { class: 'muted' }, 'No model or route has been asked yet.');
  const sorted = [...variants].sort(byRoute);
  const share = shares(sorted);
  return h('div', { class: 'table-scroll' }, h('table', { class: 'data-table variants-table' },
    h('thead', {}, h('tr', {},
      COLUMNS.map((c) => h('th', { class: c.numeric ? 'numeric' : null, title: c.title || null }, c.label)))),
    h('tbody', {}, sorted.map((v, i) => h('tr',
      { dataset: { route: v.route, model: v.model }, class: v.shadow ? 'shadow-variant' : null },
      COLUMNS.map((c) => h('td', { class: c.numeric ? 'numeric' : null, dataset: { column: c.key } }, c.value(v, share[i]))))))));
}

// One instance's section: built once, refilled on every answer; its plots keep their zoom.
class TargetView {
  constructor(url, registry) {
    this.url = url;
    this.registry = registry;
    this.charts = new Map();  // plot key → {chart, series: the series' identity}
    this.head = h('div', { class: 'serving-head' });
    this.stats = h('div', { class: 'stats' });
    this.variants = h('div');
    this.slots = Object.fromEntries([...VARIANT_PLOTS.map((p) => p.key), 'load']
      .map((key) => [key, h('div', { class: 'chart-slot' })]));
    this.noHistory = h('p', { class: 'muted' }, 'The plots start with the second reading of /metrics.');
    this.element = h('section', { class: 'serving-target', dataset: { url } },
      this.head, this.stats,
      h('section', { class: 'card' }, h('h2', {}, 'Variants'), this.variants),
      this.noHistory,
      h('div', { class: 'chart-grid' }, Object.values(this.slots)));
  }

  update(target) {
    const models = Object.entries(target.models || {});
    fill(this.head,
      h('h2', { class: 'serving-url' }, target.url),
      statusPill(target.up ? 'up' : 'down'),
      target.error ? h('span', { class: 'serving-error' }, target.error) : null,
      h('span', { class: 'serving-models' }, models.length === 0 ? 'no models'
        : models.map(([name, version]) => h('span', { class: 'model-version' }, `${name} v${version}`))),
      h('span', { class: 'muted small serving-updated' }, `read ${ago(target.updated_unix_time)}`));
    const gauges = target.gauges || {};
    const refused = Object.entries(target.refused || {});
    const refusedTotal = refused.reduce((sum, [, n]) => sum + n, 0);
    fill(this.stats,
      stat('queued', num(gauges.queued), 'requests waiting for a place in the batch'),
      stat('active', num(gauges.active), 'sequences being generated'),
      stat('KV cache', bytes(gauges.kv_cache_bytes), 'memory held by the active sequences\' key/value caches'),
      stat('refused', num(refusedTotal), 'requests turned away before they reached a model (queue full, draining, …)',
        refused.map(([reason, n]) => `${reason} ${num(n)}`).join(', ')));
    fill(this.variants, variantTable(target.variants || []));
    this.plot(target);
  }

  plot(target) {
    const history = target.history || [];
    this.noHistory.hidden = history.length >= 2;
    const x = history.map((p) => p.t);
    // Every variant seen in the history or now, in the table's order.
    const seen = new Map();
    for (const v of [...(target.variants || []), ...history.flatMap((p) => p.variants || [])]) {
      if (!seen.has(variantKey(v))) seen.set(variantKey(v), v);
    }
    const variants = [...seen.values()].sort(byRoute);
    for (const spec of VARIANT_PLOTS) {
      const values = variants.map((v) => history.map((p) => {
        const found = (p.variants || []).find((w) => variantKey(w) === variantKey(v));
        return found && typeof found[spec.key] === 'number' ? found[spec.key] : null;
      }));
      this.draw(spec.key, spec.title, variants.map((v) => ({ label: variantLabel(v) })), x, values,
        { spanGaps: Boolean(spec.spanGaps), fromZero: Boolean(spec.fromZero), showLatest: false });
    }
    this.draw('load', 'Queued and active', [{ label: 'queued' }, { label: 'active' }], x,
      [history.map((p) => p.queued ?? null), history.map((p) => p.active ?? null)], { fromZero: true, showLatest: false });
  }

  // Updates a plot, or makes it anew when its series changed (a variant appeared).
  draw(key, title, series, x, values, options) {
    const identity = series.map((s) => s.label).join('\u0000');
    let entry = this.charts.get(key);
    if (entry && entry.identity !== identity) {
      entry.chart.destroy();
      this.charts.delete(key);
      entry = null;
    }
    if (series.length === 0 || x.length === 0) return;
    if (!entry) {
      const chart = new Chart(this.slots[key], key, title, series,
        { ...options, time: true, syncKey: `serving ${this.url}`, registry: this.registry });
      entry = { chart, identity };
      this.charts.set(key, entry);
    }
    entry.chart.update(x, values);
  }

  destroy() {
    for (const { chart } of this.charts.values()) chart.destroy();
    this.element.remove();
  }
}

function noTargets() {
  return h('div', { class: 'card serving-empty' },
    h('p', {}, 'No servers to watch. Start the dashboard with ', h('code', {}, '--serve http://HOST:PORT'),
      ' for each ', h('code', {}, 'sieve serve'), ' instance (the option can be repeated), for example:'),
    h('pre', { class: 'code' }, 'sieve serve --model tiny=runs/tiny --http 127.0.0.1:8080\n'
      + 'sieve dashboard --runs runs --serve http://127.0.0.1:8080'),
    h('p', { class: 'muted' }, 'The dashboard reads each server\'s public /metrics every 2 s; it needs no admin token.'));
}

export function mount(view) {
  const registry = window.sieveDashboard.servingCharts;
  for (const key of Object.keys(registry)) delete registry[key];
  const targets = new Map();  // url → TargetView
  const body = h('div', { class: 'serving' }, h('p', { class: 'muted' }, 'Loading…'));
  fill(view, h('div', { class: 'page-head' }, h('h1', {}, 'Serving'),
    h('span', { class: 'muted small' }, 'live from each server\'s /metrics · drag to zoom · double-click to reset')), body);

  const render = (answer) => {
    const urls = new Set(answer.targets.map((t) => t.url));
    for (const [url, target] of targets) {
      if (urls.has(url)) continue;
      target.destroy();
      targets.delete(url);
      delete registry[url];
    }
    if (answer.targets.length === 0) {
      fill(body, noTargets());
      return;
    }
    if (body.querySelector('.serving-target') === null) fill(body);
    answer.targets.forEach((target, i) => {
      let shown = targets.get(target.url);
      if (!shown) {
        registry[target.url] = {};
        shown = new TargetView(target.url, registry[target.url]);
        targets.set(target.url, shown);
      }
      // In the answer's order; an element already in place is not moved (nor its plots redrawn).
      if (body.children[i] !== shown.element) body.insertBefore(shown.element, body.children[i] || null);
      shown.update(target);
    });
  };

  const stop = every(2000, async () => render(await getJson('/api/serving')), (error) => {
    if (targets.size === 0) fill(body, h('div', { class: 'card empty' }, error.message));
  });
  return () => {
    stop();
    for (const target of targets.values()) target.destroy();
  };
}
