#!/usr/bin/env python3
"""Serving benchmark (issue 18): `sieve serve` under `sieve bench serve` load, against its own
unbatched baseline and a PyTorch peer, in one run.

  1. the model: --model-dir, else a trained lm-17m from earlier in `make bench`
     (build/quality-compare/fp32), else one trained here (`sieve train --preset P --data D`);
     an int8 copy is made with `sieve quantize --scheme int8`;
  2. for f32 and int8: `sieve serve` with continuous batching (its default --max-batch), then
     with --max-batch 1, each loaded by `sieve bench serve --clients C --requests N
     --max-tokens M --json` (after a short unmeasured warm-up): QPS, tokens/s, p50/p99 latency;
  3. hot reload: f32 under load for --reload-duration-s with a reload every --reload-every-s
     (the same directory again): failed requests and p99 before / during / after the reloads;
  4. bench/peer_serve.py (PyTorch, one request at a time behind http.server) on the f32
     directory under the same load: tokens/s against Sieve's;
  5. f32 with continuous batching once more over gRPC (GenerateStream): the same load, with
     time to first token.

Prints Markdown tables for docs/benchmarks.md and the issue's targets (batched QPS >= 4x
--max-batch 1; p99 <= 2.5x p50; no failed request during reloads); --out appends one JSON line.
Exits 1 when a run fails or requests fail; a missed speed target is reported, not an error.
Needs only the standard library; the peer runs under Debian's /usr/bin/python3.

Smoke run (seconds): --preset tiny --train-steps 5 --clients 4 --requests 8 --max-tokens 8
  --reload-duration-s 3 --reload-every-s 1
"""

import argparse
import datetime
import json
import os
import platform
import shlex
import socket
import subprocess
import sys
import time
import urllib.request

import blas_env
from compare import REPO, BenchError, run_json

MODEL_NAME = "lm"
TARGET_QPS_RATIO = 4.0
TARGET_P99_OVER_P50 = 2.5


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def log(message):
    print(message, file=sys.stderr, flush=True)


class Server:
    """A server process started on free loopback ports, ready once GET /health answers 200."""

    def __init__(self, name, cmd_for_ports, env, log_path, timeout):
        self.name, self.http, self.grpc = name, free_port(), free_port()
        self.cmd = cmd_for_ports(self.http, self.grpc)
        self.log_path = log_path
        log(f"$ {shlex.join(self.cmd)}")
        self.log_file = open(log_path, "w")
        self.proc = subprocess.Popen(self.cmd, env=env, stdout=self.log_file, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while not self.healthy():
            if self.proc.poll() is not None:
                self.stop()
                raise BenchError(f"{name} exited with status {self.proc.returncode} before it was ready:\n"
                                 f"{self.log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise BenchError(f"{name} was not ready after {timeout}s:\n{self.log_tail()}")
            time.sleep(0.2)

    def healthy(self):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http}/health", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def log_tail(self):
        with open(self.log_path) as f:
            return "".join(f.readlines()[-20:])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log_file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def sieve_serve(args, directory, max_batch=None, token_file=None):
    def cmd(http, grpc):
        c = [args.sieve, "serve", "--model", f"{MODEL_NAME}={directory}",
             "--http", f"127.0.0.1:{http}", "--grpc", f"127.0.0.1:{grpc}"]
        if max_batch is not None:
            c += ["--max-batch", str(max_batch)]
        if token_file:
            c += ["--admin-token-file", token_file]
        return c
    return cmd


def peer_serve(args, directory):
    return lambda http, grpc: [args.python, os.path.join(REPO, "bench", "peer_serve.py"), "--model-dir", directory,
                               "--name", MODEL_NAME, "--port", str(http), "--threads", str(args.threads)]


def bench_cmd(args, server, limits, protocol="http"):
    address = f"127.0.0.1:{server.http if protocol == 'http' else server.grpc}"
    return [args.sieve, "bench", "serve", f"--{protocol}", address, "--model", MODEL_NAME,
            "--clients", str(args.clients), "--max-tokens", str(args.max_tokens), "--json", *limits]


def warm_up(args, server, env):
    """A few unmeasured requests: first-touch allocation and thread start-up stay out of the numbers."""
    run_json([args.sieve, "bench", "serve", "--http", f"127.0.0.1:{server.http}", "--model", MODEL_NAME,
              "--clients", "2", "--requests", "4", "--max-tokens", str(args.max_tokens), "--json"], env, args.timeout)


def measure(args, name, cmd_for_ports, env, server_env, limits=None, protocol="http"):
    """`sieve bench serve` against a fresh server; limits: the flags that bound the run (default
    --requests N); protocol: "http" (non-streaming) or "grpc" (GenerateStream, so TTFT is measured)."""
    with Server(name, cmd_for_ports, server_env, os.path.join(args.work, f"{name}.log"), args.timeout) as server:
        warm_up(args, server, env)
        cmd = bench_cmd(args, server, limits or ["--requests", str(args.requests)], protocol)
        if protocol == "grpc":
            cmd.append("--stream")
        log(f"$ {shlex.join(cmd)}")
        result = run_json(cmd, env, args.timeout)
    result["server"] = shlex.join(server.cmd)
    result["command"] = shlex.join(cmd)
    return result


def model_dir(args, env):
    """The f32 directory to serve: given, reused from quality_compare, or trained here."""
    if args.model_dir:
        return args.model_dir
    reused = os.path.join(REPO, "build", "quality-compare", "fp32")
    if args.preset == "lm-17m" and os.path.exists(os.path.join(reused, "model.safetensors")):
        log(f"serving the lm-17m trained by quality_compare: {reused}")
        return reused
    out = os.path.join(args.work, f"{args.preset}-f32")
    if not os.path.exists(os.path.join(out, "model.safetensors")):
        cmd = [args.sieve, "train", "--preset", args.preset, "--data", args.data, "--steps", str(args.train_steps),
               "--seed", "0", "--model-seed", "0", "--out", out]
        log(f"$ {shlex.join(cmd)}")
        subprocess.run(cmd, check=True, env=env, stdout=sys.stderr)
    return out


def quantized_copy(args, f32_dir, env):
    out = os.path.join(args.work, "int8")
    cmd = [args.sieve, "quantize", "--model", f32_dir, "--out", out, "--scheme", "int8"]
    log(f"$ {shlex.join(cmd)}")
    subprocess.run(cmd, check=True, env=env, stdout=sys.stderr)
    return out


def fmt(value, spec=".1f"):
    return "-" if value is None else format(value, spec)


def row(label, server, r):
    return (f"| {label} | {server} | {fmt(r['qps'], '.2f')} | {fmt(r['tokens_per_s'])} | {fmt(r['p50_ms'], '.0f')} | "
            f"{fmt(r['p99_ms'], '.0f')} | {fmt(r['p99_over_p50'], '.2f')} | {fmt(r['ttft_p50_ms'], '.0f')} | "
            f"{r['errors']} |")


def print_tables(args, runs, grpc_run, reload_run, peer):
    print(f"\nServing {MODEL_NAME} ({args.preset if not args.model_dir else args.model_dir}), {args.clients} clients, "
          f"{args.requests} requests, {args.max_tokens} new tokens, HTTP unless named, {args.threads} threads; CPU: {cpu_name()}\n")
    print("| model | server | QPS | tokens/s | p50 ms | p99 ms | p99/p50 | TTFT p50 ms | errors |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for scheme, (batched, single) in runs.items():
        print(row(scheme, "sieve serve (continuous batching)", batched))
        print(row(scheme, "sieve serve --max-batch 1", single))
    if grpc_run:
        print(row("f32", "sieve serve (continuous batching), gRPC GenerateStream", grpc_run))
    if peer:
        print(row("f32", "PyTorch peer (one request at a time)", peer))
    print("\n| model | QPS batched / --max-batch 1 | target | p99/p50 batched | target |")
    print("|---|---:|---:|---:|---:|")
    for scheme, (batched, single) in runs.items():
        ratio = batched["qps"] / single["qps"] if single["qps"] else None
        print(f"| {scheme} | {fmt(ratio, '.2f')}x {'ok' if ratio and ratio >= TARGET_QPS_RATIO else 'MISSED'} | "
              f">= {TARGET_QPS_RATIO:g}x | {fmt(batched['p99_over_p50'], '.2f')} "
              f"{'ok' if (batched['p99_over_p50'] or 1e9) <= TARGET_P99_OVER_P50 else 'MISSED'} | "
              f"<= {TARGET_P99_OVER_P50:g} |")
    if peer and "f32" in runs:
        batched, single = runs["f32"]
        print(f"\nf32 tokens/s at {args.clients} clients: sieve serve {batched['tokens_per_s']:.1f}, "
              f"sieve --max-batch 1 {single['tokens_per_s']:.1f}, PyTorch peer {peer['tokens_per_s']:.1f}: "
              f"sieve / peer = {batched['tokens_per_s'] / peer['tokens_per_s']:.2f}x "
              f"(--max-batch 1 / peer = {single['tokens_per_s'] / peer['tokens_per_s']:.2f}x)")
    if reload_run:
        r = reload_run
        print(f"\nHot reload under load: {args.reload_duration_s:g} s, a reload every {args.reload_every_s:g} s\n")
        print("| requests | failed | reloads (failed) | reload ms | p99 ms before | p99 ms during | p99 ms after |")
        print("|---:|---:|---:|---|---:|---:|---:|")
        reload_ms = ", ".join(f"{e['ms']:.0f}" for e in r.get("reloads", []))
        print(f"| {r['requests']} | {r['errors']} | {len(r.get('reloads', []))} ({r.get('reload_failures', 0)}) | "
              f"{reload_ms} | {fmt(r.get('p99_before_reload_ms'), '.0f')} | {fmt(r.get('p99_during_reload_ms'), '.0f')} | "
              f"{fmt(r.get('p99_after_reload_ms'), '.0f')} |")


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", help="an f32 model directory to serve (default: reuse or train, see above)")
    ap.add_argument("--preset", default="lm-17m", help="the preset trained when there is no model directory")
    ap.add_argument("--data", default="gcide", help="its training corpus")
    ap.add_argument("--train-steps", type=int, default=300)
    ap.add_argument("--schemes", nargs="+", default=["f32", "int8"], choices=["f32", "int8"])
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--requests", type=int, default=128)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--reload-duration-s", type=float, default=60.0, help="0: skip the hot-reload run")
    ap.add_argument("--reload-every-s", type=float, default=15.0)
    ap.add_argument("--no-peer", action="store_true", help="skip the PyTorch peer")
    ap.add_argument("--no-grpc", action="store_true", help="skip the f32 run over gRPC")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--timeout", type=int, default=1800, help="seconds for any one command")
    ap.add_argument("--work", default=os.path.join(REPO, "build", "serve-compare"))
    ap.add_argument("--sieve", default=os.path.join(REPO, "build", "sieve"))
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--out", help="append a JSON line with every number")
    args = ap.parse_args()
    if min(args.clients, args.requests, args.max_tokens, args.threads, args.train_steps) < 1:
        ap.error("--clients, --requests, --max-tokens, --threads and --train-steps must be >= 1")
    if args.reload_duration_s > 0 and not 0 < args.reload_every_s < args.reload_duration_s:
        ap.error("--reload-every-s must be > 0 and shorter than --reload-duration-s")
    return args


def reload_times(args):
    times, t = [], args.reload_every_s
    while t < args.reload_duration_s:
        times.append(t)
        t += args.reload_every_s
    return times


def main():
    args = parse_args()
    os.makedirs(args.work, exist_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), SIEVE_NUM_THREADS=str(args.threads))
    peer_env = blas_env.apply(dict(env))
    runs, grpc_run, reload_run, peer = {}, None, None, None
    try:
        f32_dir = model_dir(args, env)
        dirs = {"f32": f32_dir}
        if "int8" in args.schemes:
            dirs["int8"] = quantized_copy(args, f32_dir, env)
        for scheme in args.schemes:
            runs[scheme] = (measure(args, f"sieve-{scheme}", sieve_serve(args, dirs[scheme]), env, env),
                            measure(args, f"sieve-{scheme}-max-batch-1", sieve_serve(args, dirs[scheme], 1), env, env))
        if not args.no_grpc:
            grpc_run = measure(args, "sieve-f32-grpc", sieve_serve(args, f32_dir), env, env, protocol="grpc")
        if args.reload_duration_s > 0:
            token_file = os.path.join(args.work, "admin-token")
            with open(token_file, "w") as f:
                f.write(f"serve-compare-{os.getpid()}-{time.time_ns()}\n")
            os.chmod(token_file, 0o600)
            reload_run = measure(args, "sieve-f32-reload", sieve_serve(args, f32_dir, token_file=token_file), env, env,
                                 ["--requests", "0", "--duration-s", str(args.reload_duration_s),
                                  "--admin-reload-after-s", *map(str, reload_times(args)),
                                  "--admin-token-file", token_file, "--reload-dir", f32_dir])
        if not args.no_peer:
            peer = measure(args, "pytorch-peer", peer_serve(args, f32_dir), env, peer_env)
    except (BenchError, subprocess.CalledProcessError, OSError) as e:
        sys.exit(f"serve_compare: {e}")
    print_tables(args, runs, grpc_run, reload_run, peer)
    if args.out:
        with open(args.out, "a") as f:
            f.write(json.dumps({"bench": "serve_compare", "model_dir": f32_dir, "clients": args.clients,
                                "requests": args.requests, "max_tokens": args.max_tokens, "threads": args.threads,
                                "runs": {s: {"batched": b, "max_batch_1": m} for s, (b, m) in runs.items()},
                                "grpc_stream": grpc_run, "reload": reload_run, "pytorch_peer": peer, "cpu": cpu_name(),
                                "when": datetime.datetime.now().isoformat(timespec="seconds")}) + "\n")
    failed = sum(r["errors"] for pair in runs.values() for r in pair) + sum(r["errors"] for r in (peer, grpc_run) if r)
    if reload_run:
        failed += reload_run["errors"] + reload_run.get("reload_failures", 0)
    if failed:
        print(f"FAIL: {failed} failed requests or reloads (see the tables)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
