// The admin listener's static files, built into the binary (cmake/web_assets.cmake generates
// the definitions from web/ and the pinned uPlot package): served at /assets/<name>.
#pragma once

#include <span>
#include <string_view>

namespace ferry::web {

struct asset {
    std::string_view name;         // "status.html", "uPlot.iife.min.js"
    std::string_view content_type; // from the extension: "text/javascript; charset=utf-8"
    std::string_view body;
};

// The asset of that name, or null.
const asset* find_asset(std::string_view name);

// Every asset, for tests and listings.
std::span<const asset> assets();

} // namespace ferry::web
