// Tests for eval/objectives.hpp: optima, hand-computed values, the wrappers' determinism and
// statistics, evaluate()'s failure handling, and the messages of every error path.
// Statistical checks use fixed seeds and loose bounds; nothing here is timed.
#include "fracnas/eval/objectives.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "fracnas/core/rng.hpp"

using fracnas::config_error;
using fracnas::core::point;
using fracnas::eval::evaluate;
using fracnas::eval::make_objective;
using fracnas::eval::objective_names;
using fracnas::eval::objective_options;

namespace {

point random_point(fracnas::core::rng& rng, std::size_t dim) {
    point u(dim);
    for (double& x : u) x = rng.uniform();
    return u;
}

// The field() of the config_error that fn throws, or "" when it throws none.
std::string config_field(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const config_error& e) {
        return e.field();
    }
    return "";
}

// The optimum with coordinate i moved by delta (in unit-cube units).
point moved(const point& optimum, std::size_t i, double delta) {
    point u = optimum;
    u[i] += delta;
    return u;
}

// A user objective that misbehaves in a chosen way, to exercise evaluate().
class misbehaving final : public fracnas::eval::objective {
public:
    enum class mode { throw_int, throw_std, nan, infinity, ok };
    explicit misbehaving(mode m) : objective(2), mode_(m) {}
    std::string name() const override { return "misbehaving"; }
    double optimum_value() const override { return 0.0; }
    point optimum() const override { return point(2, 0.5); }

protected:
    double value(const point& u) const override {
        switch (mode_) {
            case mode::throw_int:
                throw 42;
            case mode::throw_std:
                throw std::logic_error("user code broke");
            case mode::nan:
                return std::numeric_limits<double>::quiet_NaN();
            case mode::infinity:
                return std::numeric_limits<double>::infinity();
            case mode::ok:
                break;
        }
        return u[0] + u[1];
    }

private:
    mode mode_;
};

}  // namespace

TEST_CASE("every objective is zero at its optimum and positive elsewhere", "[eval]") {
    fracnas::core::rng rng(12345);
    for (const auto& name : objective_names()) {
        for (const std::size_t dim : {1u, 2u, 10u, 30u}) {
            INFO(name << " in dimension " << dim);
            const auto f = make_objective(name, dim, 2024);
            REQUIRE(f->name() == name);
            REQUIRE(f->dim() == dim);
            REQUIRE(f->optimum_value() == 0.0);
            const point opt = f->optimum();
            REQUIRE(opt.size() == dim);
            CHECK((*f)(opt) == Approx(f->optimum_value()).margin(1e-9));
            for (int k = 0; k < 50; ++k) {
                const point u = random_point(rng, dim);
                CHECK((*f)(u) > 0.0);
            }
            // A sampler that starts at the cube centre does not find the optimum for free.
            CHECK((*f)(point(dim, 0.5)) > 0.1);
        }
    }
}

TEST_CASE("the optimum follows the seed and stays away from the cube centre", "[eval]") {
    for (const auto& name : objective_names()) {
        INFO(name);
        const point a = make_objective(name, 30, 1)->optimum();
        const point b = make_objective(name, 30, 2)->optimum();
        CHECK(a != b);
        CHECK(make_objective(name, 30, 1)->optimum() == a);  // same seed, same optimum
        for (const point& u : {a, b}) {
            for (const double x : u) {
                CHECK(x >= 0.1);
                CHECK(x < 0.9);
                CHECK(std::abs(x - 0.5) >= 0.05);
            }
        }
    }
    // Across many seeds the positions cover both sides of the centre about equally.
    int below = 0, total = 0;
    for (std::uint64_t seed = 0; seed < 200; ++seed) {
        for (const double x : make_objective("sphere", 10, seed)->optimum()) {
            below += x < 0.5 ? 1 : 0;
            ++total;
        }
    }
    const double fraction = static_cast<double>(below) / static_cast<double>(total);
    CHECK(fraction > 0.45);
    CHECK(fraction < 0.55);
}

TEST_CASE("objectives match hand-computed values", "[eval]") {
    const double pi = 3.14159265358979323846;

    SECTION("sphere: z = (1.024, -0.512, 0)") {
        const auto f = make_objective("sphere", 3, 7);
        point u = f->optimum();
        u[0] += 0.1;   // width 10.24 -> z = 1.024
        u[1] -= 0.05;  // z = -0.512
        CHECK((*f)(u) == Approx(1.048576 + 0.262144).epsilon(1e-12));
    }
    SECTION("ellipsoid: weights 1, 1e3, 1e6 in dimension 3") {
        const auto f = make_objective("ellipsoid", 3, 7);
        point u = f->optimum();
        u[0] += 0.1;   // z = 1.024
        u[1] -= 0.05;  // z = -0.512
        u[2] += 0.01;  // z = 0.1024
        CHECK((*f)(u) == Approx(1.048576 + 1e3 * 0.262144 + 1e6 * 0.01048576).epsilon(1e-12));
        const auto g = make_objective("ellipsoid", 1, 7);
        CHECK((*g)(moved(g->optimum(), 0, 0.1)) == Approx(1.048576).epsilon(1e-12));
    }
    SECTION("rosenbrock at z = 0 is d - 1, and (1 - z)^2 in dimension 1") {
        const auto f = make_objective("rosenbrock", 4, 7);
        point u = f->optimum();
        for (double& x : u) x -= 1.0 / 15.0;  // width 15 -> z = 1 - 1 = 0
        CHECK((*f)(u) == Approx(3.0).epsilon(1e-12));
        const auto g = make_objective("rosenbrock", 1, 7);
        CHECK((*g)(moved(g->optimum(), 0, 2.0 / 15.0)) == Approx(4.0).epsilon(1e-12));
    }
    SECTION("rastrigin: z = (1, 0.5) gives 1 + 20.25") {
        const auto f = make_objective("rastrigin", 2, 7);
        point u = f->optimum();
        u[0] -= 1.0 / 10.24;
        u[1] += 0.5 / 10.24;
        CHECK((*f)(u) == Approx(21.25).epsilon(1e-12));
    }
    SECTION("ackley: z = (1, 1) gives 20 (1 - e^-0.2)") {
        const auto f = make_objective("ackley", 2, 7);
        point u = f->optimum();
        for (double& x : u) x += 1.0 / 65.536;
        CHECK((*f)(u) == Approx(20.0 * (1.0 - std::exp(-0.2))).epsilon(1e-12));
    }
    SECTION("griewank: z = (0, pi sqrt 2) gives 2 + 2 pi^2 / 4000") {
        const auto f = make_objective("griewank", 2, 7);
        const point u = moved(f->optimum(), 1, pi * std::sqrt(2.0) / 1200.0);
        CHECK((*f)(u) == Approx(2.0 + 2.0 * pi * pi / 4000.0).epsilon(1e-12));
    }
    SECTION("schwefel: 418.9829 per coordinate at z = 0, mirrored and penalised beyond 500") {
        const auto f = make_objective("schwefel", 6, 7);
        const point opt = f->optimum();
        const double z_star = 420.9687463599820;  // width 1000: delta u = delta z / 1000
        bool tried_zero = false, tried_mirror = false;
        for (std::size_t i = 0; i < opt.size(); ++i) {
            if (opt[i] >= 0.55 && !tried_zero) {
                // z_i = 0: the term vanishes and the coordinate costs the whole constant.
                CHECK((*f)(moved(opt, i, -z_star / 1000.0)) == Approx(418.9829).margin(1e-4));
                tried_zero = true;
            }
            if (opt[i] <= 0.8 && !tried_mirror) {
                // z_i = 600 reads as 1000 - 600 = 400 and pays (600 - 500)^2 / 1e4 = 1.
                const double expected = 418.98288727243371 - 400.0 * std::sin(20.0) + 1.0;
                CHECK((*f)(moved(opt, i, (600.0 - z_star) / 1000.0)) == Approx(expected).epsilon(1e-9));
                // Continuous across the edge of the native domain.
                const double inside = (*f)(moved(opt, i, (500.0 - 1e-9 - z_star) / 1000.0));
                const double outside = (*f)(moved(opt, i, (500.0 + 1e-9 - z_star) / 1000.0));
                CHECK(std::abs(inside - outside) < 1e-6);
                tried_mirror = true;
            }
        }
        REQUIRE(tried_zero);
        REQUIRE(tried_mirror);
    }
}

TEST_CASE("noisy gives the same value at the same point and noise of the right size", "[eval]") {
    const auto base = make_objective("rastrigin", 5, 11);
    const auto f = make_objective("noisy:rastrigin", 5, 11);  // sigma 0.1 by default
    REQUIRE(f->name() == "noisy:rastrigin");
    REQUIRE(f->optimum() == base->optimum());
    REQUIRE(f->optimum_value() == 0.0);

    fracnas::core::rng rng(99);
    const point u = random_point(rng, 5);
    CHECK((*f)(u) == (*f)(u));
    CHECK((*make_objective("noisy:rastrigin", 5, 11))(u) == (*f)(u));  // a fresh instance agrees
    CHECK((*make_objective("noisy:rastrigin", 5, 12))(u) != (*f)(u));  // another seed does not
    point negative_zero = u, positive_zero = u;
    negative_zero[0] = -0.0;
    positive_zero[0] = 0.0;
    CHECK((*f)(negative_zero) == (*f)(positive_zero));

    const int n = 2000;
    double sum = 0.0, sum_sq = 0.0;
    for (int k = 0; k < n; ++k) {
        const point x = random_point(rng, 5);
        const double noise = (*f)(x) - (*base)(x);
        sum += noise;
        sum_sq += noise * noise;
    }
    const double mean = sum / n;
    const double sd = std::sqrt(sum_sq / n - mean * mean);
    CHECK(std::abs(mean) < 0.015);  // ~7 standard errors
    CHECK(sd > 0.09);
    CHECK(sd < 0.11);

    objective_options quiet;
    quiet.noise_sigma = 0.0;
    const auto g = make_objective("noisy:sphere", 3, 5, quiet);
    CHECK((*g)(g->optimum()) == 0.0);
}

TEST_CASE("failing throws at about the chosen rate and evaluate turns it into data", "[eval]") {
    objective_options options;
    options.failure_probability = 0.1;
    const auto f = make_objective("failing:sphere", 4, 3, options);
    REQUIRE(f->name() == "failing:sphere");
    REQUIRE(f->optimum_value() == 0.0);

    fracnas::core::rng rng(5);
    const int n = 2000;
    int failures = 0, failed_results = 0;
    for (int k = 0; k < n; ++k) {
        const point u = random_point(rng, 4);
        bool threw = false;
        try {
            (void)(*f)(u);
        } catch (const fracnas::eval::evaluation_error&) {
            threw = true;
        }
        failures += threw ? 1 : 0;
        // The same point fails again, and evaluate() agrees without throwing.
        const auto r = evaluate(*f, fracnas::core::task{static_cast<std::uint64_t>(k), u});
        CHECK(r.id == static_cast<std::uint64_t>(k));
        CHECK((r.status == fracnas::core::eval_status::failed) == threw);
        if (threw) {
            CHECK(r.value == std::numeric_limits<double>::infinity());
            ++failed_results;
        } else {
            CHECK(r.value == (*f)(u));
        }
    }
    const double rate = static_cast<double>(failures) / n;
    CHECK(rate > 0.07);
    CHECK(rate < 0.13);
    CHECK(failed_results == failures);

    const point u = random_point(rng, 4);
    options.failure_probability = 0.0;
    CHECK_NOTHROW((*make_objective("failing:sphere", 4, 3, options))(u));
    options.failure_probability = 1.0;
    const auto always = make_objective("failing:sphere", 4, 3, options);
    REQUIRE_THROWS_AS((*always)(u), fracnas::eval::evaluation_error);
    REQUIRE_THROWS_WITH((*always)(u), Catch::Contains("failing:sphere") && Catch::Contains("failed"));
}

TEST_CASE("wrappers nest and keep the optimum of the inner objective", "[eval]") {
    const auto f = make_objective("failing:noisy:ackley", 3, 8);
    CHECK(f->name() == "failing:noisy:ackley");
    CHECK(f->optimum() == make_objective("ackley", 3, 8)->optimum());
    CHECK(make_objective(f->name(), 3, 8)->name() == f->name());
}

TEST_CASE("evaluate turns any exception and any non-finite value into a failed result", "[eval]") {
    using mode = misbehaving::mode;
    using fracnas::core::eval_status;
    const point u{0.25, 0.5};
    for (const mode m : {mode::throw_int, mode::throw_std, mode::nan, mode::infinity}) {
        const misbehaving f(m);
        const auto r = evaluate(f, {7, u});
        CHECK(r.id == 7);
        CHECK(r.status == eval_status::failed);
        CHECK(r.value == std::numeric_limits<double>::infinity());
    }
    const misbehaving good(mode::ok);
    const auto ok = evaluate(good, {8, u});
    CHECK(ok.id == 8);
    CHECK(ok.status == eval_status::ok);
    CHECK(ok.value == 0.75);

    // A point the objective rejects is a failed result too, not an exception.
    const auto bad = evaluate(good, {9, {0.25}});
    CHECK(bad.status == eval_status::failed);
    const auto outside = evaluate(good, {10, {0.25, 1.5}});
    CHECK(outside.status == eval_status::failed);
}

TEST_CASE("objective configuration errors name the problem", "[eval]") {
    using Catch::Contains;

    REQUIRE(objective_names() ==
            std::vector<std::string>{"sphere", "ellipsoid", "rosenbrock", "rastrigin", "ackley", "griewank", "schwefel"});

    REQUIRE_THROWS_WITH(make_objective("spere", 2, 1), Contains("unknown objective 'spere'") && Contains("sphere") &&
                                                           Contains("ellipsoid") && Contains("rosenbrock") && Contains("rastrigin") &&
                                                           Contains("ackley") && Contains("griewank") && Contains("schwefel") &&
                                                           Contains("noisy:") && Contains("failing:"));
    REQUIRE_THROWS_WITH(make_objective("noisy:bogus", 2, 1), Contains("unknown objective 'noisy:bogus'"));
    REQUIRE_THROWS_WITH(make_objective("noisy:", 2, 1), Contains("unknown objective 'noisy:'"));
    REQUIRE(config_field([] { make_objective("", 2, 1); }) == "objective.name");

    REQUIRE_THROWS_WITH(make_objective("sphere", 0, 1), Contains("dimension must be in [1, 10000], got 0"));
    REQUIRE_THROWS_WITH(make_objective("noisy:sphere", 10001, 1), Contains("dimension must be in [1, 10000], got 10001"));
    REQUIRE(config_field([] { make_objective("sphere", 0, 1); }) == "objective.dim");
    REQUIRE_NOTHROW(make_objective("sphere", 10000, 1));

    objective_options options;
    options.noise_sigma = -0.5;
    REQUIRE_THROWS_WITH(make_objective("noisy:sphere", 2, 1, options), Contains("noise sigma must be finite and >= 0, got -0.5"));
    REQUIRE(config_field([&] { make_objective("sphere", 2, 1, options); }) == "objective_options.noise_sigma");
    options.noise_sigma = std::numeric_limits<double>::quiet_NaN();
    REQUIRE_THROWS_WITH(make_objective("noisy:sphere", 2, 1, options), Contains("noise sigma must be finite"));

    options = {};
    options.failure_probability = 1.5;
    REQUIRE_THROWS_WITH(make_objective("failing:sphere", 2, 1, options), Contains("failure probability must be in [0, 1], got 1.5"));
    options.failure_probability = -0.1;
    REQUIRE_THROWS_WITH(make_objective("failing:sphere", 2, 1, options), Contains("failure probability must be in [0, 1], got -0.1"));
    REQUIRE(config_field([&] { make_objective("failing:sphere", 2, 1, options); }) == "objective_options.failure_probability");

    REQUIRE_THROWS_WITH(fracnas::eval::noisy(nullptr, 0.1, 1), Contains("noisy needs an inner objective"));
    REQUIRE_THROWS_WITH(fracnas::eval::failing(nullptr, 0.1, 1), Contains("failing needs an inner objective"));
}

TEST_CASE("a point of the wrong dimension or outside the cube is a config error", "[eval]") {
    using Catch::Contains;
    const auto f = make_objective("griewank", 3, 1);
    REQUIRE_THROWS_WITH((*f)({0.5, 0.5}), Contains("objective 'griewank' expects a point of dimension 3, got 2"));
    REQUIRE_THROWS_WITH((*f)({0.5, 1.5, 0.5}), Contains("point coordinate 1 is 1.5, outside the unit cube [0, 1]"));
    REQUIRE_THROWS_WITH((*f)({-0.25, 0.5, 0.5}), Contains("point coordinate 0 is -0.25, outside the unit cube"));
    REQUIRE_THROWS_WITH((*f)({0.5, 0.5, std::numeric_limits<double>::quiet_NaN()}), Contains("point coordinate 2 is nan"));
    REQUIRE(config_field([&] { (void)(*f)({0.5}); }) == "objective.point");
    // The corners are inside the cube.
    REQUIRE_NOTHROW((*f)({0.0, 1.0, 0.0}));
    // The wrappers check before they hash or throw on purpose.
    objective_options options;
    options.failure_probability = 1.0;
    const auto g = make_objective("failing:noisy:sphere", 2, 1, options);
    REQUIRE_THROWS_AS((*g)({0.5}), config_error);
}
