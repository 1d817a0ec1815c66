#include "apps/dashboard/jobs/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "sieve/core/error.h"

extern char** environ;

namespace sieve::dashboard {
namespace {

// Frees the spawn attributes and file actions on every path out.
struct SpawnSetup {
  posix_spawnattr_t attributes;
  posix_spawn_file_actions_t actions;
  SpawnSetup() {
    posix_spawnattr_init(&attributes);
    posix_spawn_file_actions_init(&actions);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
  }
};

}  // namespace

pid_t spawn_job_process(const std::filesystem::path& binary, const JobCommand& command,
                        const std::filesystem::path& log_file, int threads) {
  SpawnSetup setup;
  // Its own process group; signals the server blocks or ignores are back to normal in the child.
  sigset_t defaults;
  sigemptyset(&defaults);
  for (const int s : {SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD}) sigaddset(&defaults, s);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setpgroup(&setup.attributes, 0);
  posix_spawnattr_setsigdefault(&setup.attributes, &defaults);
  posix_spawnattr_setsigmask(&setup.attributes, &none);
  posix_spawnattr_setflags(&setup.attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  posix_spawn_file_actions_addopen(&setup.actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&setup.actions, STDOUT_FILENO, log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0644);
  posix_spawn_file_actions_adddup2(&setup.actions, STDOUT_FILENO, STDERR_FILENO);
  // Nothing else of the server's (its listening socket above all) stays open in a process that
  // may outlive it.
  posix_spawn_file_actions_addclosefrom_np(&setup.actions, STDERR_FILENO + 1);
  posix_spawn_file_actions_addchdir_np(&setup.actions, command.cwd.c_str());

  std::vector<std::string> words{binary.string(), command.verb};
  words.insert(words.end(), command.args.begin(), command.args.end());
  std::vector<char*> argv;
  for (std::string& word : words) argv.push_back(word.data());
  argv.push_back(nullptr);

  // Sieve reads SIEVE_NUM_THREADS before OMP_NUM_THREADS (core/parallel.h): set both.
  std::vector<std::string> environment;
  for (char** entry = environ; *entry != nullptr; ++entry)
    if (std::strncmp(*entry, "OMP_NUM_THREADS=", 16) != 0 && std::strncmp(*entry, "SIEVE_NUM_THREADS=", 18) != 0)
      environment.emplace_back(*entry);
  environment.push_back("OMP_NUM_THREADS=" + std::to_string(threads));
  environment.push_back("SIEVE_NUM_THREADS=" + std::to_string(threads));
  std::vector<char*> envp;
  for (std::string& entry : environment) envp.push_back(entry.data());
  envp.push_back(nullptr);

  pid_t pid = 0;
  const int error = posix_spawn(&pid, argv[0], &setup.actions, &setup.attributes, argv.data(), envp.data());
  if (error != 0) throw core::Error(fmt::format("cannot start {}: {}", binary.string(), std::strerror(error)));
  return pid;
}

bool job_process_alive(pid_t pid) {
  if (pid <= 0) return false;
  if (::kill(pid, 0) != 0 && errno != EPERM) return false;
  return ::getpgid(pid) == pid;
}

}  // namespace sieve::dashboard
