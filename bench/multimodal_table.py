#!/usr/bin/env python3
"""The trifashion results and ablations of docs/multimodal.md: trains every run (or reuses the
finished ones in --out) and prints the tables from each run's trifashion.json.

  python3 bench/multimodal_table.py --data D --out runs/multimodal     # D: sieve data build ... --size full

Runs (each `sieve train --task trifashion`; ablations start from the main run's stage-2 weights
with --init-from, so only the fusion stage differs):
  main            stages 1,2,3 (2500, 1000, 1000 steps), questions as image+text+audio
  cmaf/concat/fixed  stage 3 only (800 steps), image+text questions, each fusion
  cmaf-corrupt-text  cmaf with every question's text replaced by another example's
  image-only/text-only  the question-answering baselines (one input each)
  staged/single   few paired examples (--paired-scenes 1000): stages 1,2,3 (400, 200, 400)
                  against stage 3 alone (1000 steps) from scratch
"""
import argparse
import json
import os
import subprocess
import sys

SIEVE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "sieve")


def runs(out):
    stage2 = os.path.join(out, "main", "stage-2-alignment", "model.safetensors")
    fusion = ["--stages", "3", "--steps-per-stage", "800", "--init-from", stage2]
    few = ["--paired-scenes", "1000", "--question-inputs", "image,text"]
    return [
        ("main", ["--stages", "1,2,3", "--steps-per-stage", "2500,1000,1000", "--eval-interval", "500"]),
        ("cmaf", fusion + ["--fusion", "cmaf", "--question-inputs", "image,text"]),
        ("concat", fusion + ["--fusion", "concat", "--question-inputs", "image,text"]),
        ("fixed", fusion + ["--fusion", "fixed", "--question-inputs", "image,text"]),
        ("cmaf-corrupt-text", fusion + ["--fusion", "cmaf", "--question-inputs", "image,text", "--corrupt", "text"]),
        ("image-only", fusion + ["--question-inputs", "image"]),
        ("text-only", fusion + ["--question-inputs", "text"]),
        ("staged", few + ["--stages", "1,2,3", "--steps-per-stage", "400,200,400"]),
        ("single", few + ["--stages", "3", "--steps-per-stage", "1000"]),
    ]


def train(data, out, name, flags):
    record = os.path.join(out, name, "trifashion.json")
    if os.path.exists(record):
        return
    command = [SIEVE, "train", "--task", "trifashion", "--data", data, "--out", os.path.join(out, name),
               "--log-interval", "50"] + flags
    if os.path.isdir(os.path.join(out, name)):
        command.append("--resume")
    print(" ".join(command), flush=True)
    subprocess.run(command, check=True)


def scores(out, name):
    path = os.path.join(out, name, "trifashion.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)["scores"]


def percent(value):
    return "—" if value is None else f"{100.0 * value:.1f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="a trifashion data set (--size full for the docs' tables)")
    parser.add_argument("--out", required=True, help="where the runs go (finished ones are reused)")
    parser.add_argument("--table-only", action="store_true", help="print the tables of the runs already finished")
    args = parser.parse_args()
    if not args.table_only:
        for name, flags in runs(args.out):
            train(args.data, args.out, name, flags)
    print("| run | fashion acc | R@1 | R@5 | match F1 | spoken word (held-out voices) | VQA | what | where | yes/no | count | α (last layer) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, _ in runs(args.out):
        s = scores(args.out, name)
        if s is None:
            continue
        by = s["vqa_by_type"]
        alpha = s["alphas"][-1] if s["alphas"] else {}
        alpha_text = ", ".join(f"{m} {v:.3f}" for m, v in alpha.items() if v > 0) or "—"
        print(f"| {name} ({s['vqa_inputs']}) | {percent(s['fashion_accuracy'])} | {percent(s['retrieval_r1'])} | "
              f"{percent(s['retrieval_r5'])} | {percent(s['matching_f1'])} | {percent(s['spoken_word_accuracy'])} | "
              f"{percent(s['vqa_accuracy'])} | {percent(by['what'])} | {percent(by['where'])} | {percent(by['yesno'])} | "
              f"{percent(by['count'])} | {alpha_text} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
