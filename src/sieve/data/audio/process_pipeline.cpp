#include "sieve/data/audio/process_pipeline.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

#include "sieve/core/error.h"

extern char** environ;

namespace sieve::data::audio {

namespace {

// An owned file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  ~Fd() { reset(); }
  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

[[noreturn]] void system_failure(const char* what) {
  core::throw_user_error("cannot start a pipeline of programs: {} failed: {}", what, std::strerror(errno));
}

// A pipe whose both ends close on exec: a child keeps only what posix_spawn dup2s onto its
// standard descriptors, even while other threads spawn at the same time.
std::pair<Fd, Fd> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) system_failure("pipe2");
  return {Fd(fds[0]), Fd(fds[1])};
}

int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

void wait_all(const std::vector<pid_t>& pids, std::vector<int>& codes) {
  for (std::size_t i = 0; i < pids.size(); ++i) {
    int status = 0;
    while (::waitpid(pids[i], &status, 0) < 0 && errno == EINTR) {
    }
    codes[i] = exit_code(status);
  }
}

void kill_all(const std::vector<pid_t>& pids) {
  for (const pid_t pid : pids) ::kill(pid, SIGKILL);
}

class SpawnSetup {
 public:
  SpawnSetup() {
    ::posix_spawn_file_actions_init(&actions_);
    ::posix_spawnattr_init(&attributes_);
    // The child starts with no signal blocked and SIGPIPE at its default, whatever this process
    // (a server that ignores SIGPIPE) has set.
    sigset_t none, pipe;
    sigemptyset(&none);
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    ::posix_spawnattr_setsigmask(&attributes_, &none);
    ::posix_spawnattr_setsigdefault(&attributes_, &pipe);
    ::posix_spawnattr_setflags(&attributes_, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  }
  ~SpawnSetup() {
    ::posix_spawn_file_actions_destroy(&actions_);
    ::posix_spawnattr_destroy(&attributes_);
  }
  void redirect(int from, int to) { ::posix_spawn_file_actions_adddup2(&actions_, from, to); }
  // 0 or the errno of the failure.
  int spawn(pid_t& pid, const std::vector<std::string>& command) {
    std::vector<char*> argv;
    for (const std::string& arg : command) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    return ::posix_spawnp(&pid, argv[0], &actions_, &attributes_, argv.data(), environ);
  }

 private:
  posix_spawn_file_actions_t actions_;
  posix_spawnattr_t attributes_;
};

}  // namespace

int PipelineResult::first_failure() const {
  if (failed_to_start >= 0) return failed_to_start;
  for (std::size_t i = 0; i < exit_codes.size(); ++i)
    if (exit_codes[i] != 0) return static_cast<int>(i);
  return -1;
}

PipelineResult run_pipeline(const std::vector<std::vector<std::string>>& commands, std::string_view input,
                            const PipelineLimits& limits) {
  SIEVE_CHECK(!commands.empty(), "an empty pipeline");
  for (const auto& command : commands) SIEVE_CHECK(!command.empty(), "a pipeline command without a program");
  PipelineResult result;
  result.exit_codes.assign(commands.size(), 0);

  // The first program's stdin is a socket rather than a pipe: if the program exits before
  // reading everything, send(MSG_NOSIGNAL) answers EPIPE instead of killing this process
  // with SIGPIPE.
  int input_pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, input_pair) != 0) system_failure("socketpair");
  Fd input_ours(input_pair[0]);
  Fd next_stdin(input_pair[1]);
  auto [errors_ours, errors_theirs] = make_pipe();
  Fd output_ours;

  std::vector<pid_t> pids;
  for (std::size_t i = 0; i < commands.size(); ++i) {
    auto [read_end, write_end] = make_pipe();
    SpawnSetup setup;
    setup.redirect(next_stdin.get(), STDIN_FILENO);
    setup.redirect(write_end.get(), STDOUT_FILENO);
    setup.redirect(errors_theirs.get(), STDERR_FILENO);
    pid_t pid = 0;
    const int error = setup.spawn(pid, commands[i]);
    if (error != 0) {
      result.failed_to_start = static_cast<int>(i);
      result.start_errno = error;
      // Closing our ends gives the programs already started end of file (or EPIPE) at once.
      input_ours.reset();
      read_end.reset();
      next_stdin.reset();
      write_end.reset();
      errors_theirs.reset();
      wait_all(pids, result.exit_codes);
      return result;
    }
    pids.push_back(pid);
    next_stdin = std::move(read_end);  // the next program reads what this one writes
  }
  output_ours = std::move(next_stdin);  // after the last program: its stdout, read here
  errors_theirs.reset();

  if (::fcntl(input_ours.get(), F_SETFL, O_NONBLOCK) != 0) system_failure("fcntl");
  std::size_t sent = 0;
  if (input.empty()) input_ours.reset();
  const auto deadline = std::chrono::steady_clock::now() + limits.timeout;
  std::array<char, 65536> buffer;
  bool output_open = true, errors_open = true;
  while (output_open || errors_open) {
    std::array<pollfd, 3> fds{};
    nfds_t count = 0;
    const auto watch = [&](const Fd& fd, short events) {
      if (fd.get() >= 0) fds[count++] = {fd.get(), events, 0};
    };
    if (output_open) watch(output_ours, POLLIN);
    if (errors_open) watch(errors_ours, POLLIN);
    watch(input_ours, POLLOUT);
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      break;
    }
    const int ready = ::poll(fds.data(), count, static_cast<int>(std::min<long long>(left.count(), 1 << 30)));
    if (ready < 0) {
      if (errno == EINTR) continue;
      system_failure("poll");
    }
    for (nfds_t i = 0; i < count; ++i) {
      if (fds[i].revents == 0) continue;
      const int fd = fds[i].fd;
      if (fd == input_ours.get()) {
        const ssize_t n = ::send(fd, input.data() + sent, input.size() - sent, MSG_NOSIGNAL);
        if (n > 0) sent += static_cast<std::size_t>(n);
        // Everything sent, or the program stopped reading (EPIPE): it gets end of file.
        if (sent == input.size() || (n < 0 && errno != EAGAIN && errno != EINTR)) input_ours.reset();
        continue;
      }
      const ssize_t n = ::read(fd, buffer.data(), buffer.size());
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      const bool is_output = fd == output_ours.get();
      if (n <= 0) {
        (is_output ? output_open : errors_open) = false;
        continue;
      }
      if (is_output) {
        result.output.append(buffer.data(), static_cast<std::size_t>(n));
        if (result.output.size() > limits.max_output_bytes) result.output_too_large = true;
      } else if (result.errors.size() < limits.max_error_bytes) {
        result.errors.append(buffer.data(),
                             std::min(static_cast<std::size_t>(n), limits.max_error_bytes - result.errors.size()));
      }
    }
    if (result.output_too_large) break;
  }
  if (result.timed_out || result.output_too_large) kill_all(pids);
  input_ours.reset();
  output_ours.reset();
  errors_ours.reset();
  wait_all(pids, result.exit_codes);
  return result;
}

}  // namespace sieve::data::audio
