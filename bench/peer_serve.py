#!/usr/bin/python3
"""PyTorch peer for `sieve serve`: the same model directory behind a plain HTTP server.

Loads a Sieve model directory (config.json, model.safetensors in f32, tokenizer.model; a dense
LLaMA) into bench/peer_model.py's LlamaLM and answers the subset of `sieve serve`'s HTTP API
that `sieve bench serve --http` drives:

  POST /v1/completions  {"model", "prompt", "max_tokens" (16), "temperature" (1; 0 = greedy),
                         "seed"} -> OpenAI's JSON (choices[0].text, finish_reason, usage);
                         no streaming, no top_p / top_k / stop
  GET  /health          200 once the model is loaded

Serving model: http.server's ThreadingHTTPServer (a thread per connection) with ONE request
generating at a time under a lock -- no batching -- each with its own KV cache (prefill, then
one cached step per token), as Sieve tokenizes: BOS, then the prompt's pieces; EOS ends the
text ("stop") and is not counted as a completion token. Loopback addresses only; --threads
torch threads (default 2).

  bench/peer_serve.py --model-dir DIR --name NAME --port P [--host 127.0.0.1] [--threads 2]
"""

import os

import blas_env

blas_env.apply(os.environ)
os.environ.setdefault("OMP_NUM_THREADS", "2")

import argparse  # noqa: E402
import http.server  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import struct  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

import sentencepiece  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer_model as pm  # noqa: E402

LOOPBACK = ("127.0.0.1", "::1", "localhost")
MAX_BODY_BYTES = 1 << 20
# Sampling options the peer lacks, accepted only at their no-op values.
UNSUPPORTED_DEFAULTS = {"top_p": 1, "top_k": 0, "stop": []}


class BadRequest(Exception):
    """A request the peer refuses; carries the HTTP status."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def load_safetensors_f32(path):
    """{name: float32 tensor} from a safetensors file (8-byte header size, JSON header, data)."""
    with open(path, "rb") as f:
        header_size = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(header_size))
        data = f.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            sys.exit(f"peer_serve: {path}: {name} is {info['dtype']}; the peer serves f32 model directories only")
        begin, end = info["data_offsets"]
        tensors[name] = torch.frombuffer(bytearray(data[begin:end]), dtype=torch.float32).view(info["shape"])
    return tensors


def load_model_dir(directory):
    """(config, LlamaLM, SentencePieceProcessor) of a Sieve model directory."""
    with open(os.path.join(directory, "config.json")) as f:
        raw = json.load(f)
    attention = raw.get("attention", {"type": "dense"})
    if "quantization" in raw or attention.get("type", "dense") != "dense" or attention.get("layers"):
        sys.exit(f"peer_serve: {directory}: the peer serves plain f32 dense-attention models only")
    config = pm.make_config(**{k: raw[k] for k in pm.CONFIG_KEYS})
    model = pm.LlamaLM(config, load_safetensors_f32(os.path.join(directory, "model.safetensors"))).eval()
    tokenizer = sentencepiece.SentencePieceProcessor(model_file=os.path.join(directory, "tokenizer.model"))
    return config, model, tokenizer


class Generator:
    """One completion at a time (the lock), KV-cached, greedy or temperature sampling."""

    def __init__(self, config, model, tokenizer):
        self.config, self.model, self.tokenizer = config, model, tokenizer
        self.lock = threading.Lock()

    def complete(self, prompt, max_tokens, temperature, seed):
        ids = ([self.tokenizer.bos_id()] if self.tokenizer.bos_id() >= 0 else []) + self.tokenizer.encode(prompt)
        room = self.config["max_position_embeddings"] - len(ids)
        if room < 1:
            raise BadRequest(400, f"the prompt is {len(ids)} tokens; the model's context is "
                                  f"{self.config['max_position_embeddings']}")
        limit = min(max_tokens, room)
        eos = self.tokenizer.eos_id()
        sampler = torch.Generator().manual_seed(seed) if temperature > 0 else None
        made, finish = [], "length"
        with self.lock, torch.inference_mode():
            cache = pm.KVCache(self.config, batch=1, max_tokens=len(ids) + limit, dtype=torch.float32)
            logits = self.model(torch.tensor([ids]), cache)[0, -1]                     # [V]
            for step in range(limit):
                if sampler is None:
                    token = int(logits.argmax())
                else:
                    probs = torch.softmax(logits / temperature, dim=-1)
                    token = int(torch.multinomial(probs, 1, generator=sampler))
                if token == eos:
                    finish = "stop"
                    break
                made.append(token)
                if step + 1 < limit:
                    logits = self.model(torch.tensor([[token]]), cache)[0, -1]
        return {"text": self.tokenizer.decode(made), "finish_reason": finish,
                "prompt_tokens": len(ids), "completion_tokens": len(made)}


def parse_completion_request(body, model_name):
    """(prompt, max_tokens, temperature, seed) from a JSON body, or BadRequest."""
    try:
        request = json.loads(body)
    except ValueError as e:
        raise BadRequest(400, f"the body is not JSON: {e}") from None
    if not isinstance(request, dict):
        raise BadRequest(400, "the body must be a JSON object")
    if request.get("model") != model_name:
        raise BadRequest(404, f"no model {request.get('model')!r}; this peer serves {model_name!r}")
    if request.get("stream"):
        raise BadRequest(400, "the peer does not stream")
    for name, default in UNSUPPORTED_DEFAULTS.items():
        if request.get(name, default) != default:
            raise BadRequest(400, f"the peer does not support {name}")
    prompt = request.get("prompt")
    max_tokens = request.get("max_tokens", 16)
    temperature = request.get("temperature", 1.0)
    seed = request.get("seed", random.getrandbits(63))
    if not isinstance(prompt, str):
        raise BadRequest(400, "prompt must be a string")
    if not isinstance(max_tokens, int) or not 1 <= max_tokens <= 4096:
        raise BadRequest(400, "max_tokens must be an integer in 1..4096")
    if not isinstance(temperature, (int, float)) or temperature < 0:
        raise BadRequest(400, "temperature must be a number >= 0")
    if not isinstance(seed, int) or seed < 0:
        raise BadRequest(400, "seed must be an integer >= 0")
    return prompt, max_tokens, float(temperature), seed


def make_handler(generator, model_name):
    counter = iter(range(1, 1 << 62))

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the load generator's clients expect

        def log_message(self, *args):  # one line per request would swamp a load test
            pass

        def send_json(self, status, document):
            body = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def send_error_json(self, status, message):
            self.send_json(status, {"error": {"message": message, "code": status}})

        def do_GET(self):
            if self.path == "/health":
                self.send_json(200, {"status": "ok"})
            else:
                self.send_error_json(404, f"no route GET {self.path}")

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                self.close_connection = True
                return self.send_error_json(413, f"the body is over {MAX_BODY_BYTES} bytes")
            body = self.rfile.read(length)
            if self.path != "/v1/completions":
                return self.send_error_json(404, f"no route POST {self.path}")
            try:
                prompt, max_tokens, temperature, seed = parse_completion_request(body, model_name)
                result = generator.complete(prompt, max_tokens, temperature, seed)
            except BadRequest as e:
                return self.send_error_json(e.status, str(e))
            self.send_json(200, {
                "id": f"cmpl-peer-{next(counter)}", "object": "text_completion", "created": int(time.time()),
                "model": model_name,
                "choices": [{"index": 0, "text": result["text"], "finish_reason": result["finish_reason"],
                             "logprobs": None}],
                "usage": {"prompt_tokens": result["prompt_tokens"],
                          "completion_tokens": result["completion_tokens"],
                          "total_tokens": result["prompt_tokens"] + result["completion_tokens"]}})

    return Handler


class Server(http.server.ThreadingHTTPServer):
    """A thread per connection; IPv6 when the host is ::1."""

    daemon_threads = True
    request_queue_size = 128  # the default 5 drops connections when 32 clients connect at once

    def __init__(self, address, handler):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, handler)


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", required=True, help="a Sieve model directory (f32, dense attention)")
    ap.add_argument("--name", required=True, help="the model name requests must give")
    ap.add_argument("--host", default="127.0.0.1", choices=LOOPBACK)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--threads", type=int, default=2, help="torch threads")
    args = ap.parse_args()
    if not 1 <= args.port <= 65535 or args.threads < 1:
        ap.error("--port must be in 1..65535 and --threads >= 1")
    return args


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    generator = Generator(*load_model_dir(args.model_dir))
    server = Server((args.host, args.port), make_handler(generator, args.name))
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"peer_serve: {args.name} from {args.model_dir} on http://{args.host}:{args.port} "
          f"(torch {torch.__version__}, {torch.get_num_threads()} threads, {pm.blas_kind(pm.loaded_blas())} BLAS)",
          file=sys.stderr, flush=True)
    server.serve_forever()
    server.server_close()


if __name__ == "__main__":
    main()
