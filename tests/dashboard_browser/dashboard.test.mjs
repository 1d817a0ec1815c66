// The dashboard's web app in a real browser (headless Debian chromium through playwright-core)
// against `sieve dashboard` over copies of the fixture runs (tests/fixtures/dashboard_runs):
// the page loads without console errors, lists the runs, plots every record, follows a growing
// metrics.jsonl, zooms, smooths and switches to a log scale, shows the advisor's suggestions
// where the fixtures call for them, compares runs, keeps writes behind the token, launches,
// stops and resumes a tiny run from the form, runs a search with successive halving, and
// measures a suggestion with Try it; without --serve the Serving view says how to add a server.
// The tests run in order on one page and one runs directory (later ones use what earlier ones
// launched). Saves screenshots of the main views to SIEVE_TEST_ARTIFACTS (docs/dashboard.md
// uses them).
import { test, before, beforeEach, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { copyFixtureRuns, startDashboard, launchBrowser, openPage, stepsOf, screenshot } from './harness.mjs';

const WITH_ADVICE = ['diverging', 'fp16-overflows', 'plateau'];

let runsDir;
let fixtureRuns;  // the fixture directory's runs: its folders with a metrics.jsonl
let dashboard;
let browser;
let page;

const runUrl = (name) => `${dashboard.base}/#/run/${encodeURIComponent(name)}`;

// The number of x values (steps) a run page's plot holds, or -1 while it has none.
const pointsOf = (metric) => page.evaluate((key) => {
  const plot = window.sieveDashboard.charts[key];
  return plot ? plot.data[0].length : -1;
}, metric);

async function openRun(name) {
  await page.goto(runUrl(name));
  await page.waitForFunction(() => window.sieveDashboard && window.sieveDashboard.charts.loss);
}

before(async () => {
  runsDir = copyFixtureRuns();
  fixtureRuns = fs.readdirSync(runsDir).filter((name) => fs.existsSync(path.join(runsDir, name, 'metrics.jsonl')));
  const results = path.join(runsDir, 'results.jsonl');
  fs.writeFileSync(results, [
    { bench: 'compression_table', method: 'int8 weights', size_mb: 17.2, val_ppl: 31.4, tokens_per_s: 5120 },
    { bench: 'compression_table', method: 'int4 + LoRA', size_mb: 9.1, val_ppl: 33.0, tokens_per_s: 6010 },
    { bench: 'train_throughput', precision: 'bf16', tokens_per_s: 4410 },
  ].map((row) => JSON.stringify(row)).join('\n') + '\n');
  dashboard = await startDashboard(runsDir, ['--results', results]);
  browser = await launchBrowser();
  page = await openPage(browser);
});

// Each test answers for the console messages of its own steps.
beforeEach(() => { if (page) page.problems.length = 0; });

after(async () => {
  if (browser) await browser.close();
  if (dashboard) await dashboard.stop();
  if (runsDir) fs.rmSync(runsDir, { recursive: true, force: true });
});

test('the page loads without console errors and lists the fixture runs', async () => {
  await page.goto(dashboard.url);
  await page.waitForFunction((n) => document.querySelectorAll('#run-list li[data-run]').length >= n, fixtureRuns.length);
  const listed = await page.$$eval('#run-list li[data-run]', (items) => items.map((li) => li.dataset.run));
  assert.deepEqual([...listed].sort(), [...fixtureRuns].sort());
  for (const name of ['healthy', ...WITH_ADVICE]) assert.ok(listed.includes(name), `${name} is listed`);
  // The token left the address bar but stays with the tab.
  assert.ok(!page.url().includes('token='), page.url());
  assert.equal(await page.textContent('#access'), 'token ✓');
  await page.waitForSelector('.runs-table tbody tr[data-run="healthy"]');
  assert.deepEqual(page.problems, []);
});

test('a plot holds one point per record of metrics.jsonl', async () => {
  await openRun('healthy');
  const metrics = path.join(runsDir, 'healthy', 'metrics.jsonl');
  const trainSteps = stepsOf(metrics, 'train').size;
  const evalSteps = stepsOf(metrics, 'eval').size;
  assert.ok(trainSteps > 10, `the fixture has ${trainSteps} train records`);
  await page.waitForFunction((n) => window.sieveDashboard.charts.loss.data[0].length === n, trainSteps, { timeout: 10000 });
  const plotted = await page.evaluate(() => {
    const { charts } = window.sieveDashboard;
    const loss = charts.loss.data;
    return { steps: loss[0], loss: loss[loss.length - 1], val: charts.val_ppl ? charts.val_ppl.data[0].length : -1 };
  });
  assert.equal(plotted.val, evalSteps);
  // The values are the file's: the first train record's loss at its step.
  const first = fs.readFileSync(metrics, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l))
    .find((r) => r.event === 'train');
  assert.equal(plotted.steps[0], first.step);
  assert.ok(Math.abs(plotted.loss[0] - first.loss) < 1e-9, `${plotted.loss[0]} vs ${first.loss}`);
  await page.waitForSelector('#advisor h2');
  await screenshot(page, 'run', { fullPage: false });
  assert.deepEqual(page.problems, []);
});

test('a record appended to metrics.jsonl appears on the open page within seconds', async () => {
  // A copy of the healthy run grows; the healthy one stays as the advisor test expects it.
  fs.cpSync(path.join(runsDir, 'healthy'), path.join(runsDir, 'growing'), { recursive: true });
  await openRun('growing');
  const metrics = path.join(runsDir, 'growing', 'metrics.jsonl');
  const steps = [...stepsOf(metrics, 'train')];
  await page.waitForFunction((n) => window.sieveDashboard.charts.loss.data[0].length === n, steps.length);
  const step = Math.max(...steps) + 1000;
  const record = { event: 'train', step, loss: 0.123, lr: 1e-4, grad_norm: 0.5, tokens_per_s: 1000, loss_scale: 1,
    skipped: 0, skipped_total: 0, unix_time: Date.now() / 1000 };
  fs.appendFileSync(metrics, `${JSON.stringify(record)}\n`);
  const started = Date.now();
  await page.waitForFunction((s) => window.sieveDashboard.charts.loss.data[0].includes(s), step, { timeout: 10000 });
  const last = await page.evaluate(() => {
    const data = window.sieveDashboard.charts.loss.data;
    return data[data.length - 1][data[0].length - 1];
  });
  assert.equal(last, 0.123);
  assert.equal(await pointsOf('loss'), steps.length + 1);
  console.log(`appended record shown after ${Date.now() - started} ms`);
  assert.deepEqual(page.problems, []);
});

test('plots zoom by dragging, reset on double-click, smooth and switch to a log scale', async () => {
  await openRun('growing');
  await page.waitForFunction(() => window.sieveDashboard.charts.loss.data[0].length > 10);
  const range = () => page.evaluate(() => {
    const { min, max } = window.sieveDashboard.charts.loss.scales.x;
    return [min, max];
  });
  const full = await range();
  const over = await page.$('[data-metric="loss"] .u-over');
  await over.scrollIntoViewIfNeeded();
  const box = await over.boundingBox();
  await page.mouse.move(box.x + box.width * 0.3, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2, { steps: 5 });
  await page.mouse.up();
  const zoomed = await range();
  assert.ok(zoomed[0] > full[0] && zoomed[1] < full[1], `zoomed ${zoomed} within ${full}`);
  // A new record does not undo the zoom the user made.
  const metrics = path.join(runsDir, 'growing', 'metrics.jsonl');
  const step = Math.max(...stepsOf(metrics, 'train')) + 2000;
  fs.appendFileSync(metrics, `${JSON.stringify({ event: 'train', step, loss: 0.5, lr: 1e-4 })}\n`);
  await page.waitForFunction((s) => window.sieveDashboard.charts.loss.data[0].includes(s), step, { timeout: 10000 });
  assert.deepEqual(await range(), zoomed);
  await page.mouse.dblclick(box.x + box.width / 2, box.y + box.height / 2);
  const reset = await range();
  assert.ok(reset[0] <= full[0] && reset[1] >= step, `reset to ${reset}: every step`);

  // Smoothing: the shown series becomes an average, the raw one stays underneath.
  await page.$eval('#smoothing', (slider) => {
    slider.value = '0.9';
    slider.dispatchEvent(new Event('input'));
  });
  const series = await page.evaluate(() => {
    const data = window.sieveDashboard.charts.loss.data;
    return { raw: data[1], shown: data[2] };
  });
  const roughness = (v) => v.slice(1).reduce((sum, x, i) => sum + Math.abs(x - v[i]), 0);
  assert.ok(roughness(series.shown) < roughness(series.raw), 'the smoothed curve moves less');
  await page.$eval('#smoothing', (slider) => {
    slider.value = '0';
    slider.dispatchEvent(new Event('input'));
  });

  assert.equal(await page.evaluate(() => window.sieveDashboard.charts.loss.scales.y.distr), 1);
  await page.click('[data-metric="loss"] .chip');
  assert.equal(await page.evaluate(() => window.sieveDashboard.charts.loss.scales.y.distr), 3);
  assert.deepEqual(page.problems, []);
});

test('the advisor suggests changes on the diverging, overflowing and plateaued runs and none on the healthy one', async () => {
  for (const name of WITH_ADVICE) {
    await openRun(name);
    await page.waitForSelector('#advisor .suggestion', { timeout: 10000 });
    const cards = await page.$$eval('#advisor .suggestion', (els) => els.map((el) => ({
      rule: el.dataset.rule, text: el.textContent, button: Boolean(el.querySelector('button')) })));
    assert.ok(cards.length > 0, name);
    for (const card of cards) {
      assert.match(card.text, /Evidence: .+/, `${name}: ${card.rule}`);
      assert.match(card.text, /Expected effect: .+/, `${name}: ${card.rule}`);
      assert.ok(card.button, `${name}: ${card.rule} has a Try it button`);
    }
    if (name === 'diverging') await screenshot(page, 'advisor', { fullPage: false });
  }
  await openRun('healthy');
  await page.waitForSelector('#advisor .advisor-quiet', { timeout: 10000 });
  assert.equal(await page.$$eval('#advisor .suggestion', (els) => els.length), 0);
  assert.deepEqual(page.problems, []);
});

test('compare overlays the curves of the picked runs and tabulates their differences', async () => {
  const picked = ['plateau', 'diverging', 'overfitting'];
  await page.goto(`${dashboard.base}/#/compare?runs=${picked.join(',')}`);
  // Steps, then a faint (raw) and a shown series per run.
  await page.waitForFunction((n) => {
    const plot = window.sieveDashboard.compareCharts.loss;
    return plot && plot.series.length === 1 + 2 * n;
  }, picked.length);
  // Each run's series has its own records; the x values are the union of their steps.
  const counts = await page.evaluate((n) => {
    const data = window.sieveDashboard.compareCharts.loss.data;
    return data.slice(1 + n).map((values) => values.filter((v) => v !== null && v !== undefined).length);
  }, picked.length);
  assert.deepEqual(counts, picked.map((name) => stepsOf(path.join(runsDir, name, 'metrics.jsonl'), 'train').size));
  await page.waitForSelector('#compare-finals tbody tr');
  const finals = await page.$$eval('#compare-finals tbody tr', (rows) => rows.map((r) => r.cells[0].textContent));
  assert.deepEqual(finals, picked);
  await screenshot(page, 'compare', { fullPage: false });
  assert.deepEqual(page.problems, []);
});

test('the tables view renders the benchmark results', async () => {
  await page.goto(`${dashboard.base}/#/tables`);
  await page.waitForSelector('section[data-bench="compression_table"] tbody tr');
  const rows = await page.$$eval('section[data-bench="compression_table"] tbody tr', (trs) => trs.length);
  assert.equal(rows, 2);
  assert.deepEqual(page.problems, []);
});

test('the Serving view, without --serve, says how to add a server', async () => {
  await page.goto(`${dashboard.base}/#/serving`);
  await page.waitForSelector('.serving-empty');
  assert.match(await page.textContent('.serving-empty'), /--serve http:\/\/HOST:PORT/);
  assert.equal(await page.evaluate(() => Object.keys(window.sieveDashboard.servingCharts).length), 0);
  assert.deepEqual(page.problems, []);
});

test('writes need the token: a tab without it says how to get one', async () => {
  const anonymous = await openPage(browser);  // a new tab: no token in its sessionStorage
  await anonymous.goto(`${dashboard.base}/#/run/diverging`);
  await anonymous.waitForSelector('#access .access-none');
  await anonymous.click('#advisor .suggestion button');
  await anonymous.waitForSelector('#toast:not([hidden])');
  assert.match(await anonymous.textContent('#toast'), /token/);
  await anonymous.goto(`${dashboard.base}/#/tune`);
  await anonymous.fill('#launch-form [name=name]', 'no-token');
  await anonymous.click('#launch-form button[type=submit]');
  await anonymous.waitForSelector('#launch-form .form-message:not(:empty)');
  assert.match(await anonymous.textContent('#launch-form .form-message'), /token/);
  assert.ok(!fs.existsSync(path.join(runsDir, 'no-token')));
  assert.deepEqual(anonymous.problems, []);
  await anonymous.close();
});

test('a tiny run launched from the form trains live, stops and resumes', { timeout: 240000 }, async () => {
  // A text file under --runs is the data set: the project's docs, a few hundred KB of English.
  const docs = new URL('../../docs/', import.meta.url);
  const text = fs.readdirSync(docs).filter((f) => f.endsWith('.md')).map((f) => fs.readFileSync(new URL(f, docs), 'utf8'));
  fs.writeFileSync(path.join(runsDir, 'tiny.txt'), text.join('\n'));
  await page.goto(`${dashboard.base}/#/tune`);
  await page.waitForSelector('#launch-form');
  await screenshot(page, 'tune', { fullPage: false });
  const form = '#launch-form';
  await page.fill(`${form} [name=name]`, 'from-the-form');
  await page.selectOption(`${form} [name=preset]`, 'tiny');
  await page.fill(`${form} [name=dataset]`, 'tiny.txt');
  await page.fill(`${form} [name=steps]`, '100000');
  await page.fill(`${form} [name=batch]`, '2');
  await page.fill(`${form} [name=context]`, '32');
  await page.fill(`${form} [name=log_interval]`, '1');
  await page.fill(`${form} [name=eval_interval]`, '100000');
  await page.fill(`${form} [name=eval_windows]`, '2');
  await page.click(`${form} button[type=submit]`);
  await page.waitForFunction(() => window.location.hash === '#/run/from-the-form', null, { timeout: 60000 });
  // The curve grows while the page is open.
  await page.waitForFunction(() => window.sieveDashboard.charts.loss && window.sieveDashboard.charts.loss.data[0].length >= 2,
    null, { timeout: 120000 });
  const early = await pointsOf('loss');
  await page.waitForFunction((n) => window.sieveDashboard.charts.loss.data[0].length > n, early, { timeout: 60000 });
  await page.waitForSelector('.page-head .pill.status-running');
  await page.click('.page-head button.danger');
  await page.waitForSelector('.page-head .pill.status-stopped', { timeout: 60000 });
  const job = JSON.parse(fs.readFileSync(path.join(runsDir, 'from-the-form', 'job.json'), 'utf8'));
  assert.notEqual(job.state, 'running');

  // Resume continues from the checkpoint the stop wrote: the curve grows again; then stop it.
  const stoppedAt = await page.evaluate(() => Math.max(...window.sieveDashboard.charts.loss.data[0]));
  await page.click('.page-head button:text-is("Resume")');
  await page.waitForFunction((s) => Math.max(...window.sieveDashboard.charts.loss.data[0]) > s, stoppedAt, { timeout: 120000 });
  await page.waitForSelector('.page-head .pill.status-running');
  await page.click('.page-head button.danger');
  await page.waitForSelector('.page-head .pill.status-stopped', { timeout: 60000 });
  assert.deepEqual(page.problems, []);
});

test('a search started from the form ranks its trials live and halves them at each rung', { timeout: 240000 }, async () => {
  await page.goto(`${dashboard.base}/#/tune`);
  const form = '#search-form';
  await page.waitForSelector(form);
  await page.fill(`${form} [name=name]`, 'search-lr');
  await page.fill(`${form} .param-values`, '0.0003, 0.003');
  await page.fill(`${form} [name=rungs]`, '10, 20');
  await page.fill(`${form} [name=eta]`, '2');
  await page.fill(`${form} [name=dataset]`, 'tiny.txt');  // written by the launch test
  await page.fill(`${form} [name=batch]`, '2');
  await page.fill(`${form} [name=context]`, '32');
  await page.fill(`${form} [name=log_interval]`, '1');
  await page.fill(`${form} [name=eval_windows]`, '2');
  await page.click(`${form} button[type=submit]`);
  await page.waitForFunction(() => window.location.hash.startsWith('#/search/'), null, { timeout: 10000 });
  await page.waitForSelector('.page-head .pill.status-done', { timeout: 200000 });
  await page.waitForFunction(() => document.querySelectorAll('#trials-table tbody tr').length === 2);
  const rows = await page.$$eval('#trials-table tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((td) => td.textContent)));
  // Best first: the trial kept after the first rung, then the pruned one (which, on a fast
  // machine, may have run past its rung before it was stopped: then the lower loss ranks first).
  assert.deepEqual(rows.map((r) => r[3]), ['finished', 'pruned'], JSON.stringify(rows));
  const [best, pruned] = rows.map((r) => ({ rung: Number(r[4]), loss: Number(r[6]) }));
  assert.ok(Number.isFinite(best.loss) && Number.isFinite(pruned.loss), JSON.stringify(rows));
  assert.ok(best.rung > pruned.rung || best.loss <= pruned.loss, JSON.stringify(rows));
  // The trials' validation losses are plotted, one curve per trial.
  await page.waitForFunction(() => {
    const plot = window.sieveDashboard.charts.search_val_loss;
    return plot && plot.series.length === 5;
  });
  await screenshot(page, 'search', { fullPage: false });
  // A trial's page: a nested run name ("search-lr/trial-02") is one URL segment.
  await page.click('#trials-table tbody tr:first-child a');
  await page.waitForFunction(() => window.sieveDashboard.charts.loss && window.sieveDashboard.charts.loss.data[0].length === 20);
  assert.equal(await page.textContent('.page-head h1'), rows[0][1]);
  assert.deepEqual(page.problems, []);
});

test('Try it measures a suggestion with a short A/B run and shows the difference', { timeout: 300000 }, async () => {
  // A run with the diverging fixture's metrics and the command of the tiny run launched above,
  // so that the advisor fires and the A/B trial trains in seconds.
  const dir = path.join(runsDir, 'tiny-diverging');
  fs.mkdirSync(dir);
  fs.copyFileSync(path.join(runsDir, 'from-the-form', 'command.json'), path.join(dir, 'command.json'));
  fs.copyFileSync(path.join(runsDir, 'diverging', 'metrics.jsonl'), path.join(dir, 'metrics.jsonl'));
  await openRun('tiny-diverging');
  const card = '#advisor .suggestion[data-rule="divergence"]';
  await page.waitForSelector(card, { timeout: 10000 });
  await page.fill(`${card} .trial-steps`, '20');
  await page.click(`${card} button`);
  await page.waitForSelector(`${card} .trial[data-state="done"]`, { timeout: 240000 });
  const result = await page.textContent(`${card} .trial-result`);
  assert.match(result, /validation loss: [\d.]+ → [\d.]+/);
  assert.match(result, /better|worse|no clear difference/);
  await page.$eval(card, (el) => el.scrollIntoView({ block: 'center' }));
  await screenshot(page, 'try-it', { fullPage: false });
  assert.deepEqual(page.problems, []);
});
