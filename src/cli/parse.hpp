// Strict number parsing for option values, shared by the subcommands: app's (the search's option
// schema parses with it too), named here so that every subcommand reads numbers one way.
#pragma once

#include "fracnas/app/parse.hpp"

namespace fracnas::cli {

using app::parse_count;
using app::parse_real;
using app::parse_size;

}  // namespace fracnas::cli
