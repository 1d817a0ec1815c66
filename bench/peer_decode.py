#!/usr/bin/python3
"""PyTorch peer for `sieve bench decode`: KV-cached greedy decoding latency.

Prefills a random prompt of --context tokens (batch 1) into preallocated
per-layer KV buffers, then generates --new-tokens tokens one at a time, each
step feeding the argmax of the previous logits. ms_per_token is the decode
time divided by the generated tokens (prefill excluded; it is reported as
prefill_ms). Prints ONE JSON line:

  {"impl": "pytorch", "preset": "lm-17m", "context": N, "ms_per_token": ..., "prefill_ms": ..., ...}
"""

import os

import blas_env

blas_env.apply(os.environ)
os.environ.setdefault("OMP_NUM_THREADS", "2")

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer_model as pm  # noqa: E402


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--preset", default="lm-17m", choices=sorted(pm.PRESETS))
    ap.add_argument("--context", type=int, required=True, help="prompt tokens prefilled first")
    ap.add_argument("--new-tokens", type=int, default=32, help="tokens generated and timed (default 32)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.context < 1 or args.new_tokens < 1 or args.threads < 1:
        ap.error("--context, --new-tokens and --threads must be >= 1")
    return args


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    config = pm.make_config(**pm.PRESETS[args.preset]["config"])
    model = pm.LlamaLM(config, pm.init_parameters(config)).eval()
    prompt = torch.randint(0, config["vocab_size"], (1, args.context), dtype=torch.int64)

    def generate():
        cache = pm.KVCache(config, batch=1, max_tokens=args.context + args.new_tokens,
                           dtype=torch.float32)
        start = time.perf_counter()
        logits = model(prompt, cache)                                   # [1, context, V]
        prefill = time.perf_counter() - start
        start = time.perf_counter()
        for _ in range(args.new_tokens):
            token = logits[:, -1:].argmax(dim=-1)                        # [1, 1]
            logits = model(token, cache)                                 # [1, 1, V]
        return prefill, time.perf_counter() - start

    with torch.inference_mode():
        generate()                      # warmup: allocator and BLAS threads settle
        prefill, decode = generate()

    result = {
        "impl": "pytorch",
        "preset": args.preset,
        "context": args.context,
        "new_tokens": args.new_tokens,
        "ms_per_token": round(1000 * decode / args.new_tokens, 3),
        "prefill_ms": round(1000 * prefill, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "threads": torch.get_num_threads(),
        "precision": "fp32",
        "torch": torch.__version__,
        "blas": pm.blas_kind(pm.loaded_blas()),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
