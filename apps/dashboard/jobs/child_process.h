// Starting a `sieve` process for a job: in its own process group (so a stop reaches everything it
// started), stdin from /dev/null, stdout and stderr appended to a log file, no other descriptor of
// the server's inherited, default signal dispositions, and its thread count (OMP_NUM_THREADS,
// SIEVE_NUM_THREADS) set so that concurrent jobs share the cores.
#pragma once

#include <sys/types.h>

#include <filesystem>

#include "apps/dashboard/jobs/job_record.h"

namespace sieve::dashboard {

// Starts `binary command.verb command.args...` in command.cwd; returns its pid (also its process
// group id). Throws core::Error when the process cannot be started.
pid_t spawn_job_process(const std::filesystem::path& binary, const JobCommand& command,
                        const std::filesystem::path& log_file, int threads);

// Whether process `pid` exists and still leads its own process group (a job we started; a pid
// reused by an unrelated process rarely does).
bool job_process_alive(pid_t pid);

}  // namespace sieve::dashboard
