// Names of outcome statuses (archive, messages, progress) and their parser.
#include "fracnas/eval/outcome.hpp"

#include "fracnas/error.hpp"

namespace fracnas::eval {

const char* to_string(outcome_status s) {
    switch (s) {
        case outcome_status::ok: return "ok";
        case outcome_status::invalid: return "invalid";
        case outcome_status::out_of_memory: return "out_of_memory";
        case outcome_status::error: return "error";
        case outcome_status::timeout: return "timeout";
        case outcome_status::device_lost: return "device_lost";
    }
    return "unknown";
}

outcome_status parse_outcome_status(const std::string& name) {
    for (auto s : {outcome_status::ok, outcome_status::invalid, outcome_status::out_of_memory, outcome_status::error,
                   outcome_status::timeout, outcome_status::device_lost})
        if (name == to_string(s)) return s;
    throw config_error("status", "unknown evaluation status '" + name + "'.");
}

}  // namespace fracnas::eval
