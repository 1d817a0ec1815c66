#!/usr/bin/python3
"""PyTorch peer for `sieve bench attention --attention dense`: causal attention fwd + bwd.

Plain softmax(q k^T / sqrt(D) + causal mask) v on q, k, v [1, H, T, D] fp32 with
requires_grad, the way an eager PyTorch user writes it (torch 1.13 has no fused
scaled_dot_product_attention). After one warmup it takes the minimum over
--repeats of the forward time and of the backward time (with a random upstream
gradient) and prints ONE JSON line:

  {"impl": "pytorch", "seq": T, "heads": H, "head_dim": D, "forward_ms": ..., "backward_ms": ..., ...}
"""

import os

import blas_env

blas_env.apply(os.environ)
os.environ.setdefault("OMP_NUM_THREADS", "2")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer_model as pm  # noqa: E402


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seq", type=int, required=True, help="tokens T")
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--head-dim", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3, help="timed repeats after one warmup (default 3)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if min(args.seq, args.heads, args.head_dim, args.repeats, args.threads) < 1:
        ap.error("--seq, --heads, --head-dim, --repeats and --threads must be >= 1")
    return args


def attention(q, k, v, mask):
    # q, k, v [1, H, T, D]; mask [T, T] true above the diagonal (future keys).
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])   # [1, H, T, T]
    scores = scores.masked_fill(mask, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v                        # [1, H, T, D]


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    T, H, D = args.seq, args.heads, args.head_dim
    q, k, v = (torch.randn(1, H, T, D, requires_grad=True) for _ in range(3))
    grad_out = torch.randn(1, H, T, D)
    # The mask is a constant of the sequence length, built once outside the timing.
    mask = torch.ones(T, T, dtype=torch.bool).triu(diagonal=1)

    fwd, bwd = [], []
    for rep in range(args.repeats + 1):
        for t in (q, k, v):
            t.grad = None
        start = time.perf_counter()
        out = attention(q, k, v, mask)
        mid = time.perf_counter()
        out.backward(grad_out)
        end = time.perf_counter()
        del out
        if rep > 0:   # rep 0 is the warmup
            fwd.append(mid - start)
            bwd.append(end - mid)

    result = {
        "impl": "pytorch",
        "seq": T,
        "heads": H,
        "head_dim": D,
        "forward_ms": round(1000 * min(fwd), 3),
        "backward_ms": round(1000 * min(bwd), 3),
        "repeats": args.repeats,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "threads": torch.get_num_threads(),
        "precision": "fp32",
        "torch": torch.__version__,
        "blas": pm.blas_kind(pm.loaded_blas()),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
