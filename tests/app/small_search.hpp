// The small search the app tests run: the analytic latency model over a homogeneous space of at
// most 8 layers and width 1280, no progress lines. Only a configuration; each test picks its context.
#pragma once

#include <cstdint>

#include "fracnas/app/search_config.hpp"

namespace fracnas::testing {

inline app::search_config small_config(std::uint64_t budget) {
    app::search_config c;
    c.evaluator = app::evaluator_kind::model;
    c.space = app::space_kind::homogeneous;
    c.max_layers = 8;
    c.max_width = 1280;
    c.budget = budget;
    c.progress_every = 1000000;
    c.validate();
    return c;
}

}  // namespace fracnas::testing
