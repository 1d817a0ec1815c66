#include "apps/dashboard/serving/serving_watch.h"

#include <httplib.h>

#include <charconv>

#include "sieve/core/error.h"
#include "sieve/train/metrics_log.h"

namespace sieve::dashboard {
namespace {

// A scrape larger than this is not a Sieve server's metrics.
constexpr std::size_t kMaxMetricsBytes = 8 << 20;
constexpr std::time_t kConnectSeconds = 1;
constexpr std::time_t kReadSeconds = 2;

}  // namespace

std::pair<std::string, int> parse_serve_url(const std::string& url) {
  constexpr std::string_view kScheme = "http://";
  std::string_view rest = url;
  SIEVE_USER_CHECK(rest.starts_with(kScheme), "--serve '{}': give the server's address as http://HOST:PORT", url);
  rest.remove_prefix(kScheme.size());
  if (rest.ends_with('/')) rest.remove_suffix(1);
  const std::size_t colon = rest.rfind(':');
  SIEVE_USER_CHECK(colon != std::string_view::npos && colon > 0 && rest.find('/') == std::string_view::npos,
                   "--serve '{}': give the server's address as http://HOST:PORT", url);
  std::string host(rest.substr(0, colon));
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  int port = 0;
  const std::string_view port_text = rest.substr(colon + 1);
  const auto [end, error] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  SIEVE_USER_CHECK(error == std::errc() && end == port_text.data() + port_text.size() && port > 0 && port <= 65535,
                   "--serve '{}': bad port", url);
  return {host, port};
}

ServingWatch::ServingWatch(std::vector<std::string> urls, std::chrono::milliseconds interval) : interval_(interval) {
  for (std::string& url : urls) {
    const auto [host, port] = parse_serve_url(url);
    Target target;
    target.url = std::move(url);
    target.host = host;
    target.port = port;
    targets_.push_back(std::move(target));
  }
  if (!targets_.empty()) thread_ = std::thread([this] { run(); });
}

ServingWatch::~ServingWatch() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ServingWatch::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    for (Target& target : targets_) {
      lock.unlock();  // host and port never change: the scrape needs no lock
      std::string error;
      std::optional<ServingSnapshot> snapshot = scrape(target.host, target.port, error);
      lock.lock();
      if (stopping_) return;
      target.up = snapshot.has_value();
      target.error = std::move(error);
      if (!snapshot) continue;
      if (target.latest) {
        target.history.push_back(history_point(*target.latest, *snapshot));
        if (target.history.size() > kHistoryPoints) target.history.pop_front();
      }
      target.latest = std::move(snapshot);
    }
    wake_.wait_for(lock, interval_, [this] { return stopping_; });
  }
}

std::optional<ServingSnapshot> ServingWatch::scrape(const std::string& host, int port, std::string& error) {
  httplib::Client client(host, port);
  client.set_connection_timeout(kConnectSeconds, 0);
  client.set_read_timeout(kReadSeconds, 0);
  std::string body;
  bool too_large = false;
  const auto reply = client.Get("/metrics", [&](const char* data, std::size_t size) {
    too_large = body.size() + size > kMaxMetricsBytes;
    if (!too_large) body.append(data, size);
    return !too_large;
  });
  try {
    SIEVE_USER_CHECK(!too_large, "its /metrics is larger than {} bytes", kMaxMetricsBytes);
    SIEVE_USER_CHECK(static_cast<bool>(reply), "no answer ({})", httplib::to_string(reply.error()));
    SIEVE_USER_CHECK(reply->status == 200, "/metrics answered HTTP {}", reply->status);
    return serving_snapshot(parse_prometheus_text(body), train::unix_time_seconds());
  } catch (const core::UserError& failure) {
    error = failure.what();
    return std::nullopt;
  }
}

nlohmann::json ServingWatch::view() const {
  std::lock_guard lock(mutex_);
  nlohmann::json targets = nlohmann::json::array();
  for (const Target& target : targets_) {
    nlohmann::json entry = target.latest ? snapshot_json(*target.latest) : nlohmann::json::object();
    entry["url"] = target.url;
    entry["up"] = target.up;
    entry["error"] = target.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(target.error);
    entry["updated_unix_time"] = target.latest ? nlohmann::json(target.latest->unix_time) : nlohmann::json(nullptr);
    entry["history"] = nlohmann::json(target.history);
    targets.push_back(std::move(entry));
  }
  return {{"targets", targets}};
}

}  // namespace sieve::dashboard
