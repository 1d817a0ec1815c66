#!/usr/bin/env python3
"""Sieve vs ONNX Runtime on Sieve's ONNX export of the same model: decode ms/token and prefill tokens/s, 2 threads.

For a trained f32 model directory: Sieve f32 vs ONNX Runtime on the f32 export, and Sieve INT8
(`sieve quantize --scheme int8`, dynamic activations) vs ONNX Runtime on that directory's QDQ export
(int8 weights, f32 activations: QDQ cannot express per-token scales). With --calibration CORPUS also
Sieve INT8 with static activation scales vs its QDQ export (Q/DQ on both operands, which ONNX
Runtime fuses into its int8 GEMM). ONNX Runtime runs through tests/onnx/run_onnx.mjs (npm
onnxruntime-node from scripts/install-verifiers.sh), greedy decoding through the KV-cache graph.
Both sides: batch 1, random prompt tokens, prefill best of --repeats, decode averaged over --tokens
after a --context-token prompt, each pair measured --rounds times alternating Sieve and ONNX Runtime
and the best of each kept (a shared machine's load only ever slows a run down) (context + tokens must fit the model's max_position_embeddings: the
graph's RoPE table has that many rows). Prints a table with the ratios (> 1: Sieve faster) and
appends the JSON lines to --out.

    /usr/bin/python3 bench/onnx_compare.py --model runs/lm17m-c --context 192 --tokens 64
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ORT = ROOT / ".cache" / "verifiers" / "npm" / "node_modules" / "onnxruntime-node"
RUNNER = ROOT / "tests" / "onnx" / "run_onnx.mjs"


def run_json(command, env):
    output = subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def onnx_runtime(onnx, prompt, tokens, repeats, threads, vocab):
    """ONNX Runtime's prefill (best of `repeats`) and decode (`tokens` after a `prompt`-token prompt)."""
    rng = random.Random(1)
    ids = lambda n: [[rng.randrange(vocab) for _ in range(n)]]
    with_past = onnx.with_name(onnx.stem + "_with_past.onnx")
    common = {"ort": str(ORT), "prefill": str(onnx), "with_past": str(with_past), "threads": threads}
    prefill = run_json(["node", RUNNER, json.dumps({**common, "ids": ids(prompt + tokens),
                                                     "bench": {"prefill_runs": repeats}})], os.environ)[0]
    decode = run_json(["node", RUNNER, json.dumps({**common, "ids": ids(prompt), "greedy_tokens": tokens})],
                      os.environ)[0]
    best = min(prefill["prefill_ms"])
    return ({"impl": "onnxruntime", "bench": "prefill", "prompt": prompt + tokens, "prefill_ms": best,
             "tokens_per_s": (prompt + tokens) / (best / 1000.0), "threads": threads},
            {"impl": "onnxruntime", "bench": "decode", "context": prompt, "tokens": tokens,
             "ms_per_token": decode["decode_ms_per_token"], "threads": threads})


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a trained f32 model directory (dense attention)")
    parser.add_argument("--context", type=int, default=192, help="decode: prompt tokens before timing")
    parser.add_argument("--tokens", type=int, default=64, help="decode: tokens timed; prefill: context + tokens")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3, help="measurements of each pair; the best is kept")
    parser.add_argument("--calibration", help="a text corpus: adds the INT8 static-activation pair")
    parser.add_argument("--build", default=str(ROOT / "build"))
    parser.add_argument("--out", default=str(ROOT / "bench" / "results.jsonl"))
    args = parser.parse_args()
    sieve = Path(args.build) / "sieve"
    if not (ORT / "package.json").exists():
        sys.exit(f"{ORT} is missing: run scripts/install-verifiers.sh")
    vocab = json.loads((Path(args.model) / "config.json").read_text())["vocab_size"]
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), SIEVE_NUM_THREADS=str(args.threads))
    rows, lines = [], []
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        pairs = [("f32", Path(args.model), "f32")]
        quantizations = [("int8", ["--scheme", "int8"], "QDQ int8 weights")]
        if args.calibration:
            quantizations.append(("int8 static", ["--scheme", "int8", "--activations", "static", "--calibration",
                                                  args.calibration], "QDQ int8 weights + activations"))
        for name, flags, graph in quantizations:
            directory = work / name.replace(" ", "-")
            subprocess.run([sieve, "quantize", "--model", args.model, "--out", directory, *flags], check=True,
                           capture_output=True, env=env)
            pairs.append((name, directory, graph))
        for precision, directory, graph in pairs:
            onnx = work / (directory.name + ".onnx")
            subprocess.run([sieve, "export", "--model", directory, "--format", "onnx", "--out", onnx], check=True,
                           capture_output=True, env=env)
            best = {}
            for _ in range(args.rounds):
                ours = run_json([sieve, "bench", "decode", "--model", directory, "--context", str(args.context),
                                 "--tokens", str(args.tokens), "--json"], env) + \
                    run_json([sieve, "bench", "prefill", "--model", directory, "--context",
                              str(args.context + args.tokens), "--repeats", str(args.repeats), "--json"], env)
                theirs = list(onnx_runtime(onnx, args.context, args.tokens, args.repeats, args.threads, vocab))
                for r in ours + theirs:
                    key, metric = (r["impl"], r["bench"]), "ms_per_token" if r["bench"] == "decode" else "prefill_ms"
                    if key not in best or r[metric] < best[key][metric]:
                        best[key] = r
            ours, theirs = [best[("sieve", b)] for b in ("decode", "prefill")], \
                [best[("onnxruntime", b)] for b in ("decode", "prefill")]
            by = {(r["impl"], r["bench"]): r for r in ours + theirs}
            for r in ours + theirs:
                r.update({"compare": "onnx", "pair": f"{precision}/{graph}", "model_dir": str(args.model)})
                lines.append(r)
            rows.append((precision, graph, by[("sieve", "decode")]["ms_per_token"],
                         by[("onnxruntime", "decode")]["ms_per_token"], by[("sieve", "prefill")]["tokens_per_s"],
                         by[("onnxruntime", "prefill")]["tokens_per_s"]))
    with open(args.out, "a") as out:
        for line in lines:
            out.write(json.dumps(line) + "\n")
    print("| Sieve | ONNX graph | decode ms/token Sieve | ONNX Runtime | ratio | prefill tok/s Sieve | ONNX Runtime | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for precision, graph, sd, od, sp, op in rows:
        print(f"| {precision} | {graph} | {sd:.2f} | {od:.2f} | {od / sd:.2f}x | {sp:.0f} | {op:.0f} | {sp / op:.2f}x |")


if __name__ == "__main__":
    main()
