// The dashboard's Serving view in a real browser (headless Debian chromium through
// playwright-core) against a live `sieve serve`: an untrained tiny model served as two models,
// a and b, behind an A/B route; `sieve dashboard --serve URL` reads the server's /metrics. Sends
// completions through the route for 10 s and checks that the view shows the server up, each
// variant's requests and tokens as the server answered them, and plots with points; then that
// a stopped server is shown down. Saves a screenshot to SIEVE_TEST_ARTIFACTS/serving.png
// (docs/dashboard.md uses it).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDashboard, startProcess, launchBrowser, openPage, runSieve, screenshot } from './harness.mjs';

const ROUTE = 'ab';
const LOAD_MS = 10000;

let dir;
let server;
let serverUrl;
let dashboard;
let browser;
let page;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sieve-dashboard-serving-'));
  // The project's docs are the text the tokenizer is made from; --steps 0 only creates the model.
  const docs = new URL('../../docs/', import.meta.url);
  const text = fs.readdirSync(docs).filter((f) => f.endsWith('.md')).map((f) => fs.readFileSync(new URL(f, docs), 'utf8'));
  fs.writeFileSync(path.join(dir, 'text.txt'), text.join('\n'));
  const model = path.join(dir, 'model');
  await runSieve(['train', '--preset', 'tiny', '--data', path.join(dir, 'text.txt'), '--out', model, '--steps', '0']);
  server = await startProcess(['serve', '--model', `a=${model}`, '--model', `b=${model}`, '--route', `${ROUTE}=a:50,b:50`,
    '--http', '127.0.0.1:0'], /sieve serve: ready on (http:\/\/127\.0\.0\.1:\d+)/);
  serverUrl = server.match[1];
  const runs = path.join(dir, 'runs');
  fs.mkdirSync(runs);
  dashboard = await startDashboard(runs, ['--serve', serverUrl]);
  browser = await launchBrowser();
  page = await openPage(browser);
});

after(async () => {
  if (browser) await browser.close();
  if (dashboard) await dashboard.stop();
  if (server) await server.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

// The text of a variant's cell in the Serving view's table, or null without that row.
const cellOf = (model, column) => page.evaluate(([url, route, m, c]) => {
  const row = document.querySelector(`.serving-target[data-url="${url}"] tr[data-route="${route}"][data-model="${m}"]`);
  const cell = row && row.querySelector(`td[data-column="${c}"]`);
  return cell ? cell.textContent : null;
}, [serverUrl, ROUTE, model, column]);

test('the Serving view shows a live server\'s variants, their requests and plots', { timeout: 120000 }, async () => {
  await page.goto(`${dashboard.base}/#/serving`);
  const target = `.serving-target[data-url="${serverUrl}"]`;
  await page.waitForSelector(`${target} .pill.status-up`, { timeout: 20000 });
  assert.deepEqual(await page.$$eval(`${target} .model-version`, (els) => els.map((el) => el.textContent)), ['a v1', 'b v1']);

  // Completions through the route for a few seconds (the dashboard reads /metrics every 2 s,
  // so the plots get several points), each with its own client key; the answer names the
  // variant that answered.
  const sent = { a: { requests: 0, tokens: 0 }, b: { requests: 0, tokens: 0 } };
  const started = Date.now();
  for (let i = 0; Date.now() - started < LOAD_MS; ++i) {
    const response = await fetch(`${serverUrl}/v1/completions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: ROUTE, prompt: 'a', max_tokens: 4 + (i % 4) * 4, user: `client-${i}` }),
    });
    assert.equal(response.status, 200);
    const answer = await response.json();
    sent[answer.model].requests += 1;
    sent[answer.model].tokens += answer.usage.completion_tokens;
    await new Promise((resolve) => { setTimeout(resolve, 100 + (i % 5) * 50); });
  }

  // Each variant's row counts what the server answered, once the dashboard has read /metrics.
  const answered = Object.entries(sent).filter(([, s]) => s.requests > 0);
  await page.waitForFunction(([url, route, expected]) => expected.every(([model, s]) => {
    const row = document.querySelector(`.serving-target[data-url="${url}"] tr[data-route="${route}"][data-model="${model}"]`);
    return row && row.querySelector('td[data-column="requests"]').textContent === s.requests.toLocaleString('en-US');
  }), [serverUrl, ROUTE, answered], { timeout: 20000 });
  for (const [model, s] of answered) {
    assert.equal(await cellOf(model, 'completion_tokens'), s.tokens.toLocaleString('en-US'), model);
    assert.equal(await cellOf(model, 'errors'), '0', model);
    assert.match(await cellOf(model, 'latency_p95'), /^[\d.,]+$/, model);
  }

  // The requests/s plot has one series per variant, each with points above zero while the
  // load ran: uPlot's data is [times, the faint copies of the series, the series].
  await page.waitForFunction(([url, n]) => {
    const plot = (window.sieveDashboard.servingCharts[url] || {}).requests_per_s;
    if (!plot || plot.data.length !== 1 + 2 * n) return false;
    const shown = plot.data.slice(1 + n);
    return shown.every((values) => values.filter((v) => v > 0).length >= 3);
  }, [serverUrl, answered.length], { timeout: 30000 });
  const plots = await page.evaluate((url) => Object.keys(window.sieveDashboard.servingCharts[url]).sort(), serverUrl);
  assert.deepEqual(plots, ['load', 'p95_ms', 'requests_per_s', 'tokens_per_s']);
  await screenshot(page, 'serving', { fullPage: false });
  assert.deepEqual(page.problems, []);
});

test('a server that stops answering is shown down with the reason', { timeout: 60000 }, async () => {
  await server.stop();
  server = null;
  const target = `.serving-target[data-url="${serverUrl}"]`;
  await page.waitForSelector(`${target} .pill.status-down`, { timeout: 20000 });
  assert.notEqual((await page.textContent(`${target} .serving-error`)).trim(), '');
  assert.deepEqual(page.problems, []);
});
