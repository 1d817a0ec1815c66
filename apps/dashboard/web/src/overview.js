// The landing view: every run in one table (status, progress, latest metrics), with check
// boxes to open several in Compare.
import { h, fill, statusPill } from './dom.js';
import { num, ago, percent } from './format.js';
import { subscribe, runHref } from './runs.js';

const COLUMNS = [
  { label: 'loss', value: (l) => l.loss },
  { label: 'val ppl', value: (l) => l.val_ppl },
  { label: 'tokens/s', value: (l) => l.tokens_per_s },
  { label: 'peak RSS (MiB)', value: (l) => l.peak_rss_mb },
];

export function mount(view) {
  const selected = new Set();
  const compareButton = h('button', { class: 'button', type: 'button', disabled: true, onclick: () => {
    window.location.hash = `#/compare?runs=${encodeURIComponent([...selected].join(','))}`;
  } }, 'Compare selected');
  const body = h('tbody');
  const table = h('table', { class: 'data-table runs-table' },
    h('thead', {}, h('tr', {}, h('th', {}), h('th', {}, 'run'), h('th', {}, 'status'), h('th', {}, 'progress'),
      COLUMNS.map((c) => h('th', { class: 'numeric' }, c.label)), h('th', {}, 'updated'))),
    body);
  fill(view, h('div', { class: 'page-head' }, h('h1', {}, 'Runs'), compareButton),
    h('div', { class: 'card' }, table));

  const render = (runs) => {
    if (runs.length === 0) {
      fill(body, h('tr', {}, h('td', { colspan: 9, class: 'empty' }, 'No runs in this directory yet. Launch one under ',
        h('a', { href: '#/tune' }, 'Tune'), '.')));
      return;
    }
    fill(body, runs.map((run) => {
      const latest = run.latest || {};
      const fraction = run.steps ? run.step / run.steps : null;
      const box = h('input', { type: 'checkbox', 'aria-label': `select ${run.name}`, checked: selected.has(run.name),
        onchange: (event) => {
          if (event.target.checked) selected.add(run.name); else selected.delete(run.name);
          compareButton.disabled = selected.size === 0;
        } });
      return h('tr', { dataset: { run: run.name } },
        h('td', {}, box),
        h('td', {}, h('a', { href: runHref(run.name) }, run.name)),
        h('td', {}, statusPill(run.status)),
        h('td', {}, fraction === null ? num(run.step) : h('div', { class: 'mini-progress', title: percent(fraction) },
          h('div', { style: `width:${Math.min(100, fraction * 100)}%` }), h('span', {}, `${num(run.step)}/${num(run.steps)}`))),
        COLUMNS.map((c) => h('td', { class: 'numeric' }, num(c.value(latest)))),
        h('td', {}, ago(run.updated_unix_time)));
    }));
  };
  return subscribe(render);
}
