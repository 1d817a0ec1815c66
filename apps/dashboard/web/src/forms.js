// The fields of a run's settings (the API's LaunchForm), shared by the launch form and by the
// base settings of a search, and reading them back as JSON: empty optional fields are left out
// so that `sieve train`'s defaults apply.
import { h } from './dom.js';

const PRESETS = ['tiny', 'demo', 'lm-17m'];
const DATASETS = ['gcide', 'foldoc', 'wikitext-2'];

// type: text | int | float | select | model; `hint` is the placeholder.
const RUN_FIELDS = [
  { name: 'preset', label: 'Model preset', type: 'select', options: ['', ...PRESETS], value: 'tiny',
    help: 'A new model of this size, or leave empty and pick a model directory below.' },
  { name: 'model', label: 'or model directory', type: 'model', hint: 'run name (fine-tune)',
    help: 'A run under --runs whose directory holds a model; LoRA needs one.' },
  { name: 'dataset', label: 'Dataset', type: 'dataset', value: 'gcide', help: 'A corpus name, or a text file under --runs.' },
  { name: 'precision', label: 'Precision', type: 'select', options: ['auto', 'fp32', 'bf16', 'fp16', 'tf32'], value: 'auto' },
  { name: 'steps', label: 'Steps', type: 'int', value: '200', required: true },
  { name: 'lr', label: 'Learning rate', type: 'float', hint: 'default' },
  { name: 'batch', label: 'Batch', type: 'int', hint: 'default' },
  { name: 'grad_accum', label: 'Gradient accumulation', type: 'int', hint: '1' },
  { name: 'context', label: 'Context (tokens)', type: 'int', hint: 'default' },
  // A model directory brings its own attention.
  { name: 'attention', label: 'Attention', type: 'select', options: ['dense', 'local', 'sparse'], value: 'dense',
    showIf: (form) => !hasModel(form) },
  { name: 'tau', label: 'Sparse τ', type: 'float', hint: 'default',
    showIf: (form) => !hasModel(form) && form.elements.attention.value === 'sparse' },
  { name: 'lora_rank', label: 'LoRA rank', type: 'int', hint: '0 (off)', showIf: hasModel },
  { name: 'max_bytes', label: 'Data limit (bytes)', type: 'int', hint: 'all' },
  { name: 'eval_interval', label: 'Eval interval', type: 'int', hint: 'default' },
  { name: 'log_interval', label: 'Log interval', type: 'int', hint: 'default' },
  { name: 'eval_windows', label: 'Eval windows', type: 'int', hint: 'default' },
  { name: 'val_fraction', label: 'Validation share', type: 'float', hint: 'default' },
];

function hasModel(form) {
  return form.elements.model.value.trim() !== '';
}

let listCounter = 0;

function control(field, runNames) {
  const common = { name: field.name, id: `field-${field.name}-${listCounter}` };
  if (field.type === 'select') {
    return h('select', common, field.options.map((o) => h('option', { value: o, selected: o === field.value }, o || '(none)')));
  }
  if (field.type === 'int' || field.type === 'float') {
    return h('input', { ...common, type: 'number', step: field.type === 'int' ? '1' : 'any', min: '0',
      placeholder: field.hint || '', value: field.value || null, required: field.required || null });
  }
  // Text with suggestions: dataset names, or the runs (for a model directory).
  const listId = `list-${field.name}-${listCounter}`;
  const options = field.type === 'dataset' ? DATASETS : runNames;
  return [
    h('input', { ...common, type: 'text', list: listId, placeholder: field.hint || '', value: field.value || null, autocomplete: 'off' }),
    h('datalist', { id: listId }, options.map((o) => h('option', { value: o }))),
  ];
}

// The settings fields as labelled rows; `skip` leaves some out (a search sets its own).
export function runFields(runNames, skip = []) {
  listCounter += 1;
  return RUN_FIELDS.filter((f) => !skip.includes(f.name)).map((field) => {
    const input = control(field, runNames);
    return h('label', { class: 'field', dataset: { field: field.name }, title: field.help || null },
      h('span', { class: 'field-label' }, field.label), input);
  });
}

// Shows the fields that only matter with another field's value (τ with sparse attention,
// the LoRA rank with a model directory).
export function bindConditionalFields(form) {
  const update = () => {
    for (const field of RUN_FIELDS) {
      if (!field.showIf) continue;
      const row = form.querySelector(`[data-field="${field.name}"]`);
      if (row) row.hidden = !field.showIf(form);
    }
  };
  form.addEventListener('input', update);
  form.addEventListener('change', update);
  update();
}

// The LaunchForm JSON of a form's settings fields.
export function readRunFields(form, skip = []) {
  const out = {};
  for (const field of RUN_FIELDS) {
    if (skip.includes(field.name)) continue;
    const row = form.querySelector(`[data-field="${field.name}"]`);
    if (!row || row.hidden) continue;
    const raw = form.elements[field.name].value.trim();
    if (raw === '') continue;
    out[field.name] = field.type === 'int' ? parseInt(raw, 10) : field.type === 'float' ? Number(raw) : raw;
  }
  if (out.model) delete out.preset;
  return out;
}
