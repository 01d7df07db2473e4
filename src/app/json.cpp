#include "fracnas/app/json.hpp"

#include <cmath>
#include <cstdio>
#include <iomanip>
#include <sstream>

namespace fracnas::app {

namespace {

// The length of the well-formed UTF-8 sequence that starts at s[i] (RFC 3629: no overlong
// forms, no surrogates, nothing above U+10FFFF), or 0 if none starts there.
std::size_t utf8_length(const std::string& s, std::size_t i) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char b = byte(i);
    std::size_t n = 0;
    unsigned char lo = 0x80, hi = 0xbf;  // the range allowed for the second byte
    if (b >= 0xc2 && b <= 0xdf)
        n = 2;
    else if (b == 0xe0)
        n = 3, lo = 0xa0;
    else if (b == 0xed)
        n = 3, hi = 0x9f;
    else if (b >= 0xe1 && b <= 0xef)
        n = 3;
    else if (b == 0xf0)
        n = 4, lo = 0x90;
    else if (b >= 0xf1 && b <= 0xf3)
        n = 4;
    else if (b == 0xf4)
        n = 4, hi = 0x8f;
    else
        return 0;
    if (i + n > s.size()) return 0;
    if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
    for (std::size_t k = 2; k < n; ++k)
        if (byte(i + k) < 0x80 || byte(i + k) > 0xbf) return 0;
    return n;
}

}  // namespace

std::string json_string(const std::string& s) {
    std::string q = "\"";
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x80) {
            const std::size_t n = utf8_length(s, i);
            if (n == 0) {
                q += "\\ufffd";  // not UTF-8: the replacement character, as decoders do
            } else {
                q.append(s, i, n);
                i += n - 1;
            }
            continue;
        }
        switch (c) {
            case '"':
                q += "\\\"";
                break;
            case '\\':
                q += "\\\\";
                break;
            case '\n':
                q += "\\n";
                break;
            case '\t':
                q += "\\t";
                break;
            case '\r':
                q += "\\r";
                break;
            default:
                if (u < 0x20) {
                    char esc[7];
                    std::snprintf(esc, sizeof esc, "\\u%04x", static_cast<unsigned>(u));
                    q += esc;
                } else {
                    q += c;
                }
        }
    }
    return q + "\"";
}

std::string json_number(double v, int digits) {
    if (!std::isfinite(v)) return "null";
    std::ostringstream o;
    o << std::setprecision(digits) << v;
    return o.str();
}

}  // namespace fracnas::app
