#!/usr/bin/env python3
"""Training-quality comparison: trains the same model on the same data once per variant (same
seeds, same batches, same tokenizer) with `sieve train`, then compares the validation-loss
curves and each variant's final validation loss against the first (the reference).

  bench/quality_compare.py --variant fp32="--precision fp32" --variant bf16="--precision bf16" \\
      [--preset lm-17m] [--steps 300] [--batch 8] [--data gcide] [--tolerance 0.02] [--out FILE]

A variant is NAME=FLAGS: extra `sieve train` flags (e.g. --precision P, or --config FILE, which
replaces --preset). Prints a Markdown table (final validation loss, difference to the reference,
tokens/s, skipped steps) and the curves; --out appends one JSON line with everything. Exits 1 if a
run fails or a final validation loss is not within --tolerance of the reference's.
Needs only the standard library.
"""

import argparse
import datetime
import json
import os
import shlex
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sieve", default=os.path.join(REPO, "build", "sieve"))
    ap.add_argument("--variant", action="append", required=True, metavar="NAME=FLAGS",
                    help="a run to compare (the first is the reference); repeatable")
    ap.add_argument("--preset", default="lm-17m", help="model preset (unless a variant gives --config)")
    ap.add_argument("--data", default="gcide")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--eval-interval", type=int, default=50)
    ap.add_argument("--tolerance", type=float, default=0.02, help="allowed relative val-loss gap")
    ap.add_argument("--work", default=os.path.join(REPO, "build", "quality-compare"))
    ap.add_argument("--out", help="append a JSON line with every number")
    ap.add_argument("--reuse", action="store_true",
                    help="keep a variant's finished run from an earlier call (same --work) instead of training again")
    args = ap.parse_args()
    variants = []
    for spec in args.variant:
        name, sep, flags = spec.partition("=")
        if not sep or not name:
            ap.error(f"--variant {spec!r}: expected NAME=FLAGS")
        variants.append((name, shlex.split(flags)))
    return args, variants


def read_metrics(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def run_one(args, name, flags, tokenizer):
    out_dir = os.path.join(args.work, name)
    cmd = [args.sieve, "train", "--data", args.data, "--steps", str(args.steps), "--batch", str(args.batch),
           "--eval-interval", str(args.eval_interval), "--log-interval", "10", "--seed", "0", "--model-seed", "0",
           "--out", out_dir]
    if "--config" not in flags:
        cmd += ["--preset", args.preset]
    cmd += flags
    if tokenizer and "--tokenizer" not in flags:
        cmd += ["--tokenizer", tokenizer]
    metrics = os.path.join(out_dir, "metrics.jsonl")
    finished = os.path.exists(metrics) and any(
        m["event"] == "eval" and m["step"] == args.steps for m in read_metrics(metrics))
    if args.reuse and finished:
        print(f"reusing the finished run in {out_dir}", file=sys.stderr, flush=True)
    else:
        if os.path.exists(metrics):
            os.remove(metrics)
        print(f"$ {shlex.join(cmd)}", file=sys.stderr, flush=True)
        subprocess.run(cmd, check=True, stdout=sys.stderr)
    lines = read_metrics(metrics)
    evals = [(m["step"], m["val_loss"]) for m in lines if m["event"] == "eval"]
    train = [m for m in lines if m["event"] == "train"]
    return {
        "name": name,
        "precision": train[-1]["precision"] if train else "",
        "command": shlex.join(cmd),
        "val_curve": evals,
        "final_val_loss": evals[-1][1],
        "tokens_per_s": sum(m["tokens_per_s"] for m in train) / len(train),
        "skipped": train[-1]["skipped_total"] if train else 0,
        "final_loss_scale": train[-1]["loss_scale"] if train else 1.0,
    }, os.path.join(out_dir, "tokenizer.model")


def main():
    args, variants = parse_args()
    os.makedirs(args.work, exist_ok=True)
    runs, tokenizer = [], None
    for name, flags in variants:
        try:
            result, made = run_one(args, name, flags, tokenizer)
        except (subprocess.CalledProcessError, OSError, KeyError, IndexError, ValueError) as e:
            print(f"error: {name} run failed: {e}", file=sys.stderr)
            return 1
        tokenizer = tokenizer or made
        runs.append(result)
    ref = runs[0]["final_val_loss"]
    ok = True
    print(f"| variant | precision | final val loss | vs {runs[0]['name']} | mean tokens/s | skipped steps | final loss scale |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for r in runs:
        r["relative_to_reference"] = (r["final_val_loss"] - ref) / ref
        ok &= abs(r["relative_to_reference"]) <= args.tolerance
        print(f"| {r['name']} | {r['precision']} | {r['final_val_loss']:.4f} | {100 * r['relative_to_reference']:+.2f}% | "
              f"{r['tokens_per_s']:,.0f} | {r['skipped']} | {r['final_loss_scale']:g} |")
    print("\nvalidation loss by step:")
    print("| step | " + " | ".join(r["name"] for r in runs) + " |")
    print("|---:|" + "---:|" * len(runs))
    for i, (step, _) in enumerate(runs[0]["val_curve"]):
        print(f"| {step} | " + " | ".join(f"{r['val_curve'][i][1]:.4f}" if i < len(r["val_curve"]) else "-"
                                         for r in runs) + " |")
    if args.out:
        with open(args.out, "a") as f:
            f.write(json.dumps({"bench": "quality_compare", "preset": args.preset, "steps": args.steps,
                                "batch": args.batch, "data": args.data,
                                "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                                "runs": runs}) + "\n")
    if not ok:
        print(f"FAIL: a final validation loss is more than {100 * args.tolerance:g}% from the reference's",
              file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
