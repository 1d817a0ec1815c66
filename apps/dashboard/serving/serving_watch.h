// The dashboard's watch over `sieve serve` instances (--serve URL): a thread scrapes each one's
// public /metrics every interval and keeps its latest snapshot and a bounded history of rates,
// for GET /api/serving. Only URLs from the command line are fetched, never ones from requests.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/dashboard/serving/serving_snapshot.h"

namespace sieve::dashboard {

// "http://HOST:PORT" (an optional trailing '/'): the host and port; core::UserError otherwise.
std::pair<std::string, int> parse_serve_url(const std::string& url);

class ServingWatch {
 public:
  // History points kept per target: 30 minutes at the default interval.
  static constexpr std::size_t kHistoryPoints = 900;

  // Checks every URL (parse_serve_url) and starts scraping; nothing runs without URLs.
  explicit ServingWatch(std::vector<std::string> urls,
                        std::chrono::milliseconds interval = std::chrono::milliseconds(2000));
  ~ServingWatch();
  ServingWatch(const ServingWatch&) = delete;
  ServingWatch& operator=(const ServingWatch&) = delete;

  // {"targets":[{"url","up","error","updated_unix_time","models","gauges","variants","refused","history"}]}
  nlohmann::json view() const;

 private:
  struct Target {
    std::string url;
    std::string host;
    int port = 0;
    bool up = false;
    std::string error;
    std::optional<ServingSnapshot> latest;
    std::deque<nlohmann::json> history;
  };
  void run();
  // One scrape of host:port's /metrics; none (and `error` says why) when it fails.
  static std::optional<ServingSnapshot> scrape(const std::string& host, int port, std::string& error);

  std::chrono::milliseconds interval_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::vector<Target> targets_;
  std::thread thread_;
};

}  // namespace sieve::dashboard
