// Numbers, durations and times as the dashboard shows them.

// Four significant digits; exponent notation for very small or large magnitudes.
export function num(value, digits = 4) {
  if (value === null || value === undefined || Number.isNaN(value)) return '–';
  if (typeof value !== 'number') return String(value);
  if (!Number.isFinite(value)) return value > 0 ? '∞' : '−∞';
  if (Number.isInteger(value) && Math.abs(value) < 1e9) return value.toLocaleString('en-US');
  const magnitude = Math.abs(value);
  if (magnitude !== 0 && (magnitude < 1e-3 || magnitude >= 1e7)) return value.toExponential(digits - 2);
  return Number(value.toPrecision(digits)).toLocaleString('en-US', { maximumFractionDigits: 8 });
}

// Axis tick labels: compact (1.2k, 3e-4).
export function tick(value) {
  if (value === null || value === undefined) return '';
  const magnitude = Math.abs(value);
  if (magnitude === 0) return '0';
  if (magnitude >= 1e6) return `${+(value / 1e6).toPrecision(3)}M`;
  if (magnitude >= 1e4) return `${+(value / 1e3).toPrecision(3)}k`;
  if (magnitude < 1e-2) return value.toExponential(0);
  return String(+value.toPrecision(3));
}

export function percent(fraction, digits = 1) {
  if (fraction === null || fraction === undefined) return '–';
  return `${(fraction * 100).toFixed(digits)}%`;
}

// 1536 → "1.5 KiB"; 0 → "0 B".
export function bytes(value) {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let scaled = value;
  let unit = 0;
  while (Math.abs(scaled) >= 1024 && unit < units.length - 1) {
    scaled /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? scaled : Number(scaled.toPrecision(3))} ${units[unit]}`;
}

// 3725 → "1 h 2 min"; 42 → "42 s".
export function duration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '–';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60 ? `${s % 60} s` : ''}`.trim();
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  return `${hours} h${minutes ? ` ${minutes} min` : ''}`;
}

// A Unix time as "5 s ago", "3 min ago", or a date for older ones.
export function ago(unixTime) {
  if (!unixTime) return '–';
  const seconds = Date.now() / 1000 - unixTime;
  if (seconds < 90) return `${Math.max(0, Math.round(seconds))} s ago`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400 * 2) return `${Math.round(seconds / 3600)} h ago`;
  return new Date(unixTime * 1000).toISOString().slice(0, 10);
}

// A JSON value in a table cell.
export function cell(value) {
  if (value === null || value === undefined) return '–';
  if (typeof value === 'number') return num(value);
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}
