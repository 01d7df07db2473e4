// Tests for space::assignment: insertion order, replacement, lookup, typed access, equality and
// printing. Encoding against a space is tested in search_space.tests.cpp.
#include "fracnas/space/assignment.hpp"

#include <catch2/catch.hpp>

#include "fracnas/error.hpp"

using namespace fracnas::space;
using Catch::Contains;

TEST_CASE("assignment keeps insertion order and set() replaces in place", "[space]") {
    assignment a;
    a.set("n_layer", std::int64_t{3}).set("dropout", 0.1).set("act", "gelu");
    a.set("n_layer", std::int64_t{4});
    REQUIRE(a.size() == 3);
    CHECK(a.items()[0].first == "n_layer");
    CHECK(a.items()[1].first == "dropout");
    CHECK(a.items()[2].first == "act");
    CHECK(a.get_int("n_layer") == 4);
    CHECK(a.get_real("dropout") == 0.1);
    CHECK(a.get_string("act") == "gelu");
    CHECK(a.contains("act"));
    CHECK_FALSE(a.contains("missing"));
    CHECK(a.find("missing") == nullptr);
}

TEST_CASE("assignment typed access throws config_error naming the variable", "[space]") {
    const assignment a{{"n_layer", std::int64_t{3}},
                       {"d_inner", std::vector<std::int64_t>{1024, 2048, 512}},
                       {"n_head", std::vector<std::string>{"2", "4", "8"}},
                       {"drop", std::vector<double>{0.0, 0.5, 0.25}}};
    CHECK(a.get_ints("d_inner") == std::vector<std::int64_t>{1024, 2048, 512});
    CHECK(a.get_strings("n_head") == std::vector<std::string>{"2", "4", "8"});
    CHECK(a.get_reals("drop") == std::vector<double>{0.0, 0.5, 0.25});
    REQUIRE_THROWS_WITH(a.at("d_model"), Contains("no value named 'd_model'"));
    REQUIRE_THROWS_WITH(a.get_real("n_layer"), Contains("'n_layer' is an integer, not a real"));
    REQUIRE_THROWS_WITH(a.get_int("d_inner"), Contains("'d_inner' is an integer array, not an integer"));
    REQUIRE_THROWS_WITH(a.get_strings("drop"), Contains("is a real array, not a string array"));
    try {
        (void)a.get_int("d_model");
        FAIL("get_int on a missing name must throw");
    } catch (const fracnas::config_error& e) {
        CHECK(e.field() == "d_model");
    }
}

TEST_CASE("assignment equality ignores order and compares values exactly", "[space]") {
    const assignment a{{"x", std::int64_t{1}}, {"y", 0.5}};
    const assignment b{{"y", 0.5}, {"x", std::int64_t{1}}};
    CHECK(a == b);
    CHECK_FALSE(a != b);
    CHECK(a != assignment{{"x", std::int64_t{1}}, {"y", 0.25}});
    CHECK(a != assignment{{"x", std::int64_t{1}}});
    CHECK(a != assignment{{"x", std::int64_t{1}}, {"z", 0.5}});
    CHECK(a != assignment{{"x", 1.0}, {"y", 0.5}});  // int 1 and real 1.0 differ
    CHECK(assignment{} == assignment{});
}

TEST_CASE("to_string prints one readable line", "[space]") {
    const assignment a{{"n_layer", std::int64_t{3}},
                       {"d_model", std::int64_t{512}},
                       {"d_inner", std::vector<std::int64_t>{1024, 1536, 2048}},
                       {"n_head", std::vector<std::string>{"2", "4", "8"}},
                       {"dropout", 0.1},
                       {"act", "gelu"},
                       {"none", std::vector<double>{}}};
    CHECK(to_string(a) ==
          "n_layer=3 d_model=512 d_inner=[1024,1536,2048] n_head=[2,4,8] dropout=0.1 act=gelu "
          "none=[]");
    CHECK(to_string(value{-7.25}) == "-7.25");
    CHECK(to_string(value{std::vector<double>{0.5, 1e-9}}) == "[0.5,1e-09]");
    CHECK(to_string(assignment{}).empty());
}
