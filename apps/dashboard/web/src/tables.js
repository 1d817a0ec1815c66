// Tables: the project's benchmark and compression results (GET /api/tables, from
// bench/results.jsonl or the file given to --results), one table per benchmark.
import { getJson } from './api.js';
import { h, fill } from './dom.js';
import { cell } from './format.js';

function resultTable(t) {
  const head = h('thead', {}, h('tr', {}, t.columns.map((c) => h('th', {}, c))));
  const rows = t.rows.map((row) => h('tr', {},
    row.map((v) => h('td', { class: typeof v === 'number' ? 'numeric' : null }, cell(v)))));
  return h('section', { class: 'card', dataset: { bench: t.bench } },
    h('h2', {}, t.bench.replaceAll('_', ' ')),
    h('div', { class: 'table-scroll' }, h('table', { class: 'data-table' }, head, h('tbody', {}, rows))));
}

export function mount(view) {
  const body = h('div', { class: 'tables' }, h('p', { class: 'muted' }, 'Loading…'));
  fill(view, h('div', { class: 'page-head' }, h('h1', {}, 'Tables')), body);
  let left = false;
  getJson('/api/tables').then((answer) => {
    if (left) return;
    if (answer.tables.length === 0) {
      fill(body, h('div', { class: 'card empty' }, 'No benchmark results: run `make bench` (bench/results.jsonl), or start the dashboard with --results FILE.'));
      return;
    }
    fill(body, answer.tables.map(resultTable));
  }).catch((error) => {
    if (!left) fill(body, h('div', { class: 'card empty' }, error.message));
  });
  return () => { left = true; };
}
