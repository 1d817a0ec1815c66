#include "sieve/serve/route.h"

#include <algorithm>
#include <charconv>
#include <sstream>

#include "sieve/core/error.h"

namespace sieve::serve {
namespace {

// FNV-1a, then a SplitMix64 finaliser so nearby keys spread over the whole range.
std::uint64_t key_hash(const std::string& route, const std::string& key) {
  std::uint64_t h = 1469598103934665603ull;
  const auto mix = [&](const std::string& text) {
    for (const unsigned char c : text) h = (h ^ c) * 1099511628211ull;
  };
  mix(route);
  h = (h ^ 0xFFu) * 1099511628211ull;  // separator: ("ab", "c") and ("a", "bc") differ
  mix(key);
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  return h ^ (h >> 31);
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::stringstream stream(text);
  for (std::string part; std::getline(stream, part, separator);) parts.push_back(part);
  return parts;
}

}  // namespace

Route Route::parse(const std::string& name, const std::string& spec) {
  SIEVE_USER_CHECK(!name.empty(), "a route needs a name");
  Route route;
  route.name = name;
  const auto named = [&](const std::string& model) {
    return model == route.shadow || std::any_of(route.variants.begin(), route.variants.end(),
                                                [&](const RouteVariant& v) { return v.model == model; });
  };
  for (const std::string& part : split(spec, ',')) {
    if (part.starts_with("shadow=")) {
      SIEVE_USER_CHECK(route.shadow.empty(), "route '{}': more than one shadow in '{}'", name, spec);
      const std::string model = part.substr(7);
      SIEVE_USER_CHECK(!model.empty() && !named(model), "route '{}': bad shadow '{}' in '{}'", name, model, spec);
      route.shadow = model;
      continue;
    }
    const auto colon = part.rfind(':');
    SIEVE_USER_CHECK(colon != std::string::npos && colon > 0,
                     "route '{}': '{}' is not MODEL:WEIGHT (spec '{}', e.g. 'a:90,b:10,shadow=c')", name, part, spec);
    RouteVariant variant{part.substr(0, colon), 0};
    const std::string weight = part.substr(colon + 1);
    const auto [end, error] = std::from_chars(weight.data(), weight.data() + weight.size(), variant.weight);
    SIEVE_USER_CHECK(error == std::errc() && end == weight.data() + weight.size() && variant.weight > 0 &&
                         variant.weight <= 1000000,
                     "route '{}': the weight of '{}' must be an integer in [1, 1000000], got '{}'", name,
                     variant.model, weight);
    SIEVE_USER_CHECK(!named(variant.model), "route '{}': '{}' is named twice", name, variant.model);
    route.variants.push_back(std::move(variant));
  }
  SIEVE_USER_CHECK(!route.variants.empty(), "route '{}': no weighted models in '{}' (e.g. 'a:90,b:10')", name, spec);
  return route;
}

std::string Route::spec() const {
  std::string text;
  for (const RouteVariant& variant : variants)
    text += (text.empty() ? "" : ",") + variant.model + ":" + std::to_string(variant.weight);
  if (!shadow.empty()) text += ",shadow=" + shadow;
  return text;
}

const RouteVariant& Route::pick(const std::string& client_key, core::Rng& rng) const {
  std::int64_t total = 0;
  for (const RouteVariant& variant : variants) total += variant.weight;
  const auto bound = static_cast<std::uint64_t>(total);
  auto point = static_cast<std::int64_t>(client_key.empty() ? rng.below(bound) : key_hash(name, client_key) % bound);
  for (const RouteVariant& variant : variants) {
    if (point < variant.weight) return variant;
    point -= variant.weight;
  }
  return variants.back();
}

}  // namespace sieve::serve
