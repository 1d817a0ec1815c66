// Runs programs as separate processes connected by pipes — `a | b | c` without a shell. The
// speech engines are GPL programs that Sieve must not link, so it talks to them this way; the
// argument vectors go to posix_spawnp as they are, so no text can be read as shell syntax.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace sieve::data::audio {

struct PipelineLimits {
  std::chrono::milliseconds timeout{60'000};   // the whole pipeline; then every process is killed
  std::size_t max_output_bytes = 256u << 20;   // the last process's stdout; more kills the pipeline
  std::size_t max_error_bytes = 16u << 10;     // stderr kept for messages; the rest is drained
};

struct PipelineResult {
  std::string output;                 // the last program's stdout
  std::string errors;                 // the programs' stderr, interleaved, up to max_error_bytes
  std::vector<int> exit_codes;        // per program: its exit status, or 128 + the signal that ended it
  int failed_to_start = -1;           // index of a program posix_spawnp could not start, or -1
  int start_errno = 0;                // why (ENOENT: not installed / not on PATH)
  bool timed_out = false;
  bool output_too_large = false;

  // The first program that failed (did not start, or exited non-zero), or -1.
  int first_failure() const;
};

// Runs commands[0] | commands[1] | ..., `input` on the first program's stdin (then end of file),
// and collects the last one's stdout and everyone's stderr. Each command is a program (searched
// on PATH) and its arguments. Waits for every process it started; never throws for what the
// programs do — the result says — only for a system failure (out of file descriptors, ...).
PipelineResult run_pipeline(const std::vector<std::vector<std::string>>& commands, std::string_view input,
                            const PipelineLimits& limits = {});

}  // namespace sieve::data::audio
