// app::json_string: the one JSON string writer of the reports.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
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

TEST_CASE("json_string replaces bytes that are not UTF-8, so the text stays valid JSON", "[app][json]") {
    // a Latin-1 file name, a lone continuation byte, a truncated sequence, an overlong '/', a surrogate
    REQUIRE(json_string("run-\xe9t\xe9.h5") == "\"run-\\ufffdt\\ufffd.h5\"");
    REQUIRE(json_string("a\x80z") == "\"a\\ufffdz\"");
    REQUIRE(json_string("cut \xe2\x86") == "\"cut \\ufffd\\ufffd\"");
    REQUIRE(json_string("\xc0\xaf") == "\"\\ufffd\\ufffd\"");
    REQUIRE(json_string("\xed\xa0\x80") == "\"\\ufffd\\ufffd\\ufffd\"");
    REQUIRE(json_string("\xf4\x90\x80\x80") == "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");  // above U+10FFFF
    REQUIRE(json_string("\xf0\x9f\x99\x82 ok") == "\"\xf0\x9f\x99\x82 ok\"");        // a 4-byte one is kept
}

TEST_CASE("json_number writes null for what JSON cannot hold and reads back exactly otherwise", "[app][json]") {
    using fracnas::app::json_number;
    REQUIRE(json_number(std::nan("")) == "null");
    REQUIRE(json_number(std::numeric_limits<double>::infinity()) == "null");
    REQUIRE(json_number(-std::numeric_limits<double>::infinity()) == "null");
    REQUIRE(json_number(0.1) == "0.10000000000000001");
    REQUIRE(std::stod(json_number(97.76964850123)) == 97.76964850123);
    REQUIRE(json_number(4.58261419, 6) == "4.58261");
    REQUIRE(json_number(16000000) == "16000000");
}
