// The configuration file loader (TOML) from bytes, through parse_config (the entry point
// load_config_file uses once it has read the file). Invariants: it never throws, it either
// parses or says why, with the file name first; parsed settings pass through check_merged
// and apply_command_line without trouble, and every key it reports as given is a known one.
#include "fuzz_check.h"

#include "config/config_file.h"

#include <algorithm>
#include <string>

using namespace ferry;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    auto load = config::parse_config(text, "fuzz.toml");
    if (!load.parsed) {
        FUZZ_CHECK(!load.error.empty());
        FUZZ_CHECK(load.error.rfind("fuzz.toml", 0) == 0);
        return 0;
    }
    FUZZ_CHECK(load.error.empty());
    const auto keys = config::config_keys();
    for (const auto& key : load.given) {
        // A key of the table, or a table ("auth") some key is in.
        const bool known = key == "acl" || std::any_of(keys.begin(), keys.end(), [&](auto k) {
                               return k == key || (k.size() > key.size() && k.starts_with(key) &&
                                                   k[key.size()] == '.');
                           });
        FUZZ_CHECK(known);
    }
    auto merged = *load.parsed;
    const config::settings defaults;
    config::apply_command_line(merged, defaults, [](std::string_view) { return false; });
    const auto problem = config::check_merged(merged, "fuzz.toml");
    if (!problem.empty()) FUZZ_CHECK(problem.rfind("fuzz.toml", 0) == 0);
    return 0;
}
