// The dashboard's single-page app (apps/dashboard/web/), compiled into the binary so that
// `sieve dashboard` needs no files beside it and no network: its own files under web/src and
// uPlot's from npm, generated into a table at build time (embed_web_assets.cmake).
#pragma once

#include <string_view>

namespace sieve::dashboard {

struct WebAsset {
  std::string_view path;          // "/index.html", "/assets/app.js", ...
  std::string_view content_type;  // with charset for text
  std::string_view body;
};

// The asset served at `path` ("/" is "/index.html"), or nullptr.
const WebAsset* find_web_asset(std::string_view path);

}  // namespace sieve::dashboard
