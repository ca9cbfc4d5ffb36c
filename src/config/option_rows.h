// What the options registry's tables are written with (config/options*.cpp only): the value
// checks shared by many rows, and `row`, which binds a row's text to its setting.
#pragma once

#include "config/field_text.h"
#include "config/options.h"
#include "config/values.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>
#include <initializer_list>

namespace ferry::config::rows {

using namespace field_text;

// An integer lo..hi into any integer field.
inline auto count(long long lo, long long hi) {
    return [lo, hi](std::string_view v, auto& out) -> std::string {
        long long n = 0;
        if (!whole_integer(v, n) || n < lo || n > hi)
            return fmt::format("expected an integer from {} to {}", lo, hi);
        out = static_cast<std::remove_reference_t<decltype(out)>>(n);
        return {};
    };
}

// Seconds (an integer or a fraction), kept in milliseconds: positive, or zero too when
// `zero_ok`; a positive value under a millisecond would become 0 (no wait at all), so it is
// refused, as is one over 10^9 (about 31 years: a typo, not a timeout).
inline auto seconds(bool zero_ok) {
    return [zero_ok](std::string_view v, duration& out) -> std::string {
        double s = 0;
        auto r = std::from_chars(v.data(), v.data() + v.size(), s);
        if (v.empty() || r.ec != std::errc{} || r.ptr != v.data() + v.size() || std::isnan(s))
            return "expected a number of seconds";
        if (zero_ok && s == 0) {
            out = duration(0);
            return {};
        }
        if (!(s > 0))
            return zero_ok ? "expected zero or more seconds"
                           : "expected a positive number of seconds";
        if (s < 0.001) return "expected at least 0.001 seconds (one millisecond)";
        if (s > 1e9) return "expected at most 1000000000 seconds";
        out = duration(static_cast<long long>(s * 1000.0));
        return {};
    };
}

// One of a few words.
inline auto one_of(std::initializer_list<std::string_view> words, std::string_view expected) {
    std::vector<std::string_view> allowed(words);
    return [allowed, expected = std::string(expected)](std::string_view v,
                                                       std::string& out) -> std::string {
        if (std::find(allowed.begin(), allowed.end(), v) == allowed.end()) return expected;
        out = std::string(v);
        return {};
    };
}

// A row: `field` is a member pointer or `[](auto& s) -> auto& { return s.x.y; }`; `read`
// checks a value and stores it there.
template <class Field, class Read>
option row(option_about about, Field field, Read read) {
    return {
        about,
        [field, read](settings& s, std::string_view v) { return read(v, std::invoke(field, s)); },
        [field](const settings& from, settings& to) {
            std::invoke(field, to) = std::invoke(field, from);
        },
        [field](const settings& a, const settings& b) {
            return std::invoke(field, a) == std::invoke(field, b);
        },
        [field](const settings& s) { return to_text(std::invoke(field, s)); },
        nullptr};
}

inline option no_default_shown(option o) {
    o.show = [](const settings&) { return std::string(); };
    return o;
}

using k = value_kind;
constexpr auto live = reload_class::live;
constexpr auto restart = reload_class::restart;

// The groups kept in files of their own.
std::vector<option> egress_options(); // options_egress.cpp

} // namespace ferry::config::rows
