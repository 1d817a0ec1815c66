// A/B and canary traffic splitting: a route is a public name whose requests go to one of
// several models by weight, the same model every time for one client key (sticky), with an
// optional shadow model that gets a copy of each request and whose answer is discarded.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sieve/core/rng.h"

namespace sieve::serve {

struct RouteVariant {
  std::string model;
  std::int64_t weight = 0;
};

struct Route {
  std::string name;
  std::vector<RouteVariant> variants;
  std::string shadow;  // empty: none

  // "a:90,b:10[,shadow=c]". Throws core::UserError naming what is wrong (weights must be
  // positive integers, each model named once, the shadow not also a variant).
  static Route parse(const std::string& name, const std::string& spec);
  std::string spec() const;

  // The variant for `client_key`: a hash of the route name and key picks a point on the weight
  // line, so one key always lands on one variant while the weights stay. An empty key draws a
  // random point from `rng`.
  const RouteVariant& pick(const std::string& client_key, core::Rng& rng) const;
};

}  // namespace sieve::serve
