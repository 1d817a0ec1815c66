// The single-page app's entry: the token, the run list beside every view, and a hash router
// (#/, #/run/<name>, #/compare?runs=a,b, #/tune, #/search/<id>, #/serving, #/tables). Each
// view's mount() returns a function that stops its polling when the user leaves it.
import { initToken, hasToken } from './api.js';
import { h, fill } from './dom.js';
import { startRunList, highlightRun } from './runs.js';
import * as overview from './overview.js';
import * as runPage from './run_page.js';
import * as compare from './compare.js';
import * as tune from './tune.js';
import * as search from './search.js';
import * as serving from './serving.js';
import * as tables from './tables.js';

// What tests and the console can inspect: the uPlot instances by metric (the Serving view's by
// server URL, then plot), and the current view.
window.sieveDashboard = { charts: {}, compareCharts: {}, servingCharts: {}, view: null };

const routes = [
  { pattern: /^#?\/?$/, tab: 'runs', mount: (el) => overview.mount(el) },
  { pattern: /^#\/run\/([^?]+)$/, tab: 'runs', mount: (el, m) => runPage.mount(el, decodeURIComponent(m[1])) },
  { pattern: /^#\/compare(?:\?runs=(.*))?$/, tab: 'compare',
    mount: (el, m) => compare.mount(el, m[1] ? decodeURIComponent(m[1]).split(',').filter(Boolean) : []) },
  { pattern: /^#\/tune$/, tab: 'tune', mount: (el) => tune.mount(el) },
  { pattern: /^#\/search\/(.+)$/, tab: 'tune', mount: (el, m) => search.mountSearchPage(el, decodeURIComponent(m[1])) },
  { pattern: /^#\/serving$/, tab: 'serving', mount: (el) => serving.mount(el) },
  { pattern: /^#\/tables$/, tab: 'tables', mount: (el) => tables.mount(el) },
];

let leave = null;

function route() {
  if (leave) leave();
  leave = null;
  const view = document.getElementById('view');
  fill(view);
  const hash = window.location.hash || '#/';
  for (const r of routes) {
    const match = hash.match(r.pattern);
    if (!match) continue;
    for (const tab of document.querySelectorAll('#tabs a')) tab.classList.toggle('active', tab.dataset.tab === r.tab);
    window.sieveDashboard.view = r.tab;
    leave = r.mount(view, match) || null;
    highlightRun(hash.startsWith('#/run/') ? decodeURIComponent(hash.slice(6)) : null);
    return;
  }
  fill(view, h('div', { class: 'empty' }, 'Nothing here. ', h('a', { href: '#/' }, 'Back to the runs')));
}

function showAccess() {
  const el = document.getElementById('access');
  if (hasToken()) {
    fill(el, h('span', { class: 'access-ok', title: 'This tab has the token: it can launch, stop and try runs.' }, 'token ✓'));
  } else {
    fill(el, h('span', { class: 'access-none', title: 'Open the URL that `sieve dashboard` printed to launch, stop or try runs.' },
      'read-only'));
  }
}

initToken();
showAccess();
startRunList();
window.addEventListener('hashchange', route);
route();
