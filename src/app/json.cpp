#include "fracnas/app/json.hpp"

#include <cstdio>

namespace fracnas::app {

std::string json_string(const std::string& s) {
    std::string q = "\"";
    for (const char c : s) {
        switch (c) {
            case '"': q += "\\\""; break;
            case '\\': q += "\\\\"; break;
            case '\n': q += "\\n"; break;
            case '\t': q += "\\t"; break;
            case '\r': q += "\\r"; break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    char u[7];
                    std::snprintf(u, sizeof u, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
                    q += u;
                } else {
                    q += c;
                }
        }
    }
    return q + "\"";
}

}  // namespace fracnas::app
