// Model inputs from files a user gives `sieve infer`: a grey-scale image (PNG or PGM; 28×28
// item or 56×56 scene) and a WAV file (any PCM rate and channel count; resampled to 16 kHz and
// turned into the log-mel features the data set uses).
#pragma once

#include <filesystem>

#include "sieve/nn/models/trimodal/trimodal_model.h"

namespace sieve::multimodal {

// Throws core::UserError for an unreadable file or an image size the model cannot take.
nn::ImageBatch image_from_file(const std::filesystem::path& path, const nn::TriModalConfig& config);
// Throws core::UserError for an unreadable or too-short WAV; longer clips are cut to the model's
// longest (max_audio_tokens · 8 frames, 7.68 s at the defaults).
nn::AudioBatch audio_from_file(const std::filesystem::path& path, const nn::TriModalConfig& config);

}  // namespace sieve::multimodal
