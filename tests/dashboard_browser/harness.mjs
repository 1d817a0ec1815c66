// What the browser tests share: `sieve dashboard` on a free loopback port over a temporary
// runs directory, headless Debian chromium through playwright-core, and a page that records
// every console error and warning (the tests require none).
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// Set by tests/dashboard_browser/CMakeLists.txt.
const config = {
  sieve: process.env.SIEVE_BINARY,
  fixtures: process.env.SIEVE_DASHBOARD_FIXTURES,
  playwright: process.env.SIEVE_PLAYWRIGHT_DIR,
  chromium: process.env.SIEVE_CHROMIUM || '/usr/bin/chromium',
  artifacts: process.env.SIEVE_TEST_ARTIFACTS,
};

// A fresh runs directory holding copies of the fixture runs.
export function copyFixtureRuns() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sieve-dashboard-browser-'));
  fs.cpSync(config.fixtures, dir, { recursive: true });
  return dir;
}

// Runs `sieve ARGS…` to its end; rejects with its output when it fails.
export function runSieve(args) {
  const child = spawn(config.sieve, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => { output += chunk; });
  child.stderr.on('data', (chunk) => { output += chunk; });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      if (code === 0) resolve(output);
      else reject(new Error(`sieve ${args.join(' ')} exited (${code}):\n${output}`));
    });
  });
}

// Starts `sieve ARGS…` and waits (20 s at most) for its output to match `ready`. Resolves to
// {match, output(), stop()}; stop() sends SIGTERM and waits for the process to end.
export function startProcess(args, ready) {
  const child = spawn(config.sieve, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let started = false;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`sieve ${args[0]} printed nothing like ${ready} in 20 s:\n${output}`)), 20000);
    const onData = (chunk) => {
      output += chunk;
      const match = !started && output.match(ready);
      if (!match) return;
      started = true;
      clearTimeout(timer);
      resolve({
        match,
        output: () => output,
        stop: () => new Promise((done) => {
          if (child.exitCode !== null || child.signalCode !== null) return done();
          child.once('exit', () => done());
          child.kill('SIGTERM');
        }),
      });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      if (started) return;
      clearTimeout(timer);
      reject(new Error(`sieve ${args[0]} exited (${code}) before it was ready:\n${output}`));
    });
  });
}

// Starts `sieve dashboard --runs DIR --listen 127.0.0.1:0` and reads the URL (with the token)
// it prints.
export async function startDashboard(runsDir, extraArgs = []) {
  const started = await startProcess(['dashboard', '--runs', runsDir, '--listen', '127.0.0.1:0', ...extraArgs],
    /(http:\/\/127\.0\.0\.1:\d+)\/\?token=([0-9a-fA-F]+)/);
  const [, base, token] = started.match;
  return { base, token, url: `${base}/?token=${token}`, output: started.output, stop: started.stop };
}

export async function launchBrowser() {
  const require = createRequire(path.join(config.playwright, 'package.json'));
  const { chromium } = require(config.playwright);
  // playwright gives each launch a fresh temporary profile (--user-data-dir).
  return chromium.launch({
    executablePath: config.chromium,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run'],
  });
}

// A page at a desktop size whose console errors, warnings and uncaught exceptions are kept in
// page.problems.
export async function openPage(browser) {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.problems = [];
  page.on('console', (message) => {
    if (message.type() !== 'error' && message.type() !== 'warning') return;
    const where = message.location() && message.location().url;
    page.problems.push(`${message.type()}: ${message.text()}${where ? ` (${where})` : ''}`);
  });
  page.on('pageerror', (error) => page.problems.push(`uncaught: ${error.message}`));
  return page;
}

// The records of a metrics.jsonl as the page should hold them: per event, one per step (a
// later line wins).
export function stepsOf(metricsFile, event) {
  const steps = new Set();
  for (const line of fs.readFileSync(metricsFile, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    let record;
    try {
      record = JSON.parse(line);
    } catch {
      continue;
    }
    if (record && record.event === event && typeof record.step === 'number') steps.add(record.step);
  }
  return steps;
}

// Saves build/test-artifacts/dashboard/<name>.png, without a passing toast message over it.
export async function screenshot(page, name, options = {}) {
  fs.mkdirSync(config.artifacts, { recursive: true });
  await page.evaluate(() => { document.getElementById('toast').hidden = true; });
  await page.screenshot({ path: path.join(config.artifacts, `${name}.png`), ...options });
}
