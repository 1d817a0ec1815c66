// The advisor panel of a run page: GET /api/runs/{name}/advice, each suggestion with its
// evidence, expected effect and flag change, and "Try it", which starts a short A/B run of the
// change against the run's settings (POST /api/runs/{name}/try) and shows the measured
// difference when it is done (GET /api/trials/{id}, polled).
import { getJson, postJson, runPath } from './api.js';
import { h, fill, toast, statusPill } from './dom.js';
import { num } from './format.js';
import { every } from './poll.js';
import { runHref } from './runs.js';

// {"--lr": "3e-4", "--bf16": ""} → "--lr 3e-4 --bf16".
function flagText(change) {
  return Object.entries(change || {}).map(([flag, value]) => (value === '' ? flag : `${flag} ${value}`)).join(' ');
}

const MEASURE_LABELS = { val_loss: 'validation loss', tokens_per_s: 'tokens/s', skipped_total: 'skipped steps', peak_rss_mb: 'peak RSS (MiB)' };

function trialView(trial) {
  const measure = trial.measure;
  const label = MEASURE_LABELS[measure] || measure;
  const head = h('div', { class: 'trial-head' }, 'A/B trial ', statusPill(trial.state),
    trial.steps ? h('span', { class: 'muted' }, ` ${num(trial.steps)} steps each`) : null);
  const runs = [trial.baseline && trial.baseline.run, trial.variant && trial.variant.run].filter(Boolean);
  const runLinks = runs.length === 0 ? null : h('div', { class: 'muted small' }, 'runs: ',
    runs.map((run, i) => [i ? ' vs ' : '', h('a', { href: runHref(run) }, run)]));
  if (trial.state === 'failed') {
    return h('div', { class: 'trial', dataset: { state: trial.state } }, head,
      h('div', { class: 'form-message' }, trial.error || 'the trial failed'), runLinks);
  }
  if (trial.state !== 'done') return h('div', { class: 'trial', dataset: { state: trial.state } }, head, runLinks);
  const baseline = trial.baseline ? trial.baseline[measure] : null;
  const variant = trial.variant ? trial.variant[measure] : null;
  const relative = typeof trial.relative === 'number' ? ` (${trial.relative >= 0 ? '+' : ''}${(trial.relative * 100).toFixed(1)}%)` : '';
  const verdictClass = { better: 'good', worse: 'bad' }[trial.verdict] || 'neutral';
  return h('div', { class: 'trial', dataset: { state: trial.state } }, head,
    h('div', { class: 'trial-result' },
      h('span', {}, `${label}: ${num(baseline)} → ${num(variant)}`),
      h('span', { class: 'muted' }, ` difference ${num(trial.difference)}${relative}`),
      h('span', { class: `verdict ${verdictClass}` }, trial.verdict || '')),
    runLinks);
}

export function mount(panel, name) {
  const trialsByRule = new Map();  // rule → latest TryIt JSON of this run
  const trialSlots = new Map();    // rule → element showing it
  let shown = null;

  function showTrial(rule) {
    const slot = trialSlots.get(rule);
    const trial = trialsByRule.get(rule);
    if (slot) fill(slot, trial ? trialView(trial) : null);
  }

  async function tryIt(suggestion, button, stepsInput) {
    button.disabled = true;
    try {
      const body = { rule: suggestion.rule };
      if (stepsInput.value) body.steps = parseInt(stepsInput.value, 10);
      const answer = await postJson(`${runPath(name)}/try`, body);
      trialsByRule.set(suggestion.rule, { id: answer.trial, rule: suggestion.rule, state: 'queued', measure: suggestion.measure });
      showTrial(suggestion.rule);
      toast(`Started an A/B trial of “${suggestion.title}”.`);
    } catch (error) {
      toast(error.message, 'error');
    } finally {
      button.disabled = false;
    }
  }

  function render(suggestions) {
    trialSlots.clear();
    if (suggestions.length === 0) {
      fill(panel, h('div', { class: 'advisor-head' }, h('h2', {}, 'Advisor'),
        h('span', { class: 'advisor-quiet' }, 'No suggestions: nothing in this run’s metrics calls for a change.')));
      return;
    }
    fill(panel, h('div', { class: 'advisor-head' }, h('h2', {}, 'Advisor'),
      h('span', { class: 'muted' }, `${suggestions.length} suggestion${suggestions.length > 1 ? 's' : ''}, each testable by a short A/B run`)),
    h('div', { class: 'suggestions' }, suggestions.map((s) => {
      const slot = h('div', { class: 'trial-slot' });
      trialSlots.set(s.rule, slot);
      const button = h('button', { class: 'button', type: 'button', title: 'Run a short A/B trial of this change against the current settings' }, 'Try it');
      const steps = h('input', { type: 'number', min: '1', step: '1', placeholder: 'steps', class: 'trial-steps',
        'aria-label': 'steps of each trial run', title: 'Steps of each of the two trial runs (default: the server\'s, 200)' });
      button.addEventListener('click', () => tryIt(s, button, steps));
      const card = h('article', { class: `suggestion severity-${s.severity || 'info'}`, dataset: { rule: s.rule } },
        h('header', {}, h('span', { class: 'severity' }, s.severity || 'info'), h('h3', {}, s.title)),
        h('p', {}, h('strong', {}, 'Evidence: '), s.evidence),
        h('p', {}, h('strong', {}, 'Expected effect: '), s.expected_effect),
        h('div', { class: 'change' }, h('code', {}, flagText(s.change) || '(no flag change)'),
          h('span', { class: 'try' }, steps, button)),
        slot);
      return card;
    })));
    for (const rule of trialSlots.keys()) showTrial(rule);
  }

  const stopAdvice = every(10000, async () => {
    const answer = await getJson(`${runPath(name)}/advice`);
    const text = JSON.stringify(answer.suggestions);
    if (text !== shown) {
      shown = text;
      render(answer.suggestions);
    }
  }, (error) => {
    if (shown === null) fill(panel, h('div', { class: 'advisor-head' }, h('h2', {}, 'Advisor'), h('span', { class: 'muted' }, error.message)));
  });

  // Trials of this run (also those started before this page was opened), while any is unfinished.
  const stopTrials = every(2000, async () => {
    const answer = await getJson('/api/trials');
    for (const trial of answer.trials) {
      if (trial.run === name) trialsByRule.set(trial.rule, trial);
    }
    for (const rule of trialSlots.keys()) showTrial(rule);
  });

  return () => {
    stopAdvice();
    stopTrials();
  };
}
