#!/usr/bin/env bash
# `make bench`: every benchmark side by side with its PyTorch peer in the same run (ratios
# > 1 mean Sieve is better). Appends JSON lines to bench/results.jsonl; docs/benchmarks.md
# records the numbers and these exact commands.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${SIEVE_BENCH_OUT:-bench/results.jsonl}
export OMP_NUM_THREADS=2 SIEVE_NUM_THREADS=2

echo "== training throughput, lm-17m, per precision (sieve vs PyTorch fp32 and PyTorch autocast bf16)"
/usr/bin/python3 bench/compare.py train --preset lm-17m --steps 5 --precision fp32 bf16 fp16 auto --out "$out"

echo "== LoRA (rank 8, attention) and activation checkpointing against full training, lm-17m"
for extra in "" "--lora-rank 8 --lora-targets attn" "--activation-checkpointing" \
             "--precision bf16 --activation-checkpointing"; do
  # shellcheck disable=SC2086 # the flags are meant to split
  build/sieve bench train --preset lm-17m --steps 5 $extra --json | tee -a "$out"
done

echo "== training quality per precision: lm-17m on GCIDE, 300 steps (final val loss within 2% of fp32)"
/usr/bin/python3 bench/quality_compare.py --preset lm-17m --steps 300 --batch 8 --out "$out" \
  --variant fp32="--precision fp32" --variant bf16="--precision bf16" --variant fp16="--precision fp16"

echo "== fused causal attention vs PyTorch softmax(QK^T/sqrt(d))V, batch 1, 8 heads, head dim 64"
/usr/bin/python3 bench/compare.py attention --attention dense --seq 1024 2048 4096 --heads 8 --head-dim 64 --out "$out"

echo "== KV-cached decode, lm-17m, batch 1"
/usr/bin/python3 bench/compare.py decode --preset lm-17m --context 128 256 --out "$out"

echo "== quantized inference: f32 / int8 / int4 prefill and decode, lm-17m and lm-100m, vs PyTorch quantize_dynamic"
/usr/bin/python3 bench/quantized_compare.py --preset lm-17m lm-100m --out "$out"

echo "== serving: sieve serve at 32 clients, continuous batching vs --max-batch 1 (f32, int8), hot reload under load, PyTorch peer"
/usr/bin/python3 bench/serve_compare.py --out "$out"

echo "== matmul GFLOP/s at the lm-17m shapes against the 2048^3 ceiling (oneDNN)"
build/sieve bench matmul --threads 2

echo "== sparse attention vs the fused dense kernel, 1k-64k tokens (same run), scaling exponent"
/usr/bin/python3 bench/sparse_scaling.py --seq 1024 4096 16384 32768 65536 --out "$out"

echo "== sparse KV-cached decode, lm-17m, context 4k and 64k (target: 64k <= 1.5x 4k)"
for context in 4096 65536; do
  build/sieve bench decode --attention sparse --context "$context" --tokens 64 --json | tee -a "$out"
done

echo "== sparse vs dense language modelling at context 1024 (lm-17m, GCIDE, 300 steps), then the tau sweep"
tokenizer=build/quality-compare/fp32/tokenizer.model
/usr/bin/python3 bench/quality_compare.py --steps 300 --batch 2 --tolerance 0.03 --work build/sparse-quality \
  --out "$out" \
  --variant dense="--config bench/configs/lm-17m-ctx1024-dense.json --context 1024 --precision bf16 --tokenizer $tokenizer" \
  --variant sparse="--config bench/configs/lm-17m-ctx1024-sparse.json --context 1024 --precision bf16 --tokenizer $tokenizer"
build/sieve bench sparse-sweep --model build/sparse-quality/sparse --shard build/sparse-quality/sparse/data/val.bin \
  --context 1024 --windows 8 --thresholds 0 0.1 0.2 0.3 0.5 0.7 --json | tee -a "$out"

echo "== long-context retrieval: dense vs sparse vs local attention at 1,024 tokens (passkey, mqar)"
/usr/bin/python3 bench/retrieval_compare.py --task passkey --short-steps 3000 --steps 300 --eval-size 20 --out "$out"
/usr/bin/python3 bench/retrieval_compare.py --task mqar --short-steps 3000 --steps 300 --eval-size 10 --out "$out"

echo "== the compression table: an lm-17m teacher (an hour on GCIDE + FOLDOC), a distilled student with 10x fewer"
echo "   non-embedding parameters, its from-scratch control, the student after QAT int8/int4, a pruned teacher (~2 h)"
/usr/bin/python3 bench/compression_table.py --out "$out"

# The conversions are compared on a trained lm-17m: the compression table's teacher (just built).
trained=runs/compression/teacher

echo "== Sieve vs llama.cpp on the same weights (GGUF exports): f32/F32, int8/Q8_0, int4/Q4_0, lm-17m, context 256"
if [ -x build/llama_cpp_bench ] && [ -f "$trained/model.safetensors" ]; then
  /usr/bin/python3 bench/gguf_compare.py --model "$trained" --context 256 --tokens 64 --out "$out"
else
  echo "skipped: needs build/llama_cpp_bench (scripts/install-verifiers.sh) and a trained $trained" >&2
fi

echo "== Sieve vs ONNX Runtime on Sieve's ONNX exports: f32, int8 (QDQ weights), int8 static (QDQ both), lm-17m"
if [ -f .cache/verifiers/npm/node_modules/onnxruntime-node/package.json ] && [ -f "$trained/model.safetensors" ]; then
  /usr/bin/python3 bench/onnx_compare.py --model "$trained" --context 192 --tokens 64 --calibration gcide --out "$out"
else
  echo "skipped: needs npm onnxruntime-node (scripts/install-verifiers.sh) and a trained $trained" >&2
fi
