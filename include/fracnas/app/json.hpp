// The one JSON string and number writers of the reports (`analyze --json`, `--jsonl`,
// `eval --json`, `train --json`): standard library only.
#pragma once

#include <string>

namespace fracnas::app {

/// s as a JSON string literal: quoted, with '"' and '\\' escaped, newline, tab and carriage
/// return as \n, \t, \r, and any other control character as \u00XX, so that every message (an
/// exception's text included) reads back as it was. Valid UTF-8 passes through; a byte that
/// does not begin or continue a well-formed UTF-8 sequence (a file name in another encoding)
/// becomes U+FFFD, so the output is always valid JSON text.
std::string json_string(const std::string& s);

/// v as a JSON number with `digits` significant digits (17: a double reads back exactly), or
/// `null` for NaN and the infinities, which JSON cannot hold (a diverged training's loss).
std::string json_number(double v, int digits = 17);

}  // namespace fracnas::app
