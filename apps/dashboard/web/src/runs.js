// The run list in the sidebar (GET /api/runs every 2 s): a status dot, the name, the step and
// the latest loss of every run. Other views read the same list through `subscribe`.
import { getJson } from './api.js';
import { h, fill } from './dom.js';
import { num } from './format.js';
import { every } from './poll.js';

let runs = null;  // null until the first answer
const listeners = new Set();
let current = null;

// Calls fn(runs) now (when the list is known) and on every change; returns an unsubscribe.
export function subscribe(fn) {
  listeners.add(fn);
  if (runs) fn(runs);
  return () => listeners.delete(fn);
}

export function runHref(name) {
  return `#/run/${encodeURIComponent(name)}`;
}

export function highlightRun(name) {
  current = name;
  for (const item of document.querySelectorAll('#run-list li')) item.classList.toggle('active', item.dataset.run === name);
}

function render() {
  const list = document.getElementById('run-list');
  const filter = document.getElementById('run-filter').value.trim().toLowerCase();
  const shown = runs.filter((run) => run.name.toLowerCase().includes(filter));
  if (runs.length === 0) {
    fill(list, h('li', { class: 'run-list-empty' }, 'No runs yet. Launch one under Tune.'));
    return;
  }
  fill(list, shown.map((run) => {
    const latest = run.latest || {};
    const progress = run.steps ? `${num(run.step)}/${num(run.steps)}` : `step ${num(run.step ?? 0)}`;
    return h('li', { dataset: { run: run.name, status: run.status }, class: run.name === current ? 'active' : null },
      h('a', { href: runHref(run.name), title: `${run.name} (${run.status})` },
        h('span', { class: `dot status-${run.status}` }),
        h('span', { class: 'run-name' }, run.name),
        h('span', { class: 'run-sub' }, progress, latest.loss !== undefined ? ` · loss ${num(latest.loss, 3)}` : '')));
  }));
}

export function startRunList() {
  document.getElementById('run-filter').addEventListener('input', () => { if (runs) render(); });
  let previous = '';
  const connection = document.getElementById('connection');
  every(2000, async () => {
    const answer = await getJson('/api/runs');
    connection.hidden = true;
    const text = JSON.stringify(answer.runs);
    if (text === previous) return;
    previous = text;
    // Running runs first, then the most recently changed.
    const running = (run) => (run.status === 'running' ? 0 : 1);
    runs = [...answer.runs].sort((a, b) => running(a) - running(b)
      || (b.updated_unix_time || 0) - (a.updated_unix_time || 0) || a.name.localeCompare(b.name));
    render();
    for (const fn of listeners) fn(runs);
  }, () => { connection.hidden = false; });
}
