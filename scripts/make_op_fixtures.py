#!/usr/bin/python3
"""Writes the PyTorch golden fixtures of the multimodal model's ops under
tests/fixtures/multimodal_ops/ (see tests/fixtures/README.md):

  conv2d.safetensors       torch.nn.functional.conv2d: values and gradients, several
                           kernel sizes, strides, paddings, with and without bias
  contrastive.safetensors  CLIP's symmetric InfoNCE loss with a learned log-temperature:
                           value and gradients in a, b and the log-temperature
  ctc.safetensors          F.ctc_loss (reduction "mean", zero_infinity) of log_softmax(logits):
                           value and gradient in the logits

Sieve's conv2d is channels-last, so tensors are stored in its layouts: x and dx
[B, H, W, Ci] (torch's NCHW permuted), weight and dweight [Co, KH, KW, Ci] (torch's
[Co, Ci, KH, KW] permuted). Each case's gradients are those of sum(out * grad_output).

Reference precision as for the golden model: the f32 inputs are widened to float64,
everything runs in float64, and results are rounded to f32 only when stored.

Run with Debian's torch:  /usr/bin/python3 scripts/make_op_fixtures.py
The output is byte-identical from run to run on the same machine and torch.
"""

import math
import os
import sys

import torch
import torch.nn.functional as F

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "scripts"))
from make_golden_fixture import check_written, write_safetensors  # noqa: E402

OUT_DIR = os.path.join(REPO, "tests", "fixtures", "multimodal_ops")

# name: (B, H, W, Ci, Co, KH, KW, (stride_h, stride_w), (pad_h, pad_w), bias)
CONV_CASES = {
    "same_3x3": (2, 7, 6, 3, 4, 3, 3, (1, 1), (1, 1), True),
    "stride2_no_pad_no_bias": (2, 9, 8, 2, 5, 3, 3, (2, 2), (0, 0), False),
    "patch4": (1, 8, 12, 1, 6, 4, 4, (4, 4), (0, 0), True),
    "uneven_5x3": (3, 11, 7, 4, 3, 5, 3, (2, 1), (2, 1), True),
    "pointwise_1x1": (2, 5, 5, 3, 4, 1, 1, (1, 1), (0, 0), True),
    "ragged_3x2_no_bias": (2, 10, 9, 2, 3, 3, 2, (3, 2), (1, 0), False),
}

# name: (N pairs, C features, log_temperature); the second is past the clamp at ln 100.
CONTRASTIVE_CASES = {
    "clip_init": (8, 5, math.log(1 / 0.07)),
    "clamped": (6, 4, 5.0),
}


def f32(t):
    return t.to(torch.float32)


def make_conv():
    tensors, meta = {}, {"generator": "scripts/make_op_fixtures.py", "torch": torch.__version__,
                         "layout": "x, dx [B,H,W,Ci]; weight, dweight [Co,KH,KW,Ci]; out [B,Ho,Wo,Co]"}
    for name, (B, H, W, Ci, Co, KH, KW, stride, pad, has_bias) in CONV_CASES.items():
        x = f32(torch.randn(B, Ci, H, W))
        w = f32(torch.randn(Co, Ci, KH, KW) / math.sqrt(Ci * KH * KW))
        b = f32(torch.randn(Co)) if has_bias else None
        x64 = x.double().requires_grad_()
        w64 = w.double().requires_grad_()
        b64 = b.double().requires_grad_() if has_bias else None
        out = F.conv2d(x64, w64, b64, stride=stride, padding=pad)
        g = f32(torch.randn(out.shape))
        (out * g.double()).sum().backward()
        nhwc = lambda t: f32(t.detach().permute(0, 2, 3, 1))  # noqa: E731  NCHW -> NHWC
        ohwi = lambda t: f32(t.detach().permute(0, 2, 3, 1))  # noqa: E731  OIHW -> OHWI
        p = name + "."
        tensors[p + "x"] = nhwc(x)
        tensors[p + "weight"] = ohwi(w)
        tensors[p + "out"] = nhwc(out)
        tensors[p + "grad_output"] = nhwc(g)
        tensors[p + "grad.x"] = nhwc(x64.grad)
        tensors[p + "grad.weight"] = ohwi(w64.grad)
        # [stride_h, stride_w, pad_h, pad_w]
        tensors[p + "options"] = torch.tensor([stride[0], stride[1], pad[0], pad[1]], dtype=torch.int64)
        if has_bias:
            tensors[p + "bias"] = b
            tensors[p + "grad.bias"] = f32(b64.grad)
    path = os.path.join(OUT_DIR, "conv2d.safetensors")
    write_safetensors(path, tensors, meta)
    check_written(path, tensors)
    print(f"conv2d: {len(CONV_CASES)} cases; wrote {path}")


def clip_loss(a, b, log_temperature):
    """Symmetric InfoNCE as CLIP: cosine similarities times exp(t) (t clamped to <= ln 100),
    cross-entropy of each a against all b and of each b against all a, averaged."""
    a = F.normalize(a, dim=1)
    b = F.normalize(b, dim=1)
    logits = torch.clamp(log_temperature, max=math.log(100.0)).exp() * a @ b.t()
    labels = torch.arange(a.shape[0])
    return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels)) / 2


def make_contrastive():
    tensors, meta = {}, {"generator": "scripts/make_op_fixtures.py", "torch": torch.__version__,
                         "loss": "(CE(s*an@bn.T, arange) + CE(s*bn@an.T, arange))/2, s = exp(min(t, ln 100))"}
    for name, (N, C, t) in CONTRASTIVE_CASES.items():
        a = f32(torch.randn(N, C))
        b = f32(a + 0.8 * torch.randn(N, C))  # paired rows are similar, so the loss is not flat
        t32 = torch.tensor([t], dtype=torch.float32)
        a64, b64, t64 = (x.double().requires_grad_() for x in (a, b, t32))
        loss = clip_loss(a64, b64, t64)
        loss.backward()
        p = name + "."
        tensors[p + "a"] = a
        tensors[p + "b"] = b
        tensors[p + "log_temperature"] = t32
        tensors[p + "loss"] = f32(loss.detach().reshape(1))
        tensors[p + "grad.a"] = f32(a64.grad)
        tensors[p + "grad.b"] = f32(b64.grad)
        tensors[p + "grad.log_temperature"] = f32(t64.grad)
    path = os.path.join(OUT_DIR, "contrastive.safetensors")
    write_safetensors(path, tensors, meta)
    check_written(path, tensors)
    print(f"contrastive: {len(CONTRASTIVE_CASES)} cases; wrote {path}")


# name: (T frames, V classes, targets per sequence, input lengths); blank = 0. The second case
# has a sequence whose target (a label three times: 5 frames at least) cannot fit its 4 frames.
CTC_CASES = {
    "ctc_batch": (12, 6, [[2, 2, 3, 1], [5, 4], [1, 3, 1]], [12, 9, 7]),
    "ctc_infeasible": (6, 4, [[1, 1, 1], [2, 3]], [4, 6]),
}


def make_ctc():
    tensors, meta = {}, {"generator": "scripts/make_op_fixtures.py", "torch": torch.__version__,
                         "loss": "F.ctc_loss(log_softmax(logits).transpose(0, 1), ..., blank=0, "
                                 "reduction='mean', zero_infinity=True); logits [B, T, V]"}
    for name, (T, V, labels, input_lengths) in CTC_CASES.items():
        B, U = len(labels), max(len(x) for x in labels)
        logits = f32(torch.randn(B, T, V))
        targets = torch.zeros(B, U, dtype=torch.int64)
        for b, row in enumerate(labels):
            targets[b, :len(row)] = torch.tensor(row)
        target_lengths = torch.tensor([len(x) for x in labels], dtype=torch.int64)
        inputs = torch.tensor(input_lengths, dtype=torch.int64)
        z = logits.double().requires_grad_()
        loss = F.ctc_loss(F.log_softmax(z, dim=2).transpose(0, 1), targets, inputs, target_lengths, blank=0,
                          reduction="mean", zero_infinity=True)
        loss.backward()
        p = name + "."
        tensors[p + "logits"] = logits
        tensors[p + "targets"] = targets
        tensors[p + "input_lengths"] = inputs
        tensors[p + "target_lengths"] = target_lengths
        tensors[p + "loss"] = f32(loss.detach().reshape(1))
        tensors[p + "grad.logits"] = f32(z.grad)
    path = os.path.join(OUT_DIR, "ctc.safetensors")
    write_safetensors(path, tensors, meta)
    check_written(path, tensors)
    print(f"ctc: {len(CTC_CASES)} cases; wrote {path}")


def main():
    torch.set_num_threads(1)  # one fixed order of reductions: same bytes every run
    torch.manual_seed(0)
    os.makedirs(OUT_DIR, exist_ok=True)
    make_conv()
    make_contrastive()
    make_ctc()


if __name__ == "__main__":
    main()
