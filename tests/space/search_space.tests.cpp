// Tests for space::search_space: layout, level boundaries, round trips, canonical points and
// every validation error (asserted on the message). Random cases use fixed seeds and a local
// portable draw, so they do not depend on the standard library's distributions.
#include "fracnas/space/search_space.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>

#include "fracnas/error.hpp"

using namespace fracnas::space;
using Catch::Contains;

namespace {

// Uniform in [0, 1), 53 bits.
double draw(std::mt19937_64& g) {
    return static_cast<double>(g() >> 11) * 0x1.0p-53;
}
// Uniform integer in [0, n); the modulo bias is irrelevant here.
std::uint64_t draw_below(std::mt19937_64& g, std::uint64_t n) {
    return g() % n;
}

constexpr double infinity = std::numeric_limits<double>::infinity();
constexpr double not_a_number = std::numeric_limits<double>::quiet_NaN();

// A real that real_range{lo, hi} decodes some coordinate to: lo + u*(hi - lo), u in [0, 1).
// Only such values can round-trip exactly (see search_space.hpp).
double draw_real(std::mt19937_64& g, double lo, double hi) {
    return lo + draw(g) * (hi - lo);
}

// The GPT-like space of the brief.
search_space gpt_space() {
    return search_space{{
        int_range{"n_layer", 2, 24, 1},
        int_range{"d_model", 128, 2048, 64},
        layer_array{"d_inner", "n_layer", int_range{"", 256, 8192, 64}},
        layer_array{"n_head", "n_layer", categorical{"", {"2", "4", "8"}}},
    }};
}

// Every kind, every element kind, an array that can be empty, and awkward real bounds.
search_space mixed_space() {
    search_space s;
    s.add(int_range{"depth", 0, 5, 1})
        .add(int_range{"width", -96, 96, 32})
        .add(real_range{"lr_log10", -5.0, -1.0})
        .add(real_range{"skew", -1000.0, 0.7})
        .add(categorical{"act", {"gelu", "relu", "silu"}})
        .add(layer_array{"ff", "depth", int_range{"ignored", 1, 7, 2}})
        .add(layer_array{"drop", "depth", real_range{"", 0.1, 0.7}})
        .add(layer_array{"kind", "depth", categorical{"", {"attn", "conv"}}});
    return s;
}

// A random valid assignment of mixed_space(), built from values (not from coordinates).
assignment random_mixed(std::mt19937_64& g) {
    const auto depth = static_cast<std::int64_t>(draw_below(g, 6));
    std::vector<std::int64_t> ff;
    std::vector<double> drop;
    std::vector<std::string> kind;
    for (std::int64_t i = 0; i < depth; ++i) {
        ff.push_back(1 + 2 * static_cast<std::int64_t>(draw_below(g, 4)));
        drop.push_back(draw_real(g, 0.1, 0.7));
        kind.push_back(draw_below(g, 2) == 0 ? "attn" : "conv");
    }
    return assignment{{"depth", depth},
                      {"width", -96 + 32 * static_cast<std::int64_t>(draw_below(g, 7))},
                      {"lr_log10", draw_real(g, -5.0, -1.0)},
                      {"skew", draw_below(g, 5) == 0 ? 0.7 : draw_real(g, -1000.0, 0.7)},
                      {"act", std::string(draw_below(g, 2) == 0 ? "gelu" : "silu")},
                      {"ff", ff},
                      {"drop", drop},
                      {"kind", kind}};
}

std::vector<double> random_point(std::mt19937_64& g, std::size_t d) {
    std::vector<double> x(d);
    for (double& xi : x) xi = draw(g);
    return x;
}

}  // namespace

// The brief asked for dim() = 2 + 23 + 23, but n_layer = 24 needs 24 per-layer values: an
// array has max_len = hi of its length variable (24) coordinates, not one per level (23).
TEST_CASE("the GPT-like space has 2 + 24 + 24 coordinates", "[space]") {
    const search_space s = gpt_space();
    CHECK(s.size() == 4);
    CHECK(s.dim() == 2 + 24 + 24);
    CHECK(s.names() == std::vector<std::string>{"n_layer", "d_model", "d_inner", "n_head"});
    REQUIRE(s.coordinate_names().size() == s.dim());
    CHECK(s.coordinate_names()[0] == "n_layer");
    CHECK(s.coordinate_names()[1] == "d_model");
    CHECK(s.coordinate_names()[2] == "d_inner[0]");
    CHECK(s.coordinate_names()[25] == "d_inner[23]");
    CHECK(s.coordinate_names()[26] == "n_head[0]");
    CHECK(s.coordinate_names()[49] == "n_head[23]");

    // n_layer has 23 levels: x = 1/23 is level 1 -> 3 layers; d_model x = 0.2 -> level 6 of 31.
    std::vector<double> x(s.dim(), 0.0);
    x[0] = 1.0 / 23.0;
    x[1] = 0.2;
    x[2] = 1.0;   // d_inner[0] = 8192
    x[4] = 0.5;   // d_inner[2]: 125 levels, 62 -> 256 + 62*64
    x[5] = 1.0;   // inactive
    x[27] = 0.5;  // n_head[1]
    x[28] = 0.9;
    const assignment a = s.decode(x);
    CHECK(to_string(a) == "n_layer=3 d_model=512 d_inner=[8192,256,4224] n_head=[2,4,8]");
    CHECK(a.get_ints("d_inner").size() == 3);
}

TEST_CASE("builder and vector construction give the same space", "[space]") {
    search_space built;
    built.add(int_range{"n_layer", 2, 24, 1})
        .add(int_range{"d_model", 128, 2048, 64})
        .add(layer_array{"d_inner", "n_layer", int_range{"", 256, 8192, 64}})
        .add(layer_array{"n_head", "n_layer", categorical{"", {"2", "4", "8"}}});
    const search_space listed = gpt_space();
    CHECK(built.dim() == listed.dim());
    CHECK(built.coordinate_names() == listed.coordinate_names());
    std::mt19937_64 g(7);
    for (int i = 0; i < 50; ++i) {
        const auto x = random_point(g, built.dim());
        CHECK(built.decode(x) == listed.decode(x));
    }
}

TEST_CASE("level boundaries: x = 0 -> lo, x = 1 -> hi, k/n starts level k", "[space]") {
    // 49 levels: 1.0/49*49 rounds below 1, a classic floor(x*n) trap.
    for (const std::int64_t n : {1, 2, 3, 7, 10, 23, 49, 98, 1000}) {
        const search_space s{{int_range{"v", 10, 10 + 3 * (n - 1), 3}}};
        CHECK(s.decode({0.0}).get_int("v") == 10);
        CHECK(s.decode({1.0}).get_int("v") == 10 + 3 * (n - 1));
        CHECK(s.decode({std::nextafter(1.0, 0.0)}).get_int("v") == 10 + 3 * (n - 1));
        for (std::int64_t k = 1; k < n; ++k) {
            const double edge = static_cast<double>(k) / static_cast<double>(n);
            INFO("n = " << n << ", k = " << k);
            CHECK(s.decode({edge}).get_int("v") == 10 + 3 * k);
            CHECK(s.decode({std::nextafter(edge, 0.0)}).get_int("v") == 10 + 3 * (k - 1));
        }
        for (std::int64_t k = 0; k < n; ++k) {
            const double centre = (static_cast<double>(k) + 0.5) / static_cast<double>(n);
            CHECK(s.encode({{"v", 10 + 3 * k}}) == std::vector<double>{centre});
        }
    }
    const search_space c{{categorical{"c", {"a", "b", "c"}}}};
    CHECK(c.decode({0.0}).get_string("c") == "a");
    CHECK(c.decode({std::nextafter(1.0 / 3.0, 0.0)}).get_string("c") == "a");
    CHECK(c.decode({1.0 / 3.0}).get_string("c") == "b");
    CHECK(c.decode({std::nextafter(2.0 / 3.0, 0.0)}).get_string("c") == "b");
    CHECK(c.decode({2.0 / 3.0}).get_string("c") == "c");
    CHECK(c.decode({1.0}).get_string("c") == "c");
    CHECK(c.encode({{"c", "b"}}) == std::vector<double>{0.5});
    CHECK(c.encode({{"c", "c"}}) == std::vector<double>{2.5 / 3.0});
}

TEST_CASE("real_range maps [0,1] linearly and exactly onto [lo, hi]", "[space]") {
    const search_space s{{real_range{"r", 0.1, 0.7}}};
    CHECK(s.decode({0.0}).get_real("r") == 0.1);
    CHECK(s.decode({1.0}).get_real("r") == 0.7);  // 0.1 + (0.7 - 0.1) alone is not 0.7
    CHECK(s.decode({0.5}).get_real("r") == Approx(0.4));
    CHECK(s.encode({{"r", 0.1}}) == std::vector<double>{0.0});
    CHECK(s.encode({{"r", 0.7}}) == std::vector<double>{1.0});
    CHECK(s.encode({{"r", 0.4}})[0] == Approx(0.5));
    // Decimal values come back exactly when some coordinate maps to them, else within a
    // rounding of (hi - lo)*2^-52; either way encoding them again gives the same point.
    for (const double v : {0.1, 0.2, 0.3, 0.35, 0.4, 0.45, 0.6, 0.65, 0.69999999999999996}) {
        INFO("v = " << v);
        const std::vector<double> x = s.encode({{"r", v}});
        const double back = s.decode(x).get_real("r");
        CHECK(std::abs(back - v) <= 0.6 * 0x1.0p-52);
        CHECK(s.canonical(x) == x);
    }
}

TEST_CASE("round trip: decode(encode(a)) == a for random valid assignments", "[space]") {
    const search_space s = mixed_space();
    CHECK(s.dim() == 5 + 3 * 5);
    std::mt19937_64 g(20240601);
    for (int i = 0; i < 2000; ++i) {
        const assignment a = random_mixed(g);
        const std::vector<double> x = s.encode(a);
        INFO(to_string(a));
        REQUIRE(x.size() == s.dim());
        REQUIRE(s.decode(x) == a);
        REQUIRE(s.encode(s.decode(x)) == x);
    }

    const search_space gpt = gpt_space();
    std::mt19937_64 h(42);
    for (int i = 0; i < 500; ++i) {
        const auto n = 2 + static_cast<std::int64_t>(draw_below(h, 23));
        std::vector<std::int64_t> d_inner;
        std::vector<std::string> n_head;
        for (std::int64_t l = 0; l < n; ++l) {
            d_inner.push_back(256 + 64 * static_cast<std::int64_t>(draw_below(h, 125)));
            n_head.push_back(std::to_string(2 << draw_below(h, 3)));
        }
        const assignment a{
            {"n_layer", n}, {"d_model", 128 + 64 * static_cast<std::int64_t>(draw_below(h, 31))}, {"d_inner", d_inner}, {"n_head", n_head}};
        REQUIRE(gpt.decode(gpt.encode(a)) == a);
    }
}

TEST_CASE("real values decoded from any point round-trip exactly, awkward bounds included", "[space]") {
    const search_space s{
        {real_range{"a", -1000.0, 1e-3}, real_range{"b", 1e-300, 1e300}, real_range{"c", -0.3, -0.1}, real_range{"d", 5.0, 5.0}}};
    std::mt19937_64 g(3);
    for (int i = 0; i < 5000; ++i) {
        std::vector<double> x = random_point(g, s.dim());
        // Small coordinates too, where lo + x*(hi - lo) rounds many x to one value.
        for (double& xi : x)
            if (draw_below(g, 3) == 0) xi = std::ldexp(xi, -static_cast<int>(draw_below(g, 60)));
        const assignment a = s.decode(x);
        REQUIRE(s.decode(s.encode(a)) == a);
    }
    // 1e-12 lies far between two neighbouring images (they are ~1e-13 apart near 0 in a range
    // 1000 wide): it encodes to the nearer one.
    const double tiny = 1e-12;
    const double back = s.decode(s.encode({{"a", tiny}, {"b", 1.0}, {"c", -0.2}, {"d", 5.0}})).get_real("a");
    CHECK(back != tiny);
    CHECK(std::abs(back - tiny) <= 1000.0 * 0x1.0p-53);
}

TEST_CASE("canonical is idempotent and keeps the meaning of x", "[space]") {
    for (const search_space& s : {gpt_space(), mixed_space()}) {
        std::mt19937_64 g(99);
        for (int i = 0; i < 2000; ++i) {
            const std::vector<double> x = random_point(g, s.dim());
            const std::vector<double> c = s.canonical(x);
            REQUIRE(c.size() == s.dim());
            REQUIRE(s.decode(c) == s.decode(x));
            REQUIRE(s.canonical(c) == c);
        }
    }
}

TEST_CASE("points that differ only in inactive coordinates have equal canonical points", "[space]") {
    const search_space s = gpt_space();
    std::mt19937_64 g(11);
    for (int i = 0; i < 200; ++i) {
        std::vector<double> x = random_point(g, s.dim());
        std::vector<double> y = x;
        const auto active = static_cast<std::size_t>(s.decode(x).get_int("n_layer"));
        for (std::size_t l = active; l < 24; ++l) {
            y[2 + l] = draw(g);
            y[26 + l] = draw(g);
        }
        REQUIRE(s.decode(x) == s.decode(y));
        const std::vector<double> cx = s.canonical(x);
        REQUIRE(cx == s.canonical(y));
        for (std::size_t l = active; l < 24; ++l) {
            REQUIRE(cx[2 + l] == 0.5);
            REQUIRE(cx[26 + l] == 0.5);
        }
    }
    // Points in the same level of every discrete variable are the same point.
    std::vector<double> p(s.dim(), 0.001), q(s.dim(), 0.007);  // level 0 of <= 125
    CHECK(s.decode(p) == s.decode(q));
    CHECK(s.canonical(p) == s.canonical(q));
}

TEST_CASE("zero-length arrays and single-level variables", "[space]") {
    const search_space s{{int_range{"depth", 0, 2, 1}, int_range{"one", 7, 7, 5}, real_range{"flat", 2.5, 2.5}, categorical{"only", {"x"}},
                          layer_array{"w", "depth", real_range{"", 0.0, 1.0}}}};
    CHECK(s.dim() == 6);
    const assignment a = s.decode({0.1, 0.9, 0.3, 0.7, 0.2, 0.4});
    CHECK(to_string(a) == "depth=0 one=7 flat=2.5 only=x w=[]");
    CHECK(s.canonical({0.1, 0.9, 0.3, 0.7, 0.2, 0.4}) == std::vector<double>{0.5 / 3.0, 0.5, 0.5, 0.5, 0.5, 0.5});
    const search_space none{{int_range{"depth", 0, 0, 1}, layer_array{"w", "depth", categorical{"", {"a"}}}}};
    CHECK(none.dim() == 1);
    CHECK(to_string(none.decode({0.3})) == "depth=0 w=[]");
    CHECK(search_space{}.dim() == 0);
    CHECK(search_space{}.decode({}).empty());
}

TEST_CASE("invalid declarations throw config_error with one clear sentence", "[space]") {
    using V = std::vector<variable>;
    REQUIRE_THROWS_WITH(search_space(V{int_range{"", 0, 1, 1}}), Contains("an int_range has an empty name"));
    REQUIRE_THROWS_WITH(search_space(V{layer_array{"", "n", int_range{}}}), Contains("a layer_array has an empty name"));
    REQUIRE_THROWS_WITH(search_space(V{int_range{"a", 0, 1, 1}, real_range{"a", 0.0, 1.0}}),
                        Contains("a variable named 'a' is declared twice"));
    REQUIRE_THROWS_WITH(search_space(V{int_range{"a", 5, 3, 1}}), Contains("int_range 'a' has lo = 5 > hi = 3"));
    REQUIRE_THROWS_WITH(search_space(V{real_range{"r", 1.0, 0.5}}), Contains("real_range 'r' has lo = 1 > hi = 0.5"));
    REQUIRE_THROWS_WITH(search_space(V{real_range{"r", 0.0, infinity}}), Contains("real_range 'r' has a bound that is not finite"));
    REQUIRE_THROWS_WITH(search_space(V{real_range{"r", not_a_number, 1.0}}), Contains("real_range 'r' has a bound that is not finite"));
    REQUIRE_THROWS_WITH(search_space(V{real_range{"r", -1e308, 1e308}}), Contains("real_range 'r' has hi - lo too large for a double"));
    REQUIRE_THROWS_WITH(search_space(V{int_range{"a", 0, 10, 0}}), Contains("int_range 'a' has step = 0; step must be positive"));
    REQUIRE_THROWS_WITH(search_space(V{int_range{"a", 0, 10, -2}}), Contains("int_range 'a' has step = -2; step must be positive"));
    REQUIRE_THROWS_WITH(search_space(V{int_range{"a", 128, 2000, 64}}),
                        Contains("int_range 'a' has hi - lo = 1872, which is not a multiple of "
                                 "step = 64"));
    REQUIRE_THROWS_WITH(search_space(V{int_range{"a", INT64_MIN, INT64_MAX, 1}}), Contains("int_range 'a' has more than 2^40 levels"));
    REQUIRE_THROWS_WITH(search_space(V{categorical{"c", {}}}), Contains("categorical 'c' has no choices"));
    REQUIRE_THROWS_WITH(search_space(V{categorical{"c", {"x", "y", "x"}}}), Contains("categorical 'c' lists the choice 'x' twice"));
    REQUIRE_THROWS_WITH(search_space(V{layer_array{"w", "n", int_range{"", 0, 1, 1}}}),
                        Contains("layer_array 'w' has length_of = 'n', which is not declared; declare the "
                                 "length variable before the array"));
    REQUIRE_THROWS_WITH(search_space(V{layer_array{"w", "n", int_range{"", 0, 1, 1}}, int_range{"n", 1, 4, 1}}),
                        Contains("layer_array 'w' has length_of = 'n', which is declared after it; declare the "
                                 "length variable first"));
    REQUIRE_THROWS_WITH(search_space(V{real_range{"n", 1.0, 4.0}, layer_array{"w", "n", int_range{"", 0, 1, 1}}}),
                        Contains("layer_array 'w' has length_of = 'n', which is a real_range, not an int_range"));
    REQUIRE_THROWS_WITH(search_space(V{int_range{"n", -1, 4, 1}, layer_array{"w", "n", int_range{"", 0, 1, 1}}}),
                        Contains("layer_array 'w' has length_of = 'n' with lo = -1; a layer count cannot be "
                                 "negative"));
    REQUIRE_THROWS_WITH(search_space(V{int_range{"n", 0, 1 << 21, 1}, layer_array{"w", "n", int_range{"", 0, 1, 1}}}),
                        Contains("at most 1048576 layers are supported"));
    REQUIRE_THROWS_WITH(search_space(V{int_range{"n", 1, 4, 1}, layer_array{"w", "n", int_range{"", 0, 10, 3}}}),
                        Contains("the element of layer_array 'w' has hi - lo = 10, which is not a multiple of "
                                 "step = 3"));
    REQUIRE_THROWS_WITH(search_space(V{int_range{"n", 1, 4, 1}, layer_array{"w", "n", categorical{"", {}}}}),
                        Contains("the element of layer_array 'w' has no choices"));
}

TEST_CASE("declaration errors carry the field and leave the space unchanged", "[space]") {
    search_space s = gpt_space();
    const auto field_of = [&](const variable& v) {
        try {
            s.add(v);
        } catch (const fracnas::config_error& e) {
            return e.field();
        }
        return std::string("(no throw)");
    };
    CHECK(field_of(int_range{"", 0, 1, 1}) == "int_range.name");
    CHECK(field_of(int_range{"d_model", 0, 1, 1}) == "int_range.name");
    CHECK(field_of(int_range{"a", 2, 1, 1}) == "int_range.lo");
    CHECK(field_of(int_range{"a", 0, 1, 0}) == "int_range.step");
    CHECK(field_of(int_range{"a", 0, 3, 2}) == "int_range.step");
    CHECK(field_of(real_range{"a", 2.0, 1.0}) == "real_range.lo");
    CHECK(field_of(categorical{"a", {}}) == "categorical.choices");
    CHECK(field_of(layer_array{"a", "zz", int_range{}}) == "layer_array.length_of");
    CHECK(field_of(layer_array{"a", "n_layer", int_range{"", 0, 1, 0}}) == "layer_array.element.step");
    CHECK(s.dim() == 50);
    CHECK(s.size() == 4);
}

TEST_CASE("decode rejects points outside the unit cube", "[space]") {
    const search_space s = gpt_space();
    const auto field_of = [&](const std::vector<double>& x) {
        try {
            (void)s.decode(x);
        } catch (const fracnas::config_error& e) {
            return e.field();
        }
        return std::string("(no throw)");
    };
    std::vector<double> x(s.dim(), 0.5);
    REQUIRE_THROWS_WITH(s.decode(std::vector<double>(49, 0.5)), Contains("x has 49 coordinates but the search space has 50"));
    CHECK(field_of(std::vector<double>(51, 0.5)) == "x");
    x[5] = not_a_number;
    REQUIRE_THROWS_WITH(s.decode(x), Contains("x[5] (d_inner[3]) is NaN"));
    CHECK(field_of(x) == "x");
    x[5] = 1.5;
    REQUIRE_THROWS_WITH(s.decode(x), Contains("x[5] (d_inner[3]) = 1.5 is outside [0, 1]"));
    x[5] = -0.25;
    REQUIRE_THROWS_WITH(s.decode(x), Contains("x[5] (d_inner[3]) = -0.25 is outside [0, 1]"));
    x[5] = std::nextafter(1.0, 2.0);
    REQUIRE_THROWS_WITH(s.decode(x), Contains("is outside [0, 1]"));
    x[5] = -infinity;
    REQUIRE_THROWS_WITH(s.decode(x), Contains("x[5] (d_inner[3]) = -inf is outside [0, 1]"));
    REQUIRE_THROWS_WITH(s.canonical(x), Contains("is outside [0, 1]"));
}

TEST_CASE("encode rejects values the space cannot represent", "[space]") {
    const search_space s{{int_range{"n_layer", 2, 4, 1}, int_range{"d_model", 128, 2048, 64}, real_range{"drop", 0.0, 0.3},
                          categorical{"act", {"gelu", "relu"}}, layer_array{"d_inner", "n_layer", int_range{"", 256, 8192, 64}},
                          layer_array{"n_head", "n_layer", categorical{"", {"2", "4", "8"}}}}};
    const assignment good{{"n_layer", std::int64_t{2}},
                          {"d_model", std::int64_t{512}},
                          {"drop", 0.1},
                          {"act", "gelu"},
                          {"d_inner", std::vector<std::int64_t>{1024, 2048}},
                          {"n_head", std::vector<std::string>{"2", "8"}}};
    REQUIRE(s.decode(s.encode(good)) == good);
    const auto with = [&](const std::string& name, value v) {
        assignment a = good;
        a.set(name, std::move(v));
        return a;
    };
    assignment missing;
    for (const auto& it : good.items())
        if (it.first != "drop") missing.set(it.first, it.second);

    REQUIRE_THROWS_WITH(s.encode(missing), Contains("the assignment has no value for 'drop'"));
    REQUIRE_THROWS_WITH(s.encode(with("dropout", 0.1)), Contains("the assignment names 'dropout', which is not a variable of "
                                                                 "the search space"));
    REQUIRE_THROWS_WITH(s.encode(with("d_model", 512.0)), Contains("'d_model' must be an integer, got a real"));
    REQUIRE_THROWS_WITH(s.encode(with("d_model", std::int64_t{500})), Contains("d_model = 500 is not on the grid 128, 128+64, ..., 2048"));
    REQUIRE_THROWS_WITH(s.encode(with("d_model", std::int64_t{4096})), Contains("d_model = 4096 is outside [128, 2048]"));
    REQUIRE_THROWS_WITH(s.encode(with("d_model", std::int64_t{64})), Contains("d_model = 64 is outside [128, 2048]"));
    REQUIRE_THROWS_WITH(s.encode(with("drop", 0.5)), Contains("drop = 0.5 is outside [0, 0.3]"));
    REQUIRE_THROWS_WITH(s.encode(with("drop", -0.01)), Contains("drop = -0.01 is outside [0, 0.3]"));
    REQUIRE_THROWS_WITH(s.encode(with("drop", not_a_number)), Contains("drop is NaN"));
    REQUIRE_THROWS_WITH(s.encode(with("act", "tanh")), Contains("act = 'tanh' is not one of the choices {gelu, relu}"));
    REQUIRE_THROWS_WITH(s.encode(with("act", std::int64_t{0})), Contains("'act' must be a string, got an integer"));
    REQUIRE_THROWS_WITH(s.encode(with("d_inner", std::vector<std::int64_t>{1024})), Contains("'d_inner' has 1 items but n_layer = 2"));
    REQUIRE_THROWS_WITH(s.encode(with("n_head", std::vector<std::string>{"2", "4", "8"})),
                        Contains("'n_head' has 3 items but n_layer = 2"));
    REQUIRE_THROWS_WITH(s.encode(with("d_inner", std::vector<std::int64_t>{1024, 100})),
                        Contains("d_inner[1] = 100 is outside [256, 8192]"));
    REQUIRE_THROWS_WITH(s.encode(with("d_inner", std::vector<std::int64_t>{1000, 1024})),
                        Contains("d_inner[0] = 1000 is not on the grid 256, 256+64, ..., 8192"));
    REQUIRE_THROWS_WITH(s.encode(with("n_head", std::vector<std::string>{"2", "16"})),
                        Contains("n_head[1] = '16' is not one of the choices {2, 4, 8}"));
    REQUIRE_THROWS_WITH(s.encode(with("d_inner", std::vector<double>{1024.0, 2048.0})),
                        Contains("'d_inner' must be an integer array, got a real array"));
    REQUIRE_THROWS_WITH(s.encode(with("d_inner", std::int64_t{1024})), Contains("'d_inner' must be an integer array, got an integer"));
    try {
        (void)s.encode(with("d_inner", std::vector<std::int64_t>{1024, 100}));
        FAIL("encode must throw");
    } catch (const fracnas::config_error& e) {
        CHECK(e.field() == "d_inner");
    }
}

TEST_CASE("levels per coordinate: integers and choices count theirs, array items their element's, reals 0", "[space]") {
    const search_space s({int_range{"n_layer", 1, 3, 1}, real_range{"dropout", 0.0, 0.3},
                          layer_array{"d_inner", "n_layer", int_range{"", 256, 1024, 256}},
                          layer_array{"act", "n_layer", categorical{"", {"gelu", "relu"}}}});
    REQUIRE(s.dim() == 8);
    const std::vector<std::uint64_t> expected = {3, 0, 4, 4, 4, 2, 2, 2};
    for (std::size_t i = 0; i < s.dim(); ++i) REQUIRE(s.levels(i) == expected[i]);
    REQUIRE_THROWS_AS(s.levels(8), fracnas::config_error);
}
