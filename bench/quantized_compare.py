#!/usr/bin/env python3
"""Quantized inference speed, Sieve and PyTorch in the same run (docs/compression.md).

For each preset (random weights; lm-17m and the inference-only lm-100m by default) and each of
prefill (batch 1, --context-token prompt, tokens_per_s) and decode (KV cache after --context
tokens, ms_per_token):
  sieve   build/sieve bench prefill|decode --preset P [--scheme int8|int4] --json
  pytorch bench/peer_quantized.py prefill|decode --preset P --precision fp32|int8
            (torch.quantization.quantize_dynamic for int8)
Each runs --rounds times (best kept). Printed: every number, Sieve int8 and int4 against Sieve
f32, and Sieve against PyTorch at the same precision (> 1: Sieve better). With --out, one JSON
line per preset and bench is appended.

Needs only the standard library; the peer runs under Debian's /usr/bin/python3.
"""

import argparse
import datetime
import json
import os
import platform
import sys

import blas_env
from compare import REPO, BenchError, run_json

SCHEMES = ("f32", "int8", "int4")
PEER_PRECISIONS = ("fp32", "int8")
METRIC = {"prefill": ("tokens_per_s", True), "decode": ("ms_per_token", False)}


def sieve_cmd(args, bench, preset, scheme):
    cmd = [args.sieve, "bench", bench, "--preset", preset, "--context", str(args.context), "--json"]
    if bench == "decode":
        cmd += ["--tokens", str(args.new_tokens)]
    if scheme != "f32":
        cmd += ["--scheme", scheme]
    return cmd


def peer_cmd(args, bench, preset, precision):
    return [args.python, os.path.join(REPO, "bench", "peer_quantized.py"), bench, "--preset", preset,
            "--precision", precision, "--context", str(args.context), "--new-tokens", str(args.new_tokens),
            "--threads", str(args.threads)]


def best(bench, runs):
    metric, higher = METRIC[bench]
    return (max if higher else min)(runs, key=lambda r: r[metric])


def ratio(bench, a, b):
    """How much better a is than b (> 1: a better)."""
    metric, higher = METRIC[bench]
    return round(a[metric] / b[metric] if higher else b[metric] / a[metric], 3)


def measure(args, cmd, env):
    return [run_json(cmd, env, args.timeout) for _ in range(args.rounds)]


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", nargs="+", default=["lm-17m", "lm-100m"])
    ap.add_argument("--bench", nargs="+", default=["prefill", "decode"], choices=sorted(METRIC))
    ap.add_argument("--context", type=int, default=256)
    ap.add_argument("--new-tokens", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--timeout", type=int, default=1800)
    ap.add_argument("--sieve", default=os.path.join(REPO, "build", "sieve"))
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--out", help="append JSON lines here")
    return ap.parse_args()


def main():
    args = parse_args()
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), SIEVE_NUM_THREADS=str(args.threads))
    peer_env = blas_env.apply(dict(env))
    for preset in args.preset:
        for bench in args.bench:
            metric, _ = METRIC[bench]
            try:
                sieve = {s: best(bench, measure(args, sieve_cmd(args, bench, preset, s), env)) for s in SCHEMES}
                peer = {p: best(bench, measure(args, peer_cmd(args, bench, preset, p), peer_env))
                        for p in PEER_PRECISIONS}
            except BenchError as e:
                sys.exit(f"quantized_compare: {e}")
            ratios = {
                "int8_vs_own_f32": ratio(bench, sieve["int8"], sieve["f32"]),
                "int4_vs_own_f32": ratio(bench, sieve["int4"], sieve["f32"]),
                "f32_vs_pytorch_fp32": ratio(bench, sieve["f32"], peer["fp32"]),
                "int8_vs_pytorch_int8": ratio(bench, sieve["int8"], peer["int8"]),
            }
            print(f"{bench} {preset} ({metric}, context {args.context}, {args.threads} threads)")
            for s in SCHEMES:
                print(f"  sieve {s:5} {sieve[s][metric]:10.3f}")
            for p in PEER_PRECISIONS:
                print(f"  torch {p:5} {peer[p][metric]:10.3f}   ({peer[p].get('engine', 'fp32')})")
            for name, value in ratios.items():
                print(f"  {name:22} {value:.2f}x")
            if args.out:
                record = {"bench": f"quantized-{bench}", "preset": preset, "metric": metric, "sieve": sieve,
                          "pytorch": peer, "ratios": ratios, "commands": {
                              "sieve": " ".join(sieve_cmd(args, bench, preset, "int8")),
                              "pytorch": " ".join(peer_cmd(args, bench, preset, "int8"))},
                          "cpu": platform.processor() or platform.machine(),
                          "when": datetime.datetime.now().isoformat(timespec="seconds")}
                with open(args.out, "a") as f:
                    f.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
