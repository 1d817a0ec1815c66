// The smoothing slider shared by a page's plots (EMA weight 0–0.99), remembered across visits.
import { h } from './dom.js';

const KEY = 'sieve-dashboard-smoothing';

export function smoothingControl(onChange) {
  const stored = Number(localStorage.getItem(KEY));
  let weight = Number.isFinite(stored) && stored >= 0 && stored < 1 ? stored : 0;
  const label = h('span', { class: 'smoothing-value' }, weight.toFixed(2));
  const slider = h('input', {
    type: 'range', min: '0', max: '0.99', step: '0.01', value: String(weight), id: 'smoothing', 'aria-label': 'smoothing',
    oninput: (event) => {
      weight = Number(event.target.value);
      label.textContent = weight.toFixed(2);
      localStorage.setItem(KEY, String(weight));
      onChange(weight);
    },
  });
  return {
    element: h('label', { class: 'smoothing', title: 'Exponential moving average of the plotted values' }, 'smoothing', slider, label),
    value: () => weight,
  };
}
