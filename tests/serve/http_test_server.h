// An in-process serving stack for the HTTP tests: a Service with the first tiny model
// (serve_test_models.h) loaded as "tiny", an HttpServer over it on a free loopback port with an
// admin token, and helpers to talk to it (JSON posts, the SSE stream, the Prometheus gauges).
#pragma once

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "serve_test_models.h"
#include "sieve/serve/service.h"
#include "sieve/serve_http/http_server.h"
#include "temp_dir.h"

namespace sieve::testing {

inline constexpr const char* kAdminToken = "test-admin-token";

// Service options light enough for a shared two-core machine.
inline serve::ServiceOptions light_service_options() {
  serve::ServiceOptions options;
  options.threads = 1;
  options.max_batch = 8;
  return options;
}

class HttpTestServer {
 public:
  struct Setup {
    serve::ServiceOptions service = light_service_options();
    bool load_model = true;   // false: the test adds models itself (to see /health turn ready)
    bool admin_token = true;  // false: the admin API is off
  };

  HttpTestServer() : HttpTestServer(Setup{}) {}
  explicit HttpTestServer(const Setup& setup) : service_(setup.service) {
    if (setup.admin_token) {
      std::ofstream(dir_ / "admin-token") << kAdminToken << "\n";
      token_ = std::make_unique<serve::AdminToken>(serve::AdminToken::from_file(dir_ / "admin-token"));
    }
    serve_http::HttpServerOptions options;
    options.port = 0;
    options.admin_token = token_.get();
    server_ = std::make_unique<serve_http::HttpServer>(service_, options);
    server_->start();
    if (setup.load_model) service_.add_model("tiny", models().first());
  }
  ~HttpTestServer() { server_->stop(); }

  serve::Service& service() { return service_; }
  serve_http::HttpServer& server() { return *server_; }
  int port() const { return server_->port(); }
  static const ServeTestModels& models() { return ServeTestModels::get(); }

  std::unique_ptr<httplib::Client> client() const {
    auto client = std::make_unique<httplib::Client>("127.0.0.1", port());
    client->set_read_timeout(std::chrono::seconds(120));
    return client;
  }

  httplib::Result post_json(const std::string& path, const nlohmann::json& body, httplib::Headers headers = {}) const {
    return client()->Post(path.c_str(), headers, body.dump(), "application/json");
  }
  httplib::Result get(const std::string& path, httplib::Headers headers = {}) const {
    return client()->Get(path.c_str(), headers);
  }
  static httplib::Headers admin_headers(const std::string& token = kAdminToken) {
    return {{"Authorization", "Bearer " + token}};
  }

 private:
  TempDir dir_;
  serve::Service service_;
  std::unique_ptr<serve::AdminToken> token_;
  std::unique_ptr<serve_http::HttpServer> server_;
};

// A plain TCP connection to the server, for what httplib's client will not send (a malformed
// request) or do (hang up mid-response). Closed when it dies.
class RawConnection {
 public:
  // receive_buffer_bytes > 0: a small receive window (set before connecting), so a client that
  // does not read soon makes the server's writes wait.
  explicit RawConnection(int port, int receive_buffer_bytes = 0) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    if (fd_ >= 0 && receive_buffer_bytes > 0)
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer_bytes, sizeof(receive_buffer_bytes));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0)
      throw std::runtime_error("cannot connect to the test server");
  }
  ~RawConnection() { ::close(fd_); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  void send(const std::string& bytes) const {
    if (::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(bytes.size()))
      throw std::runtime_error("cannot send to the test server");
  }
  // What arrives until `marker` is in it, or the server closes.
  std::string read_until(const std::string& marker) const {
    std::string received;
    char buffer[4096];
    while (received.find(marker) == std::string::npos) {
      const ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
      if (n <= 0) break;
      received.append(buffer, static_cast<std::size_t>(n));
    }
    return received;
  }

 private:
  int fd_;
};

// The JSON payloads of a text/event-stream body's `data:` events, in order ("[DONE]" as a string).
inline std::vector<nlohmann::json> sse_events(const std::string& body) {
  std::vector<nlohmann::json> events;
  std::istringstream lines(body);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("data: ", 0) != 0) continue;
    const std::string data = line.substr(6);
    events.push_back(data == "[DONE]" ? nlohmann::json("[DONE]") : nlohmann::json::parse(data));
  }
  return events;
}

// The sum of a Prometheus metric's samples (all label sets) in `text`; -1 when absent.
inline double metric_value(const std::string& text, const std::string& name) {
  std::istringstream lines(text);
  std::string line;
  double sum = 0;
  bool found = false;
  while (std::getline(lines, line)) {
    if (line.rfind(name, 0) != 0 || line.size() <= name.size()) continue;
    const char next = line[name.size()];
    if (next != ' ' && next != '{') continue;
    sum += std::strtod(line.substr(line.rfind(' ') + 1).c_str(), nullptr);
    found = true;
  }
  return found ? sum : -1;
}

// Polls `condition` every 20 ms for up to `timeout`; whether it became true.
template <typename Condition>
bool eventually(Condition condition, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

}  // namespace sieve::testing
