// Compare: runs picked with check boxes, their curves overlaid (one plot per metric, one series
// per run, kept live), a table of final metrics and one of the config values that differ
// (GET /api/compare?runs=a,b). The selection is kept in the address (#/compare?runs=a,b).
import { getJson } from './api.js';
import { h, fill } from './dom.js';
import { cell } from './format.js';
import { every } from './poll.js';
import { MetricsStream } from './stream.js';
import { METRICS, overlay } from './metrics.js';
import { Chart } from './charts.js';
import { subscribe } from './runs.js';
import { smoothingControl } from './smoothing.js';

function table(columns, rows) {
  return h('table', { class: 'data-table' },
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', {}, c)))),
    h('tbody', {}, rows.map((row) => h('tr', {}, row.map((v, i) => h('td', { class: i > 0 && typeof v === 'number' ? 'numeric' : null }, cell(v)))))));
}

export function mount(view, initial) {
  const registry = window.sieveDashboard.compareCharts;
  for (const key of Object.keys(registry)) delete registry[key];
  const selected = new Set(initial);
  let streams = [];
  const charts = new Map();  // metric key → {chart, names}

  const picker = h('div', { class: 'picker' });
  const smoothing = smoothingControl((weight) => { for (const { chart } of charts.values()) chart.setSmoothing(weight); });
  const grid = h('div', { class: 'chart-grid' });
  const slots = Object.fromEntries(METRICS.map((m) => [m.key, h('div', { class: 'chart-slot' })]));
  grid.append(...Object.values(slots));
  const finals = h('div', { id: 'compare-finals' });
  const differences = h('div', { id: 'compare-differences' });
  const hint = h('p', { class: 'muted empty' }, 'Pick two or more runs to overlay their curves.');

  fill(view,
    h('div', { class: 'page-head' }, h('h1', {}, 'Compare')),
    h('div', { class: 'compare-layout' },
      h('section', { class: 'card picker-card' }, h('h2', {}, 'Runs'), picker),
      h('div', { class: 'compare-main' },
        hint,
        h('div', { class: 'section-head' }, h('h2', {}, 'Curves'), smoothing.element),
        grid,
        h('section', { class: 'card' }, h('h2', {}, 'Final metrics'), finals),
        h('section', { class: 'card' }, h('h2', {}, 'Config differences'), differences))));

  function renderCharts() {
    for (const metric of METRICS) {
      const data = overlay(metric, streams);
      const names = data ? data.names.join('|') : '';
      let entry = charts.get(metric.key);
      if (entry && entry.names !== names) {
        entry.chart.destroy();
        charts.delete(metric.key);
        entry = null;
      }
      if (!data) continue;
      if (!entry) {
        const series = data.names.map((name) => ({ label: name }));
        const chart = new Chart(slots[metric.key], metric.key, metric.title, series,
          { log: metric.log, smoothing: smoothing.value(), syncKey: 'compare', registry, spanGaps: true, showLatest: false });
        entry = { chart, names };
        charts.set(metric.key, entry);
      }
      entry.chart.update(data.x, data.values);
    }
  }

  async function refreshTables() {
    if (selected.size === 0) {
      fill(finals, h('p', { class: 'muted' }, 'No runs selected.'));
      fill(differences);
      return;
    }
    const answer = await getJson(`/api/compare?runs=${encodeURIComponent([...selected].join(','))}`);
    const keys = [...new Set(answer.final.flatMap((f) => Object.keys(f).filter((k) => k !== 'name')))];
    fill(finals, table(['run', ...keys], answer.final.map((f) => [f.name, ...keys.map((k) => f[k])])));
    fill(differences, answer.config_differences.length === 0
      ? h('p', { class: 'muted' }, answer.runs.length > 1 ? 'The configs are the same.' : 'Pick another run to see differences.')
      : table(['key', ...answer.runs], answer.config_differences.map((d) => [d.key, ...d.values])));
  }

  function selectionChanged() {
    history.replaceState(history.state, '', `#/compare?runs=${encodeURIComponent([...selected].join(','))}`);
    const kept = new Map(streams.map((s) => [s.name, s]));
    streams = [...selected].map((name) => kept.get(name) || new MetricsStream(name));
    hint.hidden = selected.size >= 2;
    renderCharts();
    // A newly picked run's curves now rather than at the next poll.
    const fresh = streams.filter((s) => !kept.has(s.name));
    Promise.all(fresh.map((s) => s.poll())).then(renderCharts, () => {});
    refreshTables().catch(() => {});
  }

  const unsubscribe = subscribe((runs) => {
    const known = new Set(runs.map((r) => r.name));
    for (const name of [...selected]) if (!known.has(name)) selected.delete(name);
    fill(picker, runs.map((run) => h('label', { class: 'pick' },
      h('input', { type: 'checkbox', value: run.name, checked: selected.has(run.name), onchange: (event) => {
        if (event.target.checked) selected.add(run.name); else selected.delete(run.name);
        selectionChanged();
      } }),
      h('span', { class: `dot status-${run.status}` }), run.name)));
    if (streams.length !== selected.size) selectionChanged();
  });

  const stopMetrics = every(2000, async () => {
    const changed = await Promise.all(streams.map((s) => s.poll()));
    if (changed.some(Boolean)) renderCharts();
  });
  const stopTables = every(10000, refreshTables);
  hint.hidden = selected.size >= 2;

  return () => {
    unsubscribe();
    stopMetrics();
    stopTables();
    for (const { chart } of charts.values()) chart.destroy();
  };
}
