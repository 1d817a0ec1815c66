// ggml's tensor encodings that Sieve converts to and from f32, laid out exactly as llama.cpp's
// ggml-common.h and quantized as its reference quantizers (ggml-quants.c) do:
//   f32    4 bytes an element
//   f16    IEEE half, round to nearest even
//   bf16   the top half of an f32 (decode only)
//   q8_0   blocks of 32: f16 d, 32 × i8 q;               x ≈ d·q, d = max|x| / 127
//   q4_0   blocks of 32: f16 d, 16 bytes of nibbles;     x ≈ d·(nibble − 8), d = (signed max-|x| value) / −8;
//          byte j holds element j in its low nibble and element j + 16 in its high nibble
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "sieve/convert_gguf/gguf_types.h"

namespace sieve::convert_gguf {

// Whether encode_rows can write `type` (f32, f16, q8_0, q4_0).
bool can_encode(GgmlType type);
// Whether decode_elements can read `type` (those and bf16).
bool can_decode(GgmlType type);

// Encodes x [rows, cols] (row-major f32) into `type`; cols must be a multiple of the block size.
std::vector<std::byte> encode_rows(GgmlType type, const float* x, std::int64_t rows, std::int64_t cols);

// Decodes `count` elements (a whole number of blocks) stored as `type` in `bytes` into out.
// Non-finite block scales decode as they are (a file's values are its own business).
void decode_elements(GgmlType type, std::span<const std::byte> bytes, std::int64_t count, float* out);

}  // namespace sieve::convert_gguf
