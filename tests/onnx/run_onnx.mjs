// Runs Sieve's ONNX exports in ONNX Runtime (npm onnxruntime-node) for tests/onnx and
// bench/onnx_compare.py. One JSON job on the command line:
//   node run_onnx.mjs '{"ort": "<onnxruntime-node dir>", "prefill": "m.onnx", "with_past": "m_with_past.onnx",
//                       "ids": [[...], ...], "mask": [[...], ...] (optional: all 1), "threads": 2,
//                       "logits_out": "logits.f32" (optional), "greedy_tokens": N (optional),
//                       "bench": {"prefill_runs": R, "decode_tokens": N} (optional),
//                       "optimization": "all" (default) | "extended" | "basic" | "disabled"}'
// Writes the prefill logits [batch, sequence, vocab] as raw little-endian f32 to logits_out and
// prints one JSON line: {"tokens": [[...]] (greedy continuation of each row through the KV-cache
// graph), "prefill_ms": [...], "decode_ms_per_token": x}.
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';

const job = JSON.parse(process.argv[2]);
const ort = createRequire(import.meta.url)(job.ort);
const options = { executionProviders: ['cpu'], intraOpNumThreads: job.threads ?? 2, interOpNumThreads: 1,
                  graphOptimizationLevel: job.optimization ?? 'all' };

const int64Tensor = (rows) =>
  new ort.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, rows[0].length]);

// The index of the largest logit of each row's last position.
function lastArgmax(logits) {
  const [batch, sequence, vocab] = logits.dims;
  const next = [];
  for (let b = 0; b < batch; ++b) {
    const base = (b * sequence + sequence - 1) * vocab;
    let best = 0;
    for (let v = 1; v < vocab; ++v) if (logits.data[base + v] > logits.data[base + best]) best = v;
    next.push(best);
  }
  return next;
}

// present.N.* of one run as the next run's past_key_values.N.*
function pastFrom(outputs) {
  const past = {};
  for (const [name, value] of Object.entries(outputs))
    if (name.startsWith('present.')) past['past_key_values.' + name.slice('present.'.length)] = value;
  return past;
}

const prefill = await ort.InferenceSession.create(job.prefill, options);
const mask = job.mask ?? job.ids.map((row) => row.map(() => 1));
const feeds = { input_ids: int64Tensor(job.ids), attention_mask: int64Tensor(mask) };
const result = {};
let start = performance.now();
let outputs = await prefill.run(feeds);
result.prefill_ms = [performance.now() - start];
for (let r = 1; r < (job.bench?.prefill_runs ?? 1); ++r) {
  start = performance.now();
  outputs = await prefill.run(feeds);
  result.prefill_ms.push(performance.now() - start);
}
if (job.logits_out) {
  const logits = outputs.logits.data;
  writeFileSync(job.logits_out, Buffer.from(logits.buffer, logits.byteOffset, logits.byteLength));
}

const steps = job.greedy_tokens ?? job.bench?.decode_tokens ?? 0;
if (steps > 0) {
  const decode = await ort.InferenceSession.create(job.with_past, options);
  let decodeMask = mask;
  let next = lastArgmax(outputs.logits);
  const tokens = job.ids.map(() => []);
  start = performance.now();
  for (let step = 0; step < steps; ++step) {
    next.forEach((token, b) => tokens[b].push(token));
    if (step + 1 === steps) break;
    decodeMask = decodeMask.map((row) => [...row, 1]);
    outputs = await decode.run({ input_ids: int64Tensor(next.map((t) => [t])), attention_mask: int64Tensor(decodeMask),
                                 ...pastFrom(outputs) });
    next = lastArgmax(outputs.logits);
  }
  result.decode_ms_per_token = steps > 1 ? (performance.now() - start) / (steps - 1) : 0;
  result.tokens = tokens;
}
console.log(JSON.stringify(result));
