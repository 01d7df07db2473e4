// The one JSON string writer of the reports (`analyze --json`, `--jsonl`, `eval --json`,
// `train --json`): standard library only.
#pragma once

#include <string>

namespace fracnas::app {

/// s as a JSON string literal: quoted, with '"' and '\\' escaped, newline, tab and carriage
/// return as \n, \t, \r, and any other control character as \u00XX, so that every message (an
/// exception's text included) reads back as it was.
std::string json_string(const std::string& s);

}  // namespace fracnas::app
