// A plot card around one uPlot instance: a title with the latest value, a log-scale toggle,
// drag-to-zoom (uPlot's own; a double click resets it), EMA smoothing with the raw curve kept
// faint underneath, live updates that keep a zoom the user made, and the width of its card.
//
// Each instance is put in `registry[key]` (window.sieveDashboard.charts on a run page) so tests
// and the console can read the data a plot holds: registry.loss.data[0] are its steps.
import { h } from './dom.js';
import { num, tick } from './format.js';

const PALETTE = ['#4f6bed', '#e0803a', '#23a58a', '#d64b5b', '#8c6bd6', '#b89a1e', '#3a9fc8', '#7d7d86'];
const HEIGHT = 210;

// Exponential moving average with TensorBoard's debiasing (the first points are not pulled
// towards 0); `weight` 0 returns the values. Nulls stay null and do not move the average.
function ema(values, weight) {
  if (!weight) return values;
  const out = new Array(values.length);
  let average = 0;
  let count = 0;
  for (let i = 0; i < values.length; ++i) {
    const v = values[i];
    if (v === null || v === undefined || !Number.isFinite(v)) {
      out[i] = null;
      continue;
    }
    average = average * weight + (1 - weight) * v;
    count += 1;
    out[i] = average / (1 - weight ** count);
  }
  return out;
}

const positiveOnly = (values) => values.map((v) => (v !== null && v > 0 ? v : null));

export class Chart {
  // series: [{label, axis?: 'right', color?}];
  // options: {log, smoothing, syncKey, registry, spanGaps, showLatest (default true),
  // time (the x values are Unix times in seconds, shown as clock times; default: steps),
  // fromZero (a linear y axis starts at 0 and reaches at least 1: rates and counts)}.
  constructor(parent, key, title, series, options = {}) {
    this.key = key;
    this.series = series;
    this.log = Boolean(options.log);
    this.smoothing = options.smoothing || 0;
    this.syncKey = options.syncKey;
    this.registry = options.registry || {};
    this.spanGaps = Boolean(options.spanGaps);
    this.showsLatest = options.showLatest !== false;
    this.time = Boolean(options.time);
    this.fromZero = Boolean(options.fromZero);
    this.x = [];
    this.values = series.map(() => []);
    this.zoomed = false;

    this.latest = h('span', { class: 'chart-latest' });
    this.logButton = h('button', {
      class: 'chip', type: 'button', title: 'Logarithmic y axis', 'aria-pressed': String(this.log),
      onclick: () => this.setLog(!this.log),
    }, 'log');
    this.body = h('div', { class: 'chart-body' });
    this.card = h('section', { class: 'chart-card', dataset: { metric: key } },
      h('header', { class: 'chart-head' }, h('h3', {}, title), this.latest, this.logButton),
      this.body);
    parent.append(this.card);
    this.build();
    this.resizeObserver = new ResizeObserver(() => this.resize());
    this.resizeObserver.observe(this.body);
  }

  // New data: steps and one value array per series (null where a series has no value).
  update(x, values) {
    this.x = x;
    this.values = values;
    this.plot.setData(this.data(), !this.zoomed);
    this.showLatest();
  }

  setSmoothing(weight) {
    this.smoothing = weight;
    this.plot.setData(this.data(), !this.zoomed);
  }

  setLog(log) {
    this.log = log;
    this.logButton.setAttribute('aria-pressed', String(log));
    this.zoomed = false;
    this.build();
  }

  destroy() {
    this.resizeObserver.disconnect();
    this.plot.destroy();
    if (this.registry[this.key] === this.plot) delete this.registry[this.key];
    this.card.remove();
  }

  // uPlot's data: steps, then the raw series (drawn faint, only while smoothing), then the
  // shown ones (smoothed, or raw without smoothing).
  data() {
    const shown = this.values.map((v) => (this.log ? positiveOnly(v) : v));
    const faint = shown.map((v) => (this.smoothing ? v : v.map(() => null)));
    return [this.x, ...faint, ...shown.map((v) => ema(v, this.smoothing))];
  }

  // The last value of the first series (a run page's plots; overlays of several runs have none).
  showLatest() {
    if (!this.showsLatest) return;
    const first = this.values[0] || [];
    let value = null;
    for (let i = first.length - 1; i >= 0 && (value === null || value === undefined); --i) value = first[i];
    this.latest.textContent = value === null || value === undefined ? '' : num(value);
  }

  width() {
    return Math.max(200, this.body.clientWidth || 400);
  }

  resize() {
    const width = this.width();
    if (this.plot && Math.abs(this.plot.width - width) > 1) this.plot.setSize({ width, height: HEIGHT });
  }

  build() {
    if (this.plot) this.plot.destroy();
    const hasRight = this.series.some((s) => s.axis === 'right');
    const color = (s, i) => s.color || PALETTE[i % PALETTE.length];
    const scaleOf = (s) => (s.axis === 'right' ? 'right' : 'y');
    const faint = this.series.map((s, i) => ({
      label: `${s.label} (raw)`, class: 'raw-series', scale: scaleOf(s), stroke: `${color(s, i)}44`,
      width: 1, points: { show: false }, spanGaps: this.spanGaps,
    }));
    const shown = this.series.map((s, i) => ({
      label: s.label, scale: scaleOf(s), stroke: color(s, i), width: 1.75,
      spanGaps: this.spanGaps, value: (u, v) => num(v),
    }));
    const axis = { stroke: '#6b7280', grid: { stroke: '#eef0f4', width: 1 }, ticks: { stroke: '#e5e7eb', width: 1 },
      values: (u, splits) => splits.map(tick), size: 48 };
    // Steps with the compact numbers of the y axes; times with uPlot's clock labels.
    const xAxis = this.time
      ? { stroke: axis.stroke, grid: axis.grid, ticks: axis.ticks, label: 'time', labelSize: 18, size: 36 }
      : { ...axis, label: 'step', labelSize: 18, size: 36 };
    const xValue = this.time
      ? (u, v) => (v === null || v === undefined ? '–' : new Date(v * 1000).toLocaleTimeString())
      : (u, v) => num(v);
    const options = {
      width: this.width(),
      height: HEIGHT,
      cursor: { drag: { x: true, y: false, setScale: true }, ...(this.syncKey ? { sync: { key: this.syncKey } } : {}) },
      scales: {
        x: { time: this.time },
        y: this.log ? { distr: 3 } : this.fromZero ? { range: (u, min, max) => [0, Math.max(1, max * 1.05)] } : {},
        ...(hasRight ? { right: {} } : {}),
      },
      axes: [
        xAxis,
        { ...axis, scale: 'y' },
        ...(hasRight ? [{ ...axis, scale: 'right', side: 1, grid: { show: false } }] : []),
      ],
      series: [{ label: this.time ? 'time' : 'step', value: xValue }, ...faint, ...shown],
      legend: { live: true },
      hooks: {
        setSelect: [(u) => { if (u.select.width > 0) this.zoomed = true; }],
      },
    };
    this.plot = new uPlot(options, this.data(), this.body);
    this.plot.over.addEventListener('dblclick', () => { this.zoomed = false; });
    this.registry[this.key] = this.plot;
    this.showLatest();
  }
}
