// The parts of a run page that come from GET /api/runs/{name}: the progress bar with its ETA,
// the config, the command that started the run, the checkpoints and the end of train.log.
import { h, fill } from './dom.js';
import { num, duration, percent } from './format.js';

export function progressBar(progress, status) {
  if (!progress || !progress.steps) {
    return h('div', { class: 'progress' }, h('div', { class: 'progress-text' }, `step ${num(progress ? progress.step : 0)}`));
  }
  const fraction = Math.min(1, progress.fraction ?? progress.step / progress.steps);
  const parts = [`step ${num(progress.step)} of ${num(progress.steps)}`, percent(fraction)];
  if (progress.elapsed_s !== undefined && progress.elapsed_s !== null) parts.push(`${duration(progress.elapsed_s)} elapsed`);
  if (status === 'running' && progress.eta_s !== undefined && progress.eta_s !== null) parts.push(`ETA ${duration(progress.eta_s)}`);
  return h('div', { class: `progress status-${status}` },
    h('div', { class: 'progress-track' }, h('div', { class: 'progress-fill', style: `width:${(fraction * 100).toFixed(2)}%` })),
    h('div', { class: 'progress-text' }, parts.join(' · ')));
}

// config.json as key/value rows; nested objects as dotted keys.
function flatten(object, prefix = '', out = []) {
  for (const [key, value] of Object.entries(object)) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (value && typeof value === 'object' && !Array.isArray(value)) flatten(value, name, out);
    else out.push([name, value]);
  }
  return out;
}

export function configTable(config) {
  if (!config) return h('p', { class: 'muted' }, 'No config.json in this run.');
  return h('table', { class: 'kv-table' },
    h('tbody', {}, flatten(config).map(([key, value]) => h('tr', {}, h('th', {}, key), h('td', {}, JSON.stringify(value))))));
}

function shellQuote(arg) {
  return /^[A-Za-z0-9_./:=,+@%-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`;
}

// command.json → "sieve train --data gcide ...".
export function commandLine(command) {
  if (!command) return h('p', { class: 'muted' }, 'No command.json in this run.');
  const line = ['sieve', command.verb, ...(command.args || [])].filter(Boolean).map(shellQuote).join(' ');
  return h('div', {},
    h('pre', { class: 'code' }, line),
    command.cwd ? h('p', { class: 'muted small' }, `in ${command.cwd}`) : null);
}

export function checkpointList(checkpoints) {
  if (!checkpoints || checkpoints.length === 0) return h('p', { class: 'muted' }, 'No checkpoints yet.');
  return h('ul', { class: 'checkpoints' }, checkpoints.map((c) => h('li', {}, c)));
}

// The log tail, kept scrolled to its end unless the user scrolled up to read. Hidden when the
// run has no train.log (runs not launched by the dashboard).
export function updateLog(pre, text, emptyNote) {
  pre.hidden = !text;
  emptyNote.hidden = Boolean(text);
  const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
  if (pre.textContent !== (text || '')) fill(pre, text || '');
  if (atEnd) pre.scrollTop = pre.scrollHeight;
}
