#!/usr/bin/env python3
"""Sieve vs llama.cpp on the same weights: decode ms/token and prefill tokens/s, 2 threads.

For a trained f32 model directory: Sieve f32 vs the GGUF F32 export, Sieve INT8 (quantized with
`sieve quantize --scheme int8`) vs the Q8_0 export of that directory, Sieve INT4 g32 vs the Q4_0
export of that directory (INT8 → Q8_0 and INT4 → Q4_0 are mapped directly, docs/conversion.md),
so each pair runs the same quantized weights. llama.cpp runs through build/llama_cpp_bench (the
npm libraries, F32 KV cache). Prints a table with the ratios (> 1: Sieve faster) and appends the
JSON lines to --out.

    /usr/bin/python3 bench/gguf_compare.py --model runs/lm17m-c --context 256 --tokens 64
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_json(command):
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a trained f32 model directory")
    parser.add_argument("--context", type=int, default=256)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--build", default=str(ROOT / "build"))
    parser.add_argument("--out", default=str(ROOT / "bench" / "results.jsonl"))
    args = parser.parse_args()
    sieve, llama = Path(args.build) / "sieve", Path(args.build) / "llama_cpp_bench"
    if not llama.exists():
        sys.exit(f"{llama} is missing: scripts/install-verifiers.sh, then configure and build llama_cpp_bench")
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), SIEVE_NUM_THREADS=str(args.threads))
    rows, lines = [], []
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        pairs = [("f32", args.model, "f32")]
        for scheme, gguf_type in (("int8", "q8_0"), ("int4", "q4_0")):
            quantized = work / scheme
            subprocess.run([sieve, "quantize", "--model", args.model, "--out", quantized, "--scheme", scheme,
                            "--group-size", "32"], check=True, capture_output=True, env=env)
            pairs.append((scheme, quantized, gguf_type))
        for precision, directory, gguf_type in pairs:
            gguf = work / f"{gguf_type}.gguf"
            subprocess.run([sieve, "export", "--model", directory, "--format", "gguf", "--type", gguf_type,
                            "--out", gguf], check=True, capture_output=True, env=env)
            ours = run_json([sieve, "bench", "decode", "--model", directory, "--context", str(args.context),
                             "--tokens", str(args.tokens), "--json"]) + \
                run_json([sieve, "bench", "prefill", "--model", directory, "--context", str(args.context),
                          "--repeats", str(args.repeats), "--json"])
            theirs = run_json([llama, gguf, "--context", str(args.context), "--tokens", str(args.tokens),
                               "--repeats", str(args.repeats), "--threads", str(args.threads)])
            by = {(r["impl"], r["bench"]): r for r in ours + theirs}
            for r in ours + theirs:
                r.update({"compare": "gguf", "pair": f"{precision}/{gguf_type}", "model_dir": str(args.model)})
                lines.append(r)
            rows.append((precision, gguf_type, by[("sieve", "decode")]["ms_per_token"],
                         by[("llama.cpp", "decode")]["ms_per_token"], by[("sieve", "prefill")]["tokens_per_s"],
                         by[("llama.cpp", "prefill")]["tokens_per_s"]))
    with open(args.out, "a") as out:
        for line in lines:
            out.write(json.dumps(line) + "\n")
    print(f"| Sieve | llama.cpp | decode ms/token Sieve | llama.cpp | ratio | prefill tok/s Sieve | llama.cpp | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for precision, gguf_type, sd, ld, sp, lp in rows:
        print(f"| {precision} | {gguf_type.upper()} | {sd:.2f} | {ld:.2f} | {ld / sd:.2f}x | {sp:.0f} | {lp:.0f} | "
              f"{sp / lp:.2f}x |")


if __name__ == "__main__":
    main()
