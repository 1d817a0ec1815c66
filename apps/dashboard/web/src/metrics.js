// The plots a run can have: which records and fields each draws (docs/metrics.md). A plot is
// shown only when the run has its data; a series whose field never appears is left out.
//
// `events` lists where to look, first match wins (sparse-attention statistics may come with
// train or eval records). A series with `axis: 'right'` has its own scale on the right.
export const METRICS = [
  { key: 'loss', title: 'Training loss', events: ['train'],
    series: [{ field: 'loss', label: 'loss' }, { field: 'ce', label: 'cross-entropy' }, { field: 'kl', label: 'KL' }] },
  { key: 'val_ppl', title: 'Validation perplexity', events: ['eval'], log: true,
    series: [{ field: 'val_ppl', label: 'val ppl' }] },
  { key: 'lr', title: 'Learning rate', events: ['train'], series: [{ field: 'lr', label: 'lr' }] },
  { key: 'grad_norm', title: 'Gradient norm', events: ['train'], series: [{ field: 'grad_norm', label: 'grad norm' }] },
  { key: 'tokens_per_s', title: 'Throughput (tokens/s)', events: ['train'],
    series: [{ field: 'tokens_per_s', label: 'tokens/s' }] },
  { key: 'loss_scale', title: 'Loss scale & skipped steps', events: ['train'], log: true,
    // Every train record has loss_scale (1 without loss scaling): plot it only when it moves.
    when: (records) => records.some((r) => (r.loss_scale ?? 1) !== 1 || (r.skipped_total ?? 0) > 0),
    series: [{ field: 'loss_scale', label: 'loss scale' },
      { field: 'skipped_total', label: 'skipped (total)', axis: 'right' }] },
  { key: 'memory', title: 'Peak memory (MiB)', events: ['train'],
    series: [{ field: 'peak_rss_mb', label: 'peak RSS' }, { field: 'peak_memory_mb', label: 'tensors' }] },
  // Measured with each validation pass; τ and the global cap are settings (start record).
  { key: 'coverage', title: 'Sparse attention: dense-mass coverage', events: ['eval', 'train'],
    series: [{ field: 'dense_mass_coverage', label: 'coverage' }] },
  { key: 'scorer_distill_loss', title: 'Sparse scorer warm-up loss', events: ['train'],
    series: [{ field: 'scorer_distill_loss', label: 'scorer loss' }] },
];

function hasField(records, field) {
  return records.some((record) => typeof record[field] === 'number');
}

// The columns of one plot for a MetricsStream: {x: steps, series: [{...def, values}]}, or null
// when the run has no data for it.
export function columnsOf(metric, stream) {
  for (const event of metric.events) {
    const records = stream.records(event);
    const present = metric.series.filter((s) => hasField(records, s.field));
    if (present.length === 0) continue;
    if (metric.when && !metric.when(records)) return null;
    return {
      x: records.map((r) => r.step),
      series: present.map((s) => ({ ...s, values: records.map((r) => (typeof r[s.field] === 'number' ? r[s.field] : null)) })),
    };
  }
  return null;
}

// The share of parameters a run trains when some are frozen (LoRA), from its start record;
// null when it trains them all or does not say.
export function trainableShare(start) {
  if (!start || typeof start.trainable_parameters !== 'number' || !start.parameters) return null;
  if (start.trainable_parameters >= start.parameters) return null;
  return start.trainable_parameters / start.parameters;
}

// The first series of a metric for each run, on the union of their steps (a gap where a run
// has no record), as uPlot.join (the global of uPlot.iife.min.js) aligns them.
export function overlay(metric, streams) {
  const tables = [];
  const names = [];
  for (const stream of streams) {
    const columns = columnsOf({ ...metric, series: [metric.series[0]] }, stream);
    if (!columns) continue;
    tables.push([columns.x, columns.series[0].values]);
    names.push(stream.name);
  }
  if (tables.length === 0) return null;
  const joined = uPlot.join(tables);
  return { names, x: joined[0], values: joined.slice(1) };
}
