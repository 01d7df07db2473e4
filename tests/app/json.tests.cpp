// app::json_string: the one JSON string writer of the reports.
#include <catch2/catch.hpp>

#include <string>

#include "fracnas/app/json.hpp"

using fracnas::app::json_string;

TEST_CASE("json_string escapes quotes, backslashes and every control character", "[app][json]") {
    REQUIRE(json_string("") == "\"\"");
    REQUIRE(json_string("n_layer=2 d_model=1920") == "\"n_layer=2 d_model=1920\"");
    REQUIRE(json_string("say \"no\" to C:\\tmp") == "\"say \\\"no\\\" to C:\\\\tmp\"");
    REQUIRE(json_string("line 1\nline 2\ttab\rend") == "\"line 1\\nline 2\\ttab\\rend\"");
    REQUIRE(json_string(std::string("bell\x07 nul") + '\0' + "!") == "\"bell\\u0007 nul\\u0000!\"");
    REQUIRE(json_string("\x1f") == "\"\\u001f\"");
    REQUIRE(json_string("caf\xc3\xa9 \xe2\x86\x92") == "\"caf\xc3\xa9 \xe2\x86\x92\"");  // UTF-8 passes through
}
