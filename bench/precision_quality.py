#!/usr/bin/env python3
"""Training quality per precision: trains the same model on the same data in fp32, bf16 and
fp16 (same seeds, same batches) with `sieve train`, then compares the validation-loss curves
and the final validation loss against fp32.

  bench/precision_quality.py [--preset lm-17m] [--steps 300] [--batch 4] [--data gcide]
                             [--precision fp32 bf16 fp16] [--work DIR] [--out FILE]

Prints a Markdown table (final validation loss, difference to fp32, tokens/s, skipped steps)
and the curves; with --out appends one JSON line with everything. Exits 1 if a run fails or a
precision's final validation loss is not within --tolerance (default 2%) of fp32's.
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
    ap.add_argument("--preset", default="lm-17m")
    ap.add_argument("--data", default="gcide")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--eval-interval", type=int, default=50)
    ap.add_argument("--precision", nargs="+", default=["fp32", "bf16", "fp16"])
    ap.add_argument("--tolerance", type=float, default=0.02, help="allowed relative val-loss gap")
    ap.add_argument("--work", default=os.path.join(REPO, "build", "precision-quality"))
    ap.add_argument("--out", help="append a JSON line with every number")
    args = ap.parse_args()
    if args.precision[0] != "fp32":
        ap.error("the first --precision must be fp32 (the reference)")
    return args


def read_metrics(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def run_one(args, precision, tokenizer):
    out_dir = os.path.join(args.work, precision)
    cmd = [args.sieve, "train", "--data", args.data, "--preset", args.preset, "--steps", str(args.steps),
           "--batch", str(args.batch), "--precision", precision, "--eval-interval", str(args.eval_interval),
           "--log-interval", "10", "--seed", "0", "--model-seed", "0", "--out", out_dir]
    if tokenizer:
        cmd += ["--tokenizer", tokenizer]
    metrics = os.path.join(out_dir, "metrics.jsonl")
    if os.path.exists(metrics):
        os.remove(metrics)
    print(f"$ {shlex.join(cmd)}", file=sys.stderr, flush=True)
    subprocess.run(cmd, check=True, stdout=sys.stderr)
    lines = read_metrics(metrics)
    evals = [(m["step"], m["val_loss"]) for m in lines if m["event"] == "eval"]
    train = [m for m in lines if m["event"] == "train"]
    return {
        "precision": precision,
        "policy": train[-1]["precision"] if train else precision,
        "command": shlex.join(cmd),
        "val_curve": evals,
        "final_val_loss": evals[-1][1],
        "tokens_per_s": sum(m["tokens_per_s"] for m in train) / len(train),
        "skipped": train[-1]["skipped_total"] if train else 0,
        "final_loss_scale": train[-1]["loss_scale"] if train else 1.0,
    }, os.path.join(out_dir, "tokenizer.model")


def main():
    args = parse_args()
    os.makedirs(args.work, exist_ok=True)
    runs, tokenizer = [], None
    for precision in args.precision:
        try:
            result, made = run_one(args, precision, tokenizer)
        except (subprocess.CalledProcessError, OSError, KeyError, IndexError, ValueError) as e:
            print(f"error: {precision} run failed: {e}", file=sys.stderr)
            return 1
        tokenizer = tokenizer or made
        runs.append(result)
    ref = runs[0]["final_val_loss"]
    ok = True
    print(f"| precision | final val loss | vs fp32 | mean tokens/s | skipped steps | final loss scale |")
    print(f"|---|---:|---:|---:|---:|---:|")
    for r in runs:
        r["relative_to_fp32"] = (r["final_val_loss"] - ref) / ref
        ok &= abs(r["relative_to_fp32"]) <= args.tolerance
        print(f"| {r['policy']} | {r['final_val_loss']:.4f} | {100 * r['relative_to_fp32']:+.2f}% | "
              f"{r['tokens_per_s']:,.0f} | {r['skipped']} | {r['final_loss_scale']:g} |")
    print("\nvalidation loss by step:")
    steps = [s for s, _ in runs[0]["val_curve"]]
    print("| step | " + " | ".join(r["policy"] for r in runs) + " |")
    print("|---:|" + "---:|" * len(runs))
    for i, step in enumerate(steps):
        print(f"| {step} | " + " | ".join(f"{r['val_curve'][i][1]:.4f}" if i < len(r["val_curve"]) else "-"
                                         for r in runs) + " |")
    if args.out:
        with open(args.out, "a") as f:
            f.write(json.dumps({"bench": "precision_quality", "preset": args.preset, "steps": args.steps,
                                "batch": args.batch, "data": args.data,
                                "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                                "runs": runs}) + "\n")
    if not ok:
        print(f"FAIL: a final validation loss is more than {100 * args.tolerance:.0f}% from fp32's", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
