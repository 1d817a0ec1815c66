#!/usr/bin/env python3
"""Sparse attention against Sieve's fused dense kernel, forward and backward, at growing
sequence lengths — both measured in the same `sieve bench attention` run — and the fitted
scaling exponent (time ∝ T^k, least squares on log-log) over the long lengths.

  bench/sparse_scaling.py [--seq 1024 4096 16384 32768 65536] [--fit-from 4096] [--out FILE]
                          [--sieve-arg ARG ...]

Prints a Markdown table and the exponents; --out appends one JSON line with every number.
Needs only the standard library.
"""

import argparse
import json
import math
import os
import shlex
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def fit_exponent(points):
    """Least-squares slope of log(time) against log(T)."""
    xs = [math.log(t) for t, _ in points]
    ys = [math.log(v) for _, v in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sieve", default=os.path.join(REPO, "build", "sieve"))
    ap.add_argument("--seq", type=int, nargs="+", default=[1024, 4096, 16384, 32768, 65536])
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--head-dim", type=int, default=64)
    ap.add_argument("--fit-from", type=int, default=4096, help="fit the exponent over T >= this")
    ap.add_argument("--sieve-arg", action="append", default=[], help="extra flag for sieve (repeatable)")
    ap.add_argument("--out", help="append a JSON line with every number")
    args = ap.parse_args()

    rows = []
    for seq in args.seq:
        cmd = [args.sieve, "bench", "attention", "--attention", "sparse", "--seq", str(seq), "--heads",
               str(args.heads), "--head-dim", str(args.head_dim), "--repeats", "2", "--dense-repeats", "1",
               "--json"] + args.sieve_arg
        print(f"$ {shlex.join(cmd)}", file=sys.stderr, flush=True)
        done = subprocess.run(cmd, check=True, capture_output=True, text=True)
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))

    print("| T | sparse fwd ms | sparse bwd ms | dense fwd ms | dense bwd ms | speedup fwd | speedup bwd |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['seq']:,} | {r['forward_ms']:.1f} | {r['backward_ms']:.1f} | {r['dense_forward_ms']:.1f} | "
              f"{r['dense_backward_ms']:.1f} | {r['speedup_forward']:.2f}x | {r['speedup_backward']:.2f}x |")
    long_rows = [r for r in rows if r["seq"] >= args.fit_from]
    exponents = {}
    if len(long_rows) >= 2:
        for key in ("forward_ms", "backward_ms", "dense_forward_ms", "dense_backward_ms"):
            exponents[key] = round(fit_exponent([(r["seq"], r[key]) for r in long_rows]), 3)
        print(f"\nscaling exponent over T >= {args.fit_from}: sparse forward {exponents['forward_ms']}, "
              f"backward {exponents['backward_ms']}; dense forward {exponents['dense_forward_ms']}, "
              f"backward {exponents['dense_backward_ms']}")
    if args.out:
        with open(args.out, "a") as f:
            f.write(json.dumps({"bench": "sparse_scaling", "rows": rows, "exponents": exponents}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
