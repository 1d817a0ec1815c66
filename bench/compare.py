#!/usr/bin/env python3
"""Runs a Sieve benchmark and its PyTorch peer in the same run and prints both with the ratio.

  bench/compare.py train     [--preset lm-17m] [--steps 5] [--precision fp32 bf16 fp16 auto]
  bench/compare.py attention [--seq 1024 2048 4096] [--heads 8] [--head-dim 64] [--attention dense]
  bench/compare.py decode    [--preset lm-17m] [--context 128 256]

Sieve side: `build/sieve bench <what> ... --json`, which prints ONE JSON line
(train: tokens_per_s, step_ms, peak_rss_mb; attention: forward_ms, backward_ms;
decode: ms_per_token). Peer side: bench/peer_<what>.py under Debian's torch
(/usr/bin/python3). Both get OMP_NUM_THREADS=2; on AVX-512 CPUs the peer also gets
OPENBLAS_CORETYPE=SKYLAKEX (bench/blas_env.py). Ratios are oriented so that > 1 means Sieve is
better: sieve/pytorch for throughput, pytorch/sieve for times and memory.
With --out FILE one JSON line with every number and both commands is appended.
For train, each Sieve precision runs against PyTorch fp32, and bf16 also against
PyTorch under torch.autocast("cpu", bfloat16), the peer's own mixed precision.

This script needs only the standard library, so any python3 can run it.
"""

import argparse
import datetime
import json
import os
import platform
import shlex
import subprocess
import sys

import blas_env

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH_DIR)

# metric -> True when higher is better. The first metric of each bench is the primary
# one: it picks the best of several rounds.
METRICS = {
    "train": {"tokens_per_s": True, "step_ms": False, "peak_rss_mb": False, "peak_tensor_mb": False},
    "attention": {"forward_ms": False, "backward_ms": False, "total_ms": False},
    "decode": {"ms_per_token": False, "prefill_ms": False, "peak_rss_mb": False},
}


class BenchError(Exception):
    pass


def run_json(cmd, env, timeout):
    """Runs cmd, returns the last stdout line that is a JSON object."""
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError as e:
        raise BenchError(f"cannot run {cmd[0]}: {e}")
    except subprocess.TimeoutExpired:
        raise BenchError(f"timed out after {timeout}s: {shlex.join(cmd)}")
    if proc.stderr.strip():
        sys.stderr.write(proc.stderr if proc.stderr.endswith("\n") else proc.stderr + "\n")
    if proc.returncode != 0:
        raise BenchError(f"exit status {proc.returncode} from: {shlex.join(cmd)}")
    for line in reversed(proc.stdout.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                break
    raise BenchError(f"no JSON line in the output of: {shlex.join(cmd)}\n"
                     f"stdout was:\n{proc.stdout[-2000:]}")


def with_derived(bench, result):
    if bench == "attention" and "forward_ms" in result and "backward_ms" in result:
        result = dict(result, total_ms=result["forward_ms"] + result["backward_ms"])
    return result


def require(bench, impl, result, cmd):
    primary = next(iter(METRICS[bench]))
    if not isinstance(result.get(primary), (int, float)):
        raise BenchError(f"{impl} output lacks a numeric '{primary}': {json.dumps(result)}\n"
                         f"command: {shlex.join(cmd)}")


def best_of(bench, results):
    primary, higher = next(iter(METRICS[bench].items()))
    return (max if higher else min)(results, key=lambda r: r[primary])


def ratios(bench, sieve, peer):
    out = {}
    for metric, higher in METRICS[bench].items():
        s, p = sieve.get(metric), peer.get(metric)
        if isinstance(s, (int, float)) and isinstance(p, (int, float)) and s > 0 and p > 0:
            out[metric] = round(s / p if higher else p / s, 3)
    return out


def fmt(x):
    if isinstance(x, float):
        return f"{x:,.1f}" if abs(x) >= 100 else f"{x:.3g}"
    return "-" if x is None else str(x)


def print_table(title, bench, sieve, peer, ratio):
    rows = [("metric", "sieve", "pytorch", "ratio (>1: sieve better)")]
    for metric in METRICS[bench]:
        if metric in sieve or metric in peer:
            r = ratio.get(metric)
            rows.append((metric, fmt(sieve.get(metric)), fmt(peer.get(metric)),
                         f"{r:.2f}x" if r is not None else "-"))
    for key in ("precision", "threads", "blas"):
        if key in sieve or key in peer:
            rows.append((key, fmt(sieve.get(key)), fmt(peer.get(key)), ""))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    print(title)
    for i, r in enumerate(rows):
        print("  " + "  ".join(c.ljust(w) if j == 0 else c.rjust(w)
                               for j, (c, w) in enumerate(zip(r, widths))).rstrip())
        if i == 0:
            print("  " + "  ".join("-" * w for w in widths))
    sp, pp = sieve.get("precision"), peer.get("precision")
    if sp and pp and sp != pp and not (sp.startswith("bf16") and pp.startswith("bf16")):
        print(f"  note: precisions differ (sieve {sp}, pytorch {pp})")
    if peer.get("blas") == "reference":
        print("  warning: the peer ran on the netlib reference BLAS; its fp32 numbers are not a fair "
              "peer. Install libopenblas0-pthread or pass --peer-blas-dir.")


def envs(args):
    base = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    peer = blas_env.apply(dict(base))
    if args.peer_blas_dir:
        peer["LD_LIBRARY_PATH"] = os.pathsep.join(
            [os.path.abspath(args.peer_blas_dir)] + [p for p in [os.environ.get("LD_LIBRARY_PATH")] if p])
    return base, peer


def cases(args):
    """Yields (label, sieve command, peer command) for each measurement."""
    sieve, py = args.sieve, [args.python]
    threads = ["--threads", str(args.threads)]
    if args.bench == "train":
        p = py + [os.path.join(BENCH_DIR, "peer_train_lm.py"), "--preset", args.preset,
                  "--steps", str(args.steps), "--warmup", str(args.warmup)] + threads
        for precision in args.precision:
            s = [sieve, "bench", "train", "--preset", args.preset, "--steps", str(args.steps),
                 "--precision", precision, "--json"] + args.sieve_arg
            yield f"train {args.preset}: sieve {precision} vs pytorch fp32", s, p
            if precision == "bf16" and not args.no_autocast_peer:
                yield (f"train {args.preset}: sieve bf16 vs pytorch autocast bf16", s,
                       p + ["--autocast-bf16"])
    elif args.bench == "attention":
        for seq in args.seq:
            shape = ["--seq", str(seq), "--heads", str(args.heads), "--head-dim", str(args.head_dim)]
            s = [sieve, "bench", "attention", "--attention", args.attention] + shape + ["--json"]
            p = py + [os.path.join(BENCH_DIR, "peer_attention.py")] + shape + [
                "--repeats", str(args.repeats)] + threads
            yield (f"attention seq {seq} (sieve {args.attention} vs pytorch dense)",
                   s + args.sieve_arg, p)
    else:
        for ctx in args.context:
            s = [sieve, "bench", "decode", "--preset", args.preset, "--context", str(ctx), "--json"]
            p = py + [os.path.join(BENCH_DIR, "peer_decode.py"), "--preset", args.preset,
                      "--context", str(ctx), "--new-tokens", str(args.new_tokens)] + threads
            yield f"decode {args.preset} context {ctx}", s + args.sieve_arg, p


def parse_args():
    ap = argparse.ArgumentParser(
        description="Run a Sieve benchmark and its PyTorch peer side by side.",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--sieve", default=os.path.join(REPO, "build", "sieve"),
                        help="the Sieve binary (default: build/sieve in the repository)")
    common.add_argument("--sieve-arg", action="append", default=[], metavar="ARG",
                        help="extra argument for the sieve command (repeatable)")
    common.add_argument("--python", default="/usr/bin/python3",
                        help="interpreter with torch for the peer (default /usr/bin/python3)")
    common.add_argument("--peer-blas-dir", metavar="DIR",
                        help="directory with an OpenBLAS libblas.so.3, prepended to the peer's "
                             "LD_LIBRARY_PATH (when the system BLAS is the reference one)")
    common.add_argument("--threads", type=int, default=2, help="threads for both (default 2)")
    common.add_argument("--rounds", type=int, default=1,
                        help="alternate sieve and peer this many times, keep each one's best")
    common.add_argument("--timeout", type=int, default=3600, help="seconds per command")
    common.add_argument("--out", metavar="FILE", help="append a JSON line with all numbers")
    sub = ap.add_subparsers(dest="bench", required=True)

    t = sub.add_parser("train", parents=[common], help="training throughput")
    t.add_argument("--preset", default="lm-17m")
    t.add_argument("--steps", type=int, default=5)
    t.add_argument("--warmup", type=int, default=2, help="peer warmup steps")
    t.add_argument("--no-autocast-peer", action="store_true",
                   help="skip the PyTorch autocast bf16 peer (without AVX512-BF16, PyTorch 1.13's "
                        "bf16 autocast takes over a minute per lm-17m step)")
    t.add_argument("--precision", nargs="+", default=["fp32"],
                   choices=["fp32", "bf16", "fp16", "tf32", "auto"],
                   help="sieve precisions to run (bf16 is also compared with PyTorch autocast bf16)")

    a = sub.add_parser("attention", parents=[common], help="attention forward + backward")
    a.add_argument("--seq", type=int, nargs="+", default=[4096])
    a.add_argument("--heads", type=int, default=8)
    a.add_argument("--head-dim", type=int, default=64)
    a.add_argument("--repeats", type=int, default=3, help="peer repeats (min is kept)")
    a.add_argument("--attention", default="dense", help="sieve attention kind (peer is dense)")

    d = sub.add_parser("decode", parents=[common], help="KV-cached decode latency")
    d.add_argument("--preset", default="lm-17m")
    d.add_argument("--context", type=int, nargs="+", default=[256])
    d.add_argument("--new-tokens", type=int, default=32, help="peer tokens generated")
    args = ap.parse_args()
    if args.rounds < 1 or args.threads < 1:
        ap.error("--rounds and --threads must be >= 1")
    return args


def main():
    args = parse_args()
    if not (os.path.isfile(args.sieve) and os.access(args.sieve, os.X_OK)):
        print(f"error: Sieve binary not found at {args.sieve}. Build it first "
              f"(cmake -S {REPO} -B {REPO}/build -G Ninja && ninja -C {REPO}/build sieve) "
              "or pass --sieve PATH.", file=sys.stderr)
        return 2
    sieve_env, peer_env = envs(args)
    failed = False
    for label, s_cmd, p_cmd in cases(args):
        try:
            s_runs, p_runs = [], []
            for _ in range(args.rounds):
                s_runs.append(with_derived(args.bench, run_json(s_cmd, sieve_env, args.timeout)))
                require(args.bench, "sieve", s_runs[-1], s_cmd)
                p_runs.append(with_derived(args.bench, run_json(p_cmd, peer_env, args.timeout)))
                require(args.bench, "pytorch", p_runs[-1], p_cmd)
        except BenchError as e:
            print(f"error: {label}: {e}", file=sys.stderr)
            failed = True
            continue
        sieve, peer = best_of(args.bench, s_runs), best_of(args.bench, p_runs)
        ratio = ratios(args.bench, sieve, peer)
        print_table(label, args.bench, sieve, peer, ratio)
        print(f"  sieve:   {shlex.join(s_cmd)}\n  pytorch: {shlex.join(p_cmd)}\n")
        if args.out:
            record = {
                "bench": args.bench, "label": label,
                "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                "host": platform.node(), "rounds": args.rounds,
                "sieve_cmd": shlex.join(s_cmd), "pytorch_cmd": shlex.join(p_cmd),
                "sieve": sieve, "pytorch": peer, "ratio": ratio,
            }
            with open(args.out, "a") as f:
                f.write(json.dumps(record) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
