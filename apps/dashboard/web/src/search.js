// Hyperparameter searches: the form that starts one (POST /api/searches, a SearchSpec), the
// list of searches, and a search's page with its trials ranked live (GET /api/searches/{id})
// and a Stop button (POST /api/searches/{id}/stop).
import { getJson, postJson } from './api.js';
import { h, fill, toast, statusPill } from './dom.js';
import { num } from './format.js';
import { every } from './poll.js';
import { runHref, subscribe } from './runs.js';
import { runFields, bindConditionalFields, readRunFields } from './forms.js';
import { MetricsStream } from './stream.js';
import { overlay } from './metrics.js';
import { Chart } from './charts.js';

// What ranks the trials.
const VAL_LOSS = { key: 'search_val_loss', title: 'Validation loss of the trials', events: ['eval'],
  series: [{ field: 'val_loss', label: 'val loss' }] };

const SEARCHABLE = ['lr', 'batch', 'grad_accum', 'context', 'tau', 'lora_rank', 'precision', 'attention'];

// "1e-4, 3e-4" → [0.0001, 0.0003]; words stay strings ("bf16, fp32").
function parseList(text) {
  return text.split(',').map((s) => s.trim()).filter(Boolean).map((s) => (s !== '' && Number.isFinite(Number(s)) ? Number(s) : s));
}

function parameterRow(onRemove) {
  const name = h('select', { class: 'param-name', 'aria-label': 'parameter' }, SEARCHABLE.map((p) => h('option', { value: p }, p)));
  const kind = h('select', { class: 'param-kind', 'aria-label': 'kind' },
    h('option', { value: 'values' }, 'values'), h('option', { value: 'range' }, 'range'));
  const values = h('input', { class: 'param-values', type: 'text', placeholder: '1e-4, 3e-4, 1e-3', 'aria-label': 'values' });
  const min = h('input', { class: 'param-min', type: 'number', step: 'any', placeholder: 'min', 'aria-label': 'min' });
  const max = h('input', { class: 'param-max', type: 'number', step: 'any', placeholder: 'max', 'aria-label': 'max' });
  const log = h('input', { class: 'param-log', type: 'checkbox', checked: true });
  const range = h('span', { class: 'param-range', hidden: true }, min, max, h('label', { class: 'inline' }, log, 'log'));
  kind.addEventListener('change', () => {
    values.hidden = kind.value !== 'values';
    range.hidden = kind.value !== 'range';
  });
  const row = h('div', { class: 'param-row' }, name, kind, values, range,
    h('button', { class: 'chip', type: 'button', title: 'Remove', onclick: () => { row.remove(); onRemove(); } }, '×'));
  row.read = () => (kind.value === 'values'
    ? { name: name.value, values: parseList(values.value) }
    : { name: name.value, min: Number(min.value), max: Number(max.value), log: log.checked });
  return row;
}

export function searchForm(runNames) {
  const rows = h('div', { class: 'param-rows' });
  const addRow = () => rows.append(parameterRow(() => {}));
  addRow();
  const message = h('p', { class: 'form-message', role: 'alert' });
  const submit = h('button', { class: 'button primary', type: 'submit' }, 'Start search');
  const mode = h('select', { name: 'mode' }, h('option', { value: 'grid' }, 'grid'), h('option', { value: 'random' }, 'random'));
  const trialsField = h('label', { class: 'field', hidden: true }, h('span', { class: 'field-label' }, 'Trials'),
    h('input', { name: 'trials', type: 'number', min: '1', step: '1', value: '8' }));
  mode.addEventListener('change', () => { trialsField.hidden = mode.value !== 'random'; });

  const form = h('form', { class: 'form', id: 'search-form', autocomplete: 'off' },
    h('div', { class: 'form-grid' },
      h('label', { class: 'field' }, h('span', { class: 'field-label' }, 'Search name'),
        h('input', { name: 'name', type: 'text', required: true, pattern: '[A-Za-z0-9][A-Za-z0-9._\\-]*', placeholder: 'search-lr' })),
      h('label', { class: 'field' }, h('span', { class: 'field-label' }, 'Mode'), mode),
      trialsField,
      h('label', { class: 'field', title: 'Steps at which to keep only the best 1/η trials (successive halving); the last rung is the full length.' },
        h('span', { class: 'field-label' }, 'Rungs (steps)'), h('input', { name: 'rungs', type: 'text', placeholder: '50, 150, 450' })),
      h('label', { class: 'field' }, h('span', { class: 'field-label' }, 'η (keep 1/η)'),
        h('input', { name: 'eta', type: 'number', min: '2', step: '1', value: '3' })),
      h('label', { class: 'field' }, h('span', { class: 'field-label' }, 'Parallel trials'),
        h('input', { name: 'parallel', type: 'number', min: '1', step: '1', placeholder: 'cores to spare' }))),
    h('h3', {}, 'Parameters'),
    rows,
    h('button', { class: 'chip', type: 'button', onclick: addRow }, '+ parameter'),
    h('h3', {}, 'Base settings'),
    h('div', { class: 'form-grid' }, runFields(runNames)),
    h('div', { class: 'form-actions' }, submit, message));
  bindConditionalFields(form);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const spec = {
      name: form.elements.name.value.trim(),
      base: readRunFields(form),
      mode: mode.value,
      parameters: [...rows.children].map((row) => row.read()),
    };
    if (mode.value === 'random') spec.trials = parseInt(form.elements.trials.value, 10);
    const rungs = parseList(form.elements.rungs.value);
    if (rungs.length) spec.rungs = rungs;
    if (form.elements.eta.value) spec.eta = parseInt(form.elements.eta.value, 10);
    if (form.elements.parallel.value) spec.parallel = parseInt(form.elements.parallel.value, 10);
    fill(message);
    submit.disabled = true;
    try {
      const answer = await postJson('/api/searches', spec);
      window.location.hash = `#/search/${encodeURIComponent(answer.search)}`;
    } catch (error) {
      fill(message, error.message);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

// The searches of this dashboard, kept current; returns a function that stops the polling.
export function searchList(el) {
  return every(3000, async () => {
    const answer = await getJson('/api/searches');
    if (answer.searches.length === 0) {
      fill(el, h('p', { class: 'muted' }, 'No searches yet.'));
      return;
    }
    fill(el, h('ul', { class: 'search-list' }, answer.searches.map((s) => h('li', {},
      h('a', { href: `#/search/${encodeURIComponent(s.id)}` }, s.name || s.id), ' ', statusPill(s.state),
      h('span', { class: 'muted' }, ` ${s.trials.length} trials`)))));
  });
}

function paramsText(params) {
  return Object.entries(params || {}).map(([k, v]) => `${k}=${typeof v === 'number' ? num(v) : v}`).join('  ');
}

// The trials' validation losses overlaid, one curve per trial, kept live.
function trialCurves(parent) {
  const registry = window.sieveDashboard.charts;
  const streams = new Map();
  let chart = null;
  let names = '';
  return {
    async update(runs) {
      for (const run of runs) if (!streams.has(run)) streams.set(run, new MetricsStream(run));
      const mine = runs.map((run) => streams.get(run));
      await Promise.all(mine.map((s) => s.poll().catch(() => false)));
      const data = overlay(VAL_LOSS, mine);
      if (!data) return;
      if (data.names.join('|') !== names) {
        if (chart) chart.destroy();
        names = data.names.join('|');
        chart = new Chart(parent, VAL_LOSS.key, VAL_LOSS.title, data.names.map((label) => ({ label })),
          { registry, spanGaps: true, showLatest: false });
      }
      chart.update(data.x, data.values);
    },
    destroy() {
      if (chart) chart.destroy();
    },
  };
}

export function mountSearchPage(view, id) {
  const title = h('h1', {}, 'Search');
  const stateSlot = h('span');
  const compareLink = h('a', { class: 'button ghost', href: '#/compare' }, 'Compare trials');
  const stopButton = h('button', { class: 'button danger', type: 'button', disabled: true, onclick: async () => {
    try {
      await postJson(`/api/searches/${encodeURIComponent(id)}/stop`);
      toast('Stopping the search and its trials…');
    } catch (error) {
      toast(error.message, 'error');
    }
  } }, 'Stop search');
  const body = h('tbody');
  const curvesSlot = h('div', { class: 'search-curves' });
  const curves = trialCurves(curvesSlot);
  const numeric = new Set(['rank', 'rung', 'step', 'val loss']);
  fill(view,
    h('div', { class: 'page-head' }, title, stateSlot, h('div', { class: 'actions' }, compareLink, stopButton)),
    h('section', { class: 'card' },
      h('table', { class: 'data-table', id: 'trials-table' },
        h('thead', {}, h('tr', {}, ['rank', 'run', 'parameters', 'state', 'rung', 'step', 'val loss']
          .map((c) => h('th', { class: numeric.has(c) ? 'numeric' : null }, c)))),
        body)),
    curvesSlot);
  // Trials are plotted once listed: before its first metrics a trial's run does not exist.
  let listed = new Set();
  const unsubscribe = subscribe((runs) => { listed = new Set(runs.map((r) => r.name)); });
  const stop = every(2000, async () => {
    const search = await getJson(`/api/searches/${encodeURIComponent(id)}`);
    title.textContent = search.name || search.id;
    fill(stateSlot, statusPill(search.state));
    stopButton.disabled = search.state !== 'running';
    compareLink.href = `#/compare?runs=${encodeURIComponent(search.trials.map((t) => t.run).join(','))}`;
    fill(body, search.trials.map((t, i) => h('tr', { dataset: { run: t.run } },
      h('td', { class: 'numeric' }, String(i + 1)),
      h('td', {}, h('a', { href: runHref(t.run) }, t.run)),
      h('td', { class: 'mono' }, paramsText(t.params)),
      h('td', {}, statusPill(t.state)),
      h('td', { class: 'numeric' }, num(t.rung)),
      h('td', { class: 'numeric' }, num(t.step)),
      h('td', { class: 'numeric' }, num(t.val_loss)))));
    await curves.update(search.trials.map((t) => t.run).filter((run) => listed.has(run)));
  });
  return () => {
    stop();
    unsubscribe();
    curves.destroy();
  };
}
