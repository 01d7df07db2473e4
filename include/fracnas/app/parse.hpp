// Strict number parsing for option values, shared by the option schema of `fracnas search` and the
// subcommands: every value is read as a string (Boost wraps "-5" into a huge unsigned) and must be
// a plain number. Parses text only; ranges are the caller's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace fracnas::app {

/// A whole number >= 0: digits only. Throws config_error(option) naming the text.
std::uint64_t parse_count(const std::string& option, const std::string& text);
/// parse_count that also fits std::size_t.
std::size_t parse_size(const std::string& option, const std::string& text);
/// A finite decimal number such as 0.5, -3 or 1e-6. Throws config_error(option).
double parse_real(const std::string& option, const std::string& text);

}  // namespace fracnas::app
