// One run's page: status with Stop/Resume, progress and ETA, headline numbers, the advisor's
// suggestions, live plots of every metric the run has, its config, command, checkpoints and
// log. Metrics are polled every second with ?after=<next> and appended; the run's details every
// two seconds.
import { ApiError, getJson, postJson, runPath } from './api.js';
import { h, fill, toast, statusPill } from './dom.js';
import { num, percent } from './format.js';
import { every } from './poll.js';
import { MetricsStream } from './stream.js';
import { METRICS, columnsOf, trainableShare } from './metrics.js';
import { Chart } from './charts.js';
import { progressBar, configTable, commandLine, checkpointList, updateLog } from './run_details.js';
import * as advisor from './advisor.js';
import { smoothingControl } from './smoothing.js';

function stat(label, value, title) {
  return h('div', { class: 'stat', title: title || null }, h('div', { class: 'stat-label' }, label), h('div', { class: 'stat-value' }, value));
}

function headlineStats(stream) {
  const start = stream.start || {};
  const evals = stream.records('eval');
  const best = evals.reduce((b, r) => (typeof r.val_loss === 'number' && (b === null || r.val_loss < b.val_loss) ? r : b), null);
  const share = trainableShare(stream.start);
  return [
    stat('loss', num(stream.latest('train', 'loss'))),
    stat('best val ppl', best ? num(best.val_ppl ?? Math.exp(best.val_loss)) : '–', best ? `at step ${best.step}` : null),
    stat('learning rate', num(stream.latest('train', 'lr'))),
    stat('tokens/s', num(stream.latest('train', 'tokens_per_s'))),
    stat('peak RSS', stream.latest('train', 'peak_rss_mb') === null ? '–' : `${num(stream.latest('train', 'peak_rss_mb'))} MiB`),
    stat('skipped steps', num(stream.latest('train', 'skipped_total'))),
    start.precision ? stat('precision', start.precision) : null,
    share === null ? null : stat('trainable (LoRA)', percent(share, 2),
      `${num(start.trainable_parameters)} of ${num(start.parameters)} parameters`),
    start.sparse_threshold === undefined ? null : stat('sparse τ', num(start.sparse_threshold)),
    start.sparse_keep_ratio === undefined ? null : stat('sparse keep ratio', num(start.sparse_keep_ratio)),
    start.sparse_global_cap === undefined ? null : stat('global cap', num(start.sparse_global_cap)),
    typeof stream.latest('eval', 'dense_mass_coverage') === 'number'
      ? stat('dense-mass coverage', percent(stream.latest('eval', 'dense_mass_coverage'))) : null,
  ];
}

export function mount(view, name) {
  const registry = window.sieveDashboard.charts;
  for (const key of Object.keys(registry)) delete registry[key];
  const stream = new MetricsStream(name);
  const charts = new Map();  // metric key → {chart, labels}
  let status = null;
  let shownConfig = null;

  const statusSlot = h('span');
  const stopButton = h('button', { class: 'button danger', type: 'button', onclick: () => act('stop', 'Stopping') }, 'Stop');
  const resumeButton = h('button', { class: 'button', type: 'button', onclick: () => act('resume', 'Resuming') }, 'Resume');
  const progressSlot = h('div');
  const statsSlot = h('div', { class: 'stats' });
  const advisorSlot = h('section', { class: 'card advisor', id: 'advisor' });
  const slots = Object.fromEntries(METRICS.map((m) => [m.key, h('div', { class: 'chart-slot' })]));
  const noData = h('p', { class: 'muted empty' }, 'No metrics yet: the plots appear with the first records of metrics.jsonl.');
  const smoothing = smoothingControl((weight) => { for (const { chart } of charts.values()) chart.setSmoothing(weight); });
  const configSlot = h('div');
  const commandSlot = h('div');
  const checkpointSlot = h('div');
  const logPre = h('pre', { class: 'log', id: 'log-tail' });
  const logEmpty = h('p', { class: 'muted' }, 'No train.log: the dashboard keeps the output of the runs it launches.');

  document.title = `${name} · Sieve dashboard`;
  fill(view,
    h('div', { class: 'page-head' },
      h('h1', {}, name), statusSlot,
      h('div', { class: 'actions' },
        h('a', { class: 'button ghost', href: `#/compare?runs=${encodeURIComponent(name)}` }, 'Compare…'),
        resumeButton, stopButton)),
    progressSlot,
    statsSlot,
    advisorSlot,
    h('div', { class: 'section-head' }, h('h2', {}, 'Metrics'), smoothing.element,
      h('span', { class: 'muted small' }, 'drag to zoom · double-click to reset')),
    noData,
    h('div', { class: 'chart-grid' }, Object.values(slots)),
    h('div', { class: 'details' },
      h('section', { class: 'card' }, h('h2', {}, 'Config'), configSlot),
      h('section', { class: 'card' }, h('h2', {}, 'Command'), commandSlot, h('h2', {}, 'Checkpoints'), checkpointSlot)),
    h('section', { class: 'card' }, h('h2', {}, 'Log'), logPre, logEmpty));

  async function act(verb, doing) {
    try {
      await postJson(`${runPath(name)}/${verb}`);
      toast(`${doing} ${name}…`);
      refreshDetail().catch(() => {});  // the next poll shows it otherwise
    } catch (error) {
      toast(error.message, 'error');
    }
  }

  function renderCharts() {
    for (const metric of METRICS) {
      const columns = columnsOf(metric, stream);
      const labels = columns ? columns.series.map((s) => s.label).join('|') : '';
      let entry = charts.get(metric.key);
      if (entry && entry.labels !== labels) {
        entry.chart.destroy();
        charts.delete(metric.key);
        entry = null;
      }
      if (!columns) continue;
      if (!entry) {
        const chart = new Chart(slots[metric.key], metric.key, metric.title, columns.series,
          { log: metric.log, smoothing: smoothing.value(), syncKey: `run:${name}`, registry });
        entry = { chart, labels };
        charts.set(metric.key, entry);
      }
      entry.chart.update(columns.x, columns.series.map((s) => s.values));
    }
    noData.hidden = charts.size > 0;
    fill(statsSlot, headlineStats(stream));
  }

  async function refreshDetail() {
    const detail = await getJson(runPath(name));
    if (detail.status !== status) {
      status = detail.status;
      fill(statusSlot, statusPill(status));
      resumeButton.disabled = !(status === 'stopped' || status === 'failed');
    }
    // The dashboard stops only the processes it started itself.
    stopButton.disabled = !(detail.managed && (status === 'running' || status === 'queued'));
    stopButton.title = detail.managed ? '' : 'started outside this dashboard: stop it where it runs';
    fill(progressSlot, progressBar(detail.progress, status));
    const configText = JSON.stringify([detail.config, detail.command]);
    if (configText !== shownConfig) {
      shownConfig = configText;
      fill(configSlot, configTable(detail.config));
      fill(commandSlot, commandLine(detail.command));
    }
    fill(checkpointSlot, checkpointList(detail.checkpoints));
    updateLog(logPre, detail.log_tail, logEmpty);
  }

  let stopped = false;
  const notFound = (error) => {
    if (stopped || !(error instanceof ApiError) || error.status !== 404) return;
    cleanup();
    fill(view, h('div', { class: 'empty' }, `There is no run named “${name}”. `, h('a', { href: '#/' }, 'Back to the runs')));
  };
  const stopDetail = every(2000, refreshDetail, notFound);
  const stopMetrics = every(1000, async () => { if (await stream.poll()) renderCharts(); }, notFound);
  const stopAdvisor = advisor.mount(advisorSlot, name);
  renderCharts();

  function cleanup() {
    if (stopped) return;
    stopped = true;
    document.title = 'Sieve dashboard';
    stopDetail();
    stopMetrics();
    stopAdvisor();
    for (const { chart } of charts.values()) chart.destroy();
  }
  return cleanup;
}
