#!/usr/bin/python3
"""PyTorch peer for `sieve bench train`: training throughput of the same decoder LM.

Times full training steps (forward + backward + AdamW step + zero_grad) on random
tokens after a warmup and prints ONE JSON line, e.g.

  {"impl": "pytorch", "preset": "lm-17m", "tokens_per_s": ..., "step_ms": ..., "peak_rss_mb": ...,
   "threads": 2, "precision": "fp32", ...}

Run with Debian's torch: /usr/bin/python3 bench/peer_train_lm.py --preset lm-17m --steps 5
"""

import os

import blas_env

# Both must be set before torch loads its BLAS / OpenMP runtime (bench/blas_env.py).
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
    ap.add_argument("--steps", type=int, default=5, help="timed training steps (default 5)")
    ap.add_argument("--warmup", type=int, default=2, help="untimed steps first (default 2)")
    ap.add_argument("--threads", type=int, default=2, help="torch intra-op threads (default 2)")
    ap.add_argument("--autocast-bf16", action="store_true",
                    help="run forward/backward under CPU autocast to bfloat16 (fp32 master weights)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.steps < 1 or args.warmup < 0 or args.threads < 1:
        ap.error("--steps and --threads must be >= 1, --warmup >= 0")
    return args


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    preset = pm.PRESETS[args.preset]
    config = pm.make_config(**preset["config"])
    B, T, V = preset["batch"], preset["context"], config["vocab_size"]

    model = pm.LlamaLM(config, pm.init_parameters(config))
    n_params = sum(p.numel() for p in model.parameters())
    opt = pm.make_adamw(model, lr=preset["lr"], weight_decay=preset["weight_decay"])

    # Fresh random tokens per step, drawn up front so data generation is not timed.
    total = args.warmup + args.steps
    data = torch.randint(0, V, (total, B, T + 1), dtype=torch.int64)

    def train_step(batch):
        ids, targets = batch[:, :-1], batch[:, 1:]
        with torch.autocast(device_type="cpu", dtype=torch.bfloat16, enabled=args.autocast_bf16):
            loss = pm.lm_loss(model(ids), targets)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss.item()

    for s in range(args.warmup):
        train_step(data[s])
    step_times, losses = [], []
    for s in range(args.warmup, total):
        start = time.perf_counter()
        losses.append(train_step(data[s]))
        step_times.append(time.perf_counter() - start)

    elapsed = sum(step_times)
    blas = pm.loaded_blas()
    result = {
        "impl": "pytorch",
        "preset": args.preset,
        "tokens_per_s": round(B * T * args.steps / elapsed, 1),
        "step_ms": round(1000 * elapsed / args.steps, 2),
        "step_ms_min": round(1000 * min(step_times), 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "threads": torch.get_num_threads(),
        "precision": "bf16-autocast" if args.autocast_bf16 else "fp32",
        "steps": args.steps,
        "warmup": args.warmup,
        "batch": B,
        "context": T,
        "params": n_params,
        "last_loss": round(losses[-1], 4),
        "torch": torch.__version__,
        "blas": pm.blas_kind(blas),
    }
    if result["blas"] == "reference":
        print(f"warning: torch is using the netlib reference BLAS ({blas}); fp32 numbers are far "
              "below what PyTorch can do. Install libopenblas0-pthread or point LD_LIBRARY_PATH "
              "at an OpenBLAS libblas.so.3.", file=sys.stderr)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
