#!/usr/bin/env python3
"""PyTorch's side of tests/data/test_audio_log_mel.cpp: log-mel features of the f32 samples on
stdin, written to stdout as f32 [frames, n_mels], computed the way torchaudio's
MelSpectrogram(n_fft, hop_length=hop, n_mels=...) computes them (torchaudio itself is not in
Debian 12): torch.stft with a periodic Hann window, center=True and reflect padding, power 2, and
the filterbank of torchaudio.functional.melscale_fbanks(norm=None, mel_scale="htk"), copied from
torchaudio 0.13. Then log(mel + log_offset).

    log_mel_torch.py SAMPLE_RATE N_FFT HOP N_MELS F_MIN F_MAX LOG_OFFSET < samples.f32 > features.f32
"""
import math
import sys

import numpy as np
import torch


def melscale_fbanks(n_freqs, f_min, f_max, n_mels, sample_rate):
    def hz_to_mel(f):
        return 2595.0 * math.log10(1.0 + f / 700.0)

    all_freqs = torch.linspace(0, sample_rate // 2, n_freqs)
    m_pts = torch.linspace(hz_to_mel(f_min), hz_to_mel(f_max), n_mels + 2)
    f_pts = 700.0 * (10 ** (m_pts / 2595.0) - 1.0)
    f_diff = f_pts[1:] - f_pts[:-1]
    slopes = f_pts.unsqueeze(0) - all_freqs.unsqueeze(1)
    down_slopes = (-1.0 * slopes[:, :-2]) / f_diff[:-1]
    up_slopes = slopes[:, 2:] / f_diff[1:]
    return torch.max(torch.zeros(1), torch.min(down_slopes, up_slopes))


def main():
    sample_rate, n_fft, hop, n_mels = (int(a) for a in sys.argv[1:5])
    f_min, f_max, log_offset = (float(a) for a in sys.argv[5:8])
    samples = torch.from_numpy(np.frombuffer(sys.stdin.buffer.read(), dtype="<f4").copy())
    spectrum = torch.stft(samples, n_fft, hop_length=hop, window=torch.hann_window(n_fft), center=True,
                          pad_mode="reflect", return_complex=True)
    power = spectrum.abs() ** 2                                    # [F, T]
    fbanks = melscale_fbanks(n_fft // 2 + 1, f_min, f_max, n_mels, sample_rate)  # [F, M]
    mel = torch.matmul(power.transpose(0, 1), fbanks)            # [T, M]
    features = torch.log(mel + log_offset)
    sys.stdout.buffer.write(features.numpy().astype("<f4").tobytes())


if __name__ == "__main__":
    main()
