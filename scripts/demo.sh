#!/usr/bin/env bash
# `make demo`: train a tokenizer and a small LLaMA-style model on GCIDE (Debian's dict-gcide,
# 40 MB of English dictionary text) for a few minutes on the CPU, print validation perplexity
# before and after, then generate a few samples. A second run reuses the tokenizer and token
# shards saved in runs/demo and trains the model again from scratch.
set -euo pipefail
cd "$(dirname "$0")/.."
run=${SIEVE_DEMO_DIR:-runs/demo}
minutes=${SIEVE_DEMO_MINUTES:-5}

echo "== Sieve demo: the demo-preset model on GCIDE, ${minutes} minutes of training"
build/sieve train --data gcide --out "$run" --preset demo \
  --max-bytes 12000000 --val-fraction 0.005 \
  --steps 600 --batch 8 --context 256 --lr 1.5e-3 --min-lr 1e-4 --warmup 30 \
  --eval-windows 48 --log-interval 20 --checkpoint-interval 200 --max-minutes "$minutes"

echo
echo "== samples"
for prompt in "Apple, n." "Run, v. i." "The river"; do
  echo "--- prompt: $prompt"
  build/sieve generate --model "$run" --prompt "$prompt" --max-new-tokens 60 --temperature 0.8 --top-k 40 --seed 1
done

echo
echo "== watch, compare and tune runs in the browser: build/sieve dashboard --runs $(dirname "$run")"
