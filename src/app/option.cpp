// What every option table shares that is not a template: numbers written so that they read back
// exactly, the text and the error of a range, and the one error of an enum-like value.
#include "fracnas/app/option.hpp"

#include <cmath>
#include <cstdlib>
#include <iomanip>
#include <sstream>

namespace fracnas::app {

std::string decimal(double v) {
    std::ostringstream o;
    if (v == std::trunc(v) && std::fabs(v) < 1e17) {  // whole: in full, as 17 digits print it ("10000000", not "1e+07")
        o << std::setprecision(17) << v;
        return o.str();
    }
    for (int digits = 1; digits < 17; ++digits) {  // the fewest digits that give v again ("0.0006", not 0.00059999999999999995)
        o.str("");
        o << std::setprecision(digits) << v;
        if (std::strtod(o.str().c_str(), nullptr) == v) return o.str();
    }
    o.str("");
    o << std::setprecision(17) << v;
    return o.str();
}

std::string range_rule(const option_range& r) {
    if (r.lo_open) return "in (" + decimal(r.lo) + ", " + decimal(r.hi) + "]";
    const std::string interval = r.hi == unbounded ? "at least " + decimal(r.lo) : decimal(r.lo) + ".." + decimal(r.hi);
    if (r.step <= 0.0) return interval;
    return "a multiple of " + decimal(r.step) + (r.hi == unbounded ? ", " : " in ") + interval;
}

std::string range_text(const option_range& r) {
    return ", " + range_rule(r);
}

void throw_out_of_range(const std::string& option, const option_range& r) {
    const bool closed = !r.lo_open && r.step <= 0.0 && r.hi != unbounded;
    throw config_error(option, option + " must be " + (closed ? "in " : "") + range_rule(r) + ".");
}

std::size_t parse_choice(const std::string& option, const std::string& text, const char* const* names, std::size_t count) {
    std::string valid;
    for (std::size_t i = 0; i < count; ++i) {
        if (text == names[i]) return i;
        valid += (i == 0 ? "" : ", ") + std::string(names[i]);
    }
    const std::string what = option.rfind("--", 0) == 0 ? option.substr(2) : option;
    throw config_error(option, "unknown " + what + " '" + text + "'; valid: " + valid + ".");
}

std::size_t parse_choice(const std::string& option, const std::string& text, const std::vector<std::string>& names) {
    std::vector<const char*> valid;
    for (const auto& n : names) valid.push_back(n.c_str());
    return parse_choice(option, text, valid.data(), valid.size());
}

}  // namespace fracnas::app
