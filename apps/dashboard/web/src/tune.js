// Tune: launch a run from a form (POST /api/launch, then its page), and start or follow
// hyperparameter searches (search.js).
import { getJson, postJson } from './api.js';
import { h, fill, toast } from './dom.js';
import { num } from './format.js';
import { subscribe, runHref } from './runs.js';
import { runFields, bindConditionalFields, readRunFields } from './forms.js';
import { searchForm, searchList } from './search.js';

// A run is listed once its metrics.jsonl exists, which `sieve train` writes after preparing the
// data (a tokenizer may be trained first): wait for that before opening its page. False after
// `seconds` without it.
async function waitUntilListed(name, seconds) {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    const answer = await getJson('/api/runs');
    if (answer.runs.some((run) => run.name === name)) return true;
    await new Promise((resolve) => { setTimeout(resolve, 500); });
  }
  return false;
}

function launchForm(runNames) {
  const message = h('p', { class: 'form-message', role: 'alert' });
  const submit = h('button', { class: 'button primary', type: 'submit' }, 'Launch');
  const form = h('form', { class: 'form', id: 'launch-form', autocomplete: 'off' },
    h('div', { class: 'form-grid' },
      h('label', { class: 'field', dataset: { field: 'name' } }, h('span', { class: 'field-label' }, 'Run name'),
        h('input', { name: 'name', type: 'text', required: true, pattern: '[A-Za-z0-9][A-Za-z0-9._\\-]*',
          placeholder: 'my-run', title: 'Letters, digits, . _ - (a new directory under --runs)' })),
      runFields(runNames)),
    h('div', { class: 'form-actions' }, submit, message));
  bindConditionalFields(form);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = { name: form.elements.name.value.trim(), ...readRunFields(form) };
    fill(message);
    submit.disabled = true;
    try {
      const answer = await postJson('/api/launch', body);
      fill(message, h('span', { class: 'muted' }, `Started ${answer.run}; waiting for its first metrics…`));
      if (await waitUntilListed(answer.run, 120)) {
        toast(`Launched ${answer.run}.`);
        window.location.hash = runHref(answer.run);
      } else {
        fill(message, `${answer.run} has written no metrics after two minutes: see its train.log under --runs.`);
      }
    } catch (error) {
      fill(message, error.message);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

// GET /api/machine in one line: what the settings will run on.
function machineLine(machine) {
  const gflops = machine.gemm_gflops || {};
  return `This machine: ${machine.cores} cores · ${num(machine.memory_mb / 1024, 3)} GiB · ${machine.isa}`
    + ` · matrix products ${num(gflops.fp32, 3)} GFLOP/s in fp32, ${num(gflops.bf16, 3)} in bf16`
    + `${machine.bf16_native === false ? ' (emulated)' : ''}.`;
}

export function mount(view) {
  const machineSlot = h('p', { class: 'muted small', id: 'machine' });
  const launchSlot = h('div');
  const searchSlot = h('div');
  const listSlot = h('div');
  fill(view,
    h('div', { class: 'page-head' }, h('h1', {}, 'Tune'), machineSlot),
    h('section', { class: 'card' }, h('h2', {}, 'Launch a run'),
      h('p', { class: 'muted' }, 'Starts `sieve train` with these settings in a new directory under --runs; its page opens and follows it live.'),
      launchSlot),
    h('section', { class: 'card' }, h('h2', {}, 'Hyperparameter search'),
      h('p', { class: 'muted' }, 'Grid or random search over chosen ranges; successive halving stops the poorer trials at each rung (by validation loss). Trials run at most as many at once as the machine has cores to spare.'),
      searchSlot),
    h('section', { class: 'card' }, h('h2', {}, 'Searches'), listSlot));

  // The forms are built once the run names are known (the model field suggests them).
  let built = false;
  const unsubscribe = subscribe((runs) => {
    if (built) return;
    built = true;
    const names = runs.map((r) => r.name);
    fill(launchSlot, launchForm(names));
    fill(searchSlot, searchForm(names));
  });
  const stopList = searchList(listSlot);
  getJson('/api/machine').then((machine) => { machineSlot.textContent = machineLine(machine); }, () => {});
  return () => {
    unsubscribe();
    stopList();
  };
}
