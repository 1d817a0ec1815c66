// One run's metrics.jsonl as the page holds it, fed incrementally from
// GET /api/runs/{name}/metrics?after=N. A later record for the same event and step replaces an
// earlier one (a resumed run repeats steps, docs/metrics.md); the last `start` record is kept.
import { getJson, runPath } from './api.js';

// Replies at least this long may have left records for the next request.
const FULL_REPLY = 1000;

export class MetricsStream {
  constructor(name) {
    this.name = name;
    this.next = 0;
    this.clear();
  }

  clear() {
    this.start = null;
    this.byEvent = { train: new Map(), eval: new Map() };
    this.sorted = {};
    this.version = 0;
  }

  // Fetches the records appended since the last call; true when anything changed. The server
  // answers a few thousand records at a time: a long run's file takes several requests.
  async poll() {
    let changed = false;
    for (;;) {
      const answer = await getJson(`${runPath(this.name)}/metrics?after=${this.next}`);
      if (answer.reset) this.clear();
      for (const record of answer.records) this.add(record);
      changed = changed || Boolean(answer.reset) || answer.records.length > 0;
      const more = answer.records.length > 0 && answer.next > this.next && answer.records.length >= FULL_REPLY;
      this.next = answer.next;
      if (!more) return changed;
    }
  }

  add(record) {
    if (record.event === 'start') {
      this.start = record;
    } else if (this.byEvent[record.event] && typeof record.step === 'number') {
      this.byEvent[record.event].set(record.step, record);
    } else {
      return;
    }
    this.version += 1;
  }

  // The records of one event ("train" or "eval"), one per step, ascending.
  records(event) {
    const cached = this.sorted[event];
    if (cached && cached.version === this.version) return cached.records;
    const map = this.byEvent[event];
    const records = map ? [...map.values()].sort((a, b) => a.step - b.step) : [];
    this.sorted[event] = { version: this.version, records };
    return records;
  }

  // The latest value of a field among the records of an event, or null.
  latest(event, field) {
    const records = this.records(event);
    for (let i = records.length - 1; i >= 0; --i) {
      const value = records[i][field];
      if (typeof value === 'number') return value;
    }
    return null;
  }
}
