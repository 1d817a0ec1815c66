#!/usr/bin/env python3
"""Long-context retrieval quality of dense, sparse and local attention (docs/sparse-attention.md).

Length curriculum, one shared start for every variant:
  1. `sieve bench retrieval` trains a dense model on the task at a short context (--short-context,
     no longer than the window, where dense, sparse and local attention are the same computation);
  2. optionally (--mid-context, repeatable), that model trains on for --mid-steps at each middle
     length in turn — dense, or with the attention --mid-flags gives — so the long stage starts
     from a model that has seen longer rows (--mid-steps and --mid-flags given once apply to every
     middle stage; given once per --mid-context, in the same order);
  3. each variant (by default dense, sparse with the recipe, local) continues from those
     weights at the full --context with its own attention (`--init-from`), then is tested on
     held-out rows whose answers lie beyond the window; its trained model stays in --work
     (NAME-model) to be examined, e.g. evaluated with other knobs.

  bench/retrieval_compare.py --task mqar [--context 1024] [--short-context 128] [--short-steps 3000]
      [--short-lr 0.001] [--mid-context 1024 [--mid-context 2048] [--mid-steps 300 ...]
      [--mid-flags "--attention sparse ..." ...]] [--steps 300]
      [--variant NAME="--attention sparse --sparse-window 128 ..."] [--out FILE]

Prints a Markdown table (answer and row accuracy, per depth for passkey, tokens/s) and appends
one JSON line with every number to --out. Needs only the standard library.
"""

import argparse
import datetime
import json
import os
import shlex
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

def sparse_knobs(context):
    """A 128-token window, 32 bucket keys and context/16 global keys per query: at most 224 of
    1,024 keys, 288 of 2,048, 416 of 4,096 — 22% to 10%, against 14% from the defaults
    (256 + 256 + 64) at 4k. A cap fixed at 64 made passkey at 2,048 a lottery over which of the many
    keys the distillation target rates alike the cap keeps (docs/retrieval-experiments.md §5).
    dense_below 0 so the sparse kernel runs at these lengths."""
    return (f"--sparse-window 128 --sparse-global-cap {context // 16} --sparse-chunk 32 "
            "--sparse-dense-below 0")


def sparse_recipe(context, steps, first_sparse_stage):
    """The sparse stage of docs/sparse-attention.md: the scorers distilled toward peak dense
    attention through the whole stage (weight 32, each key weighted by how sharply distant queries
    read it), and in the first sparse stage of the curriculum dense attention blended in over the
    first third."""
    recipe = (f"--attention sparse {sparse_knobs(context)} --scorer-warmup-steps {steps} "
              "--scorer-distill-weight 32 --scorer-distill-emphasis 30")
    if first_sparse_stage:
        recipe += f" --dense-blend-steps {steps // 3}"
    return recipe


def default_variants(args):
    """dense; sparse with the recipe (blended unless a middle stage already ran sparse); local."""
    first_sparse_stage = not any("--attention sparse" in flags for flags in args.mid_flags)
    return [
        ("dense", "--attention dense"),
        ("sparse", sparse_recipe(args.context, args.steps, first_sparse_stage)),
        ("local", f"--attention local {sparse_knobs(args.context)}"),
    ]


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sieve", default=os.path.join(REPO, "build", "sieve"))
    ap.add_argument("--task", required=True, choices=["passkey", "mqar"])
    ap.add_argument("--context", type=int, default=1024)
    ap.add_argument("--short-context", type=int, default=128)
    ap.add_argument("--short-steps", type=int, default=3000)
    ap.add_argument("--short-batch", type=int, default=32)
    ap.add_argument("--mid-context", type=int, action="append", default=[],
                    help="a middle stage at this length; repeatable, run in the order given")
    ap.add_argument("--mid-steps", type=int, action="append",
                    help="steps of every middle stage, or of each in turn (default 300)")
    ap.add_argument("--mid-flags", action="append",
                    help="attention flags of every middle stage, or of each in turn (default --attention dense)")
    ap.add_argument("--steps", type=int, default=300, help="steps at the full context, per variant")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=3e-3, help="peak learning rate of the middle and long stages")
    ap.add_argument("--short-lr", type=float, help="peak learning rate of the short stage (default: --lr)")
    ap.add_argument("--eval-size", type=int, default=10)
    ap.add_argument("--precision", default="bf16")
    ap.add_argument("--seed", type=int, default=0, help="initialisation, data and test-set seed of every run")
    ap.add_argument("--variant", action="append", metavar="NAME=FLAGS",
                    help="a variant's `sieve bench retrieval` flags; repeatable "
                         "(default: dense, sparse with the recipe, local)")
    ap.add_argument("--work", default=os.path.join(REPO, "build", "retrieval-compare"))
    ap.add_argument("--reuse", action="store_true", help="keep finished runs of an earlier call (same --work)")
    ap.add_argument("--out", help="append a JSON line with every number")
    args = ap.parse_args()
    if len(set(args.mid_context)) != len(args.mid_context):
        ap.error(f"--mid-context {args.mid_context}: each middle length once (their files are named by it)")
    args.mid_steps = per_middle_stage(ap, "--mid-steps", args.mid_steps or [300], len(args.mid_context))
    args.mid_flags = per_middle_stage(ap, "--mid-flags", args.mid_flags or ["--attention dense"],
                                      len(args.mid_context))
    variants = default_variants(args)
    if args.variant:
        variants = []
        for spec in args.variant:
            name, sep, flags = spec.partition("=")
            if not sep or not name:
                ap.error(f"--variant {spec!r}: expected NAME=FLAGS")
            variants.append((name, flags))
    return args, variants


def per_middle_stage(ap, flag, values, stages):
    """One value per middle stage: a single value applies to all of them."""
    if len(values) == 1:
        return values * stages
    if len(values) != stages:
        ap.error(f"{flag} given {len(values)} times for {stages} --mid-context stages: give it once or once per stage")
    return values


def run(args, name, flags, lr=None):
    """Runs one `sieve bench retrieval` (at --lr unless `lr` is given), keeping its JSON result and
    log under --work."""
    os.makedirs(args.work, exist_ok=True)
    result_path = os.path.join(args.work, f"{name}.json")
    if args.reuse and os.path.exists(result_path):
        with open(result_path) as f:
            return json.load(f)
    peak_lr = args.lr if lr is None else lr
    cmd = [args.sieve, "bench", "retrieval", "--task", args.task, "--lr", str(peak_lr), "--precision",
           args.precision, "--eval-size", str(args.eval_size), "--seed", str(args.seed), "--json"] + flags
    print("$ " + " ".join(shlex.quote(c) for c in cmd), file=sys.stderr, flush=True)
    with open(os.path.join(args.work, f"{name}.log"), "w") as log:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=log, text=True)
    if proc.returncode != 0:
        sys.exit(f"{name}: sieve exited with {proc.returncode}; see {args.work}/{name}.log")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    with open(result_path, "w") as f:
        json.dump(result, f)
    return result


def main():
    args, variants = parse_args()
    start_dir = os.path.join(args.work, "short-model")
    short = run(args, "short", ["--context", str(args.short_context), "--steps", str(args.short_steps), "--batch",
                                str(args.short_batch), "--eval-interval", str(max(args.short_steps // 10, 1)),
                                "--out", start_dir], lr=args.short_lr)
    print(f"short context {args.short_context}: answer accuracy {short['answer_accuracy']:.3f} after "
          f"{args.short_steps} steps", file=sys.stderr)
    start = f"a {args.short_context}-token start of {args.short_steps} steps"
    if args.short_lr is not None:
        start += f" at peak learning rate {args.short_lr}"
    mids = []
    for mid_context, mid_steps, mid_attention in zip(args.mid_context, args.mid_steps, args.mid_flags):
        mid_dir = os.path.join(args.work, f"mid-{mid_context}-model")
        mid_flags = ["--context", str(mid_context), "--steps", str(mid_steps), "--batch", str(args.batch),
                     "--init-from", start_dir, "--out", mid_dir] + shlex.split(mid_attention)
        mid = run(args, f"mid-{mid_context}", mid_flags)
        print(f"middle context {mid_context}: answer accuracy {mid['answer_accuracy']:.3f} after "
              f"{mid_steps} steps", file=sys.stderr)
        mids.append(mid)
        start += f", then {mid_steps} steps at {mid_context} ({mid_attention})"
        start_dir = mid_dir
    results = []
    for name, flags in variants:
        r = run(args, name, ["--context", str(args.context), "--steps", str(args.steps), "--batch", str(args.batch),
                             "--init-from", start_dir, "--out", os.path.join(args.work, f"{name}-model")]
                + shlex.split(flags))
        results.append((name, r))

    print(f"\n{args.task}, context {args.context} (from {start}, then {args.steps} steps of {args.batch} rows):\n")
    print("| variant | answer accuracy | row accuracy | vs dense (points) | tokens/s |")
    print("|---|---:|---:|---:|---:|")
    dense = dict(results).get("dense")
    for name, r in results:
        gap = 100.0 * (r["answer_accuracy"] - dense["answer_accuracy"]) if dense else float("nan")
        print(f"| {name} | {r['answer_accuracy']:.3f} | {r['row_accuracy']:.3f} | {gap:+.1f} | "
              f"{r['tokens_per_s']:,.0f} |")
    if args.task == "passkey":
        depths = list(results[0][1]["row_accuracy_by_depth"].keys())
        print("\nrow accuracy by needle depth:\n")
        print("| depth | " + " | ".join(name for name, _ in results) + " |")
        print("|---:|" + "---:|" * len(results))
        for d in depths:
            print(f"| {d} | " + " | ".join(f"{r['row_accuracy_by_depth'][d]:.2f}" for _, r in results) + " |")
    if args.out:
        with open(args.out, "a") as f:
            f.write(json.dumps({"bench": "retrieval_compare", "task": args.task, "context": args.context,
                                "date": datetime.date.today().isoformat(), "short": short, "mid": mids,
                                "variants": dict(results)}) + "\n")


if __name__ == "__main__":
    main()
