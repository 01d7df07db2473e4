// The synthetic objectives of eval/objectives.hpp: seven shifted classic functions, the noisy and
// failing wrappers, the name parser and evaluate().
// Nothing here is timed, cached or parallel; every value is a pure function of (seed, point).
#include "fracnas/eval/objectives.hpp"

#include <charconv>
#include <cmath>
#include <cstring>
#include <exception>
#include <limits>
#include <utility>

#include "fracnas/core/rng.hpp"

namespace fracnas::eval {
namespace {

constexpr double pi = 3.14159265358979323846;

// Shortest text that reads back as x, for error messages ("1.5", not "1.500000").
std::string format_double(double x) {
    char buf[64];
    const auto res = std::to_chars(buf, buf + sizeof buf, x);
    return std::string(buf, res.ptr);
}

// splitmix64's finaliser: a cheap bijective mix, so nearby points get unrelated streams.
std::uint64_t mix(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

// A seed for core::rng that depends on the seed, the wrapper (salt) and every bit of u.
std::uint64_t point_seed(std::uint64_t seed, std::uint64_t salt, const core::point& u) {
    std::uint64_t h = mix(seed ^ mix(salt));
    for (const double x : u) {
        const double v = x == 0.0 ? 0.0 : x;  // -0.0 and 0.0 are the same point
        std::uint64_t bits = 0;
        std::memcpy(&bits, &v, sizeof bits);
        h = mix(h ^ bits);
    }
    return h;
}

constexpr std::uint64_t noisy_salt = 0x6e6f697379ULL;        // "noisy"
constexpr std::uint64_t failing_salt = 0x6661696c696e67ULL;  // "failing"
constexpr std::uint64_t optimum_salt = 0x6f7074696d756dULL;  // "optimum"

// ---- the textbook functions g(z), minimum 0 at z* ------------------------------------------

using function_g = double (*)(const std::vector<double>& z);

double sphere_g(const std::vector<double>& z) {
    double sum = 0.0;
    for (const double v : z) sum += v * v;
    return sum;
}

double ellipsoid_g(const std::vector<double>& z) {
    const std::size_t d = z.size();
    double sum = 0.0;
    for (std::size_t i = 0; i < d; ++i) {
        // Condition number 1e6 from the first to the last axis; one axis has weight 1.
        const double w = d == 1 ? 1.0 : std::pow(10.0, 6.0 * static_cast<double>(i) / static_cast<double>(d - 1));
        sum += w * z[i] * z[i];
    }
    return sum;
}

double rosenbrock_g(const std::vector<double>& z) {
    // The chain over pairs is empty for d = 1; (1 - z)^2 keeps a unique optimum there.
    if (z.size() == 1) return (1.0 - z[0]) * (1.0 - z[0]);
    double sum = 0.0;
    for (std::size_t i = 0; i + 1 < z.size(); ++i) {
        const double a = z[i + 1] - z[i] * z[i];
        const double b = 1.0 - z[i];
        sum += 100.0 * a * a + b * b;
    }
    return sum;
}

double rastrigin_g(const std::vector<double>& z) {
    // 10 d + sum(z^2 - 10 cos(2 pi z)), summed per coordinate so that it is exactly 0 at z = 0.
    double sum = 0.0;
    for (const double v : z) sum += v * v + 10.0 * (1.0 - std::cos(2.0 * pi * v));
    return sum;
}

double ackley_g(const std::vector<double>& z) {
    const double d = static_cast<double>(z.size());
    double squares = 0.0, cosines = 0.0;
    for (const double v : z) {
        squares += v * v;
        cosines += std::cos(2.0 * pi * v);
    }
    // Grouped as (20 - 20 a) + (e - b): each bracket is >= 0, and both are exactly 0 at z = 0.
    const double e = std::exp(1.0);
    const double a = std::exp(-0.2 * std::sqrt(squares / d));
    const double b = std::exp(cosines / d);
    return (20.0 - 20.0 * a) + (e - b);
}

double griewank_g(const std::vector<double>& z) {
    double sum = 0.0, product = 1.0;
    for (std::size_t i = 0; i < z.size(); ++i) {
        sum += z[i] * z[i];
        product *= std::cos(z[i] / std::sqrt(static_cast<double>(i + 1)));
    }
    return (1.0 - product) + sum / 4000.0;
}

// The maximiser of z sin(sqrt z) on [-500, 500] to 20 digits (tan(s) = -s/2, z = s^2); the
// usual 420.9687 and 418.9829 are this point and its value rounded.
constexpr double schwefel_z = 420.96874635998202731;

double schwefel_term(double z) {
    return z * std::sin(std::sqrt(std::abs(z)));
}

double schwefel_g(const std::vector<double>& z) {
    // Computed once from schwefel_z, so c - term(z*) is exactly 0 (the rounded 418.9829 would
    // leave 1.3e-5 per coordinate).
    static const double c = schwefel_term(schwefel_z);
    double sum = 0.0;
    for (const double v : z) {
        double r = v, penalty = 0.0;
        if (std::abs(v) > 500.0) {
            // Outside the native domain the term grows without bound (the shift can put z up to
            // ~1320 there); mirror back into [-500, 500] (a triangle wave, so f stays
            // continuous) and pay a quadratic penalty, as CEC 2014's modified Schwefel does, so
            // the mirror images of the optimum are strictly worse than it.
            double t = std::fmod(v + 500.0, 2000.0);  // in (-2000, 2000)
            if (t < 0.0) t += 2000.0;
            r = -500.0 + (t <= 1000.0 ? t : 2000.0 - t);
            const double excess = std::abs(v) - 500.0;
            penalty = excess * excess / 1e4;
        }
        sum += (c - schwefel_term(r)) + penalty;
    }
    return sum;
}

struct function_spec {
    const char* name;
    double lower, upper;  // the domain of every coordinate
    double z_star;        // every coordinate of g's minimiser
    function_g g;
};

// The order of objective_names().
const function_spec specs[] = {
    {"sphere", -5.12, 5.12, 0.0, sphere_g},
    {"ellipsoid", -5.12, 5.12, 0.0, ellipsoid_g},
    {"rosenbrock", -5.0, 10.0, 1.0, rosenbrock_g},
    {"rastrigin", -5.12, 5.12, 0.0, rastrigin_g},
    {"ackley", -32.768, 32.768, 0.0, ackley_g},
    {"griewank", -600.0, 600.0, 0.0, griewank_g},
    {"schwefel", -500.0, 500.0, schwefel_z, schwefel_g},
};

// f(u) = g(x(u) - s) with x(u) = lower + width u and s = x(u*) - z*. It is computed as
// z = z* + width (u - u*), which is the same map but gives z == z* bit for bit at u == u*.
class shifted_function final : public objective {
public:
    shifted_function(const function_spec& spec, std::size_t dim, std::uint64_t seed) : objective(dim), spec_(spec), optimum_(dim) {
        // Salted: callers pass one seed to the objective and to the optimizer, and an unsalted
        // stream would hand random search the optimum's own coordinates as its first point.
        core::rng rng(mix(seed ^ mix(optimum_salt)));
        for (double& t : optimum_) {
            // Uniform on [0.1, 0.45) U [0.55, 0.9): the 0.7 of length, then the gap skipped.
            t = 0.1 + 0.7 * rng.uniform();
            if (t >= 0.45) t += 0.1;
        }
    }

    std::string name() const override { return spec_.name; }
    double optimum_value() const override { return 0.0; }
    core::point optimum() const override { return optimum_; }

protected:
    double value(const core::point& u) const override {
        const double width = spec_.upper - spec_.lower;
        std::vector<double> z(u.size());
        for (std::size_t i = 0; i < u.size(); ++i) z[i] = spec_.z_star + width * (u[i] - optimum_[i]);
        return spec_.g(z);
    }

private:
    function_spec spec_;
    core::point optimum_;
};

std::string valid_names_sentence_tail() {
    std::string list;
    for (const auto& spec : specs) {
        if (!list.empty()) list += ", ";
        list += spec.name;
    }
    return "valid names are " + list + ", each optionally prefixed by noisy: or failing:";
}

void check_noise_sigma(double sigma) {
    if (!(std::isfinite(sigma) && sigma >= 0.0))
        throw config_error("objective_options.noise_sigma", "noise sigma must be finite and >= 0, got " + format_double(sigma) + ".");
}

void check_failure_probability(double p) {
    if (!(p >= 0.0 && p <= 1.0))  // written so that NaN fails too
        throw config_error("objective_options.failure_probability", "failure probability must be in [0, 1], got " + format_double(p) + ".");
}

}  // namespace

// ---- objective ------------------------------------------------------------------------------

objective::objective(std::size_t dim) : dim_(dim) {
    if (dim == 0 || dim > max_objective_dim)
        throw config_error("objective.dim", "objective dimension must be in [1, " + std::to_string(max_objective_dim) + "], got " +
                                                std::to_string(dim) + ".");
}

double objective::operator()(const core::point& u) const {
    if (u.size() != dim_)
        throw config_error("objective.point", "objective '" + name() + "' expects a point of dimension " + std::to_string(dim_) + ", got " +
                                                  std::to_string(u.size()) + ".");
    for (std::size_t i = 0; i < u.size(); ++i)
        if (!(u[i] >= 0.0 && u[i] <= 1.0))  // written so that NaN fails too
            throw config_error("objective.point",
                               "point coordinate " + std::to_string(i) + " is " + format_double(u[i]) + ", outside the unit cube [0, 1].");
    return value(u);
}

// ---- wrappers -------------------------------------------------------------------------------

wrapper::wrapper(std::unique_ptr<objective> inner, std::string prefix, std::uint64_t seed)
    : objective(inner ? inner->dim() : 1), inner_(std::move(inner)), prefix_(std::move(prefix)), seed_(seed) {
    if (!inner_) throw config_error(prefix_ + ".inner", prefix_ + " needs an inner objective, got null.");
}

std::string wrapper::name() const {
    return prefix_ + ":" + inner_->name();
}
double wrapper::optimum_value() const {
    return inner_->optimum_value();
}
core::point wrapper::optimum() const {
    return inner_->optimum();
}

noisy::noisy(std::unique_ptr<objective> inner, double noise_sigma, std::uint64_t seed)
    : wrapper(std::move(inner), "noisy", seed), sigma_(noise_sigma) {
    check_noise_sigma(sigma_);
}

double noisy::value(const core::point& u) const {
    core::rng rng(point_seed(seed(), noisy_salt, u));
    return inner()(u) + sigma_ * rng.normal();
}

failing::failing(std::unique_ptr<objective> inner, double failure_probability, std::uint64_t seed)
    : wrapper(std::move(inner), "failing", seed), probability_(failure_probability) {
    check_failure_probability(probability_);
}

double failing::value(const core::point& u) const {
    core::rng rng(point_seed(seed(), failing_salt, u));
    // uniform() is in [0, 1), so p = 0 never fails and p = 1 always does.
    if (rng.uniform() < probability_) throw evaluation_error("objective '" + name() + "' failed at this point on purpose.");
    return inner()(u);
}

// ---- factory and evaluate -------------------------------------------------------------------

std::vector<std::string> objective_names() {
    std::vector<std::string> names;
    for (const auto& spec : specs) names.emplace_back(spec.name);
    return names;
}

std::unique_ptr<objective> make_objective(const std::string& name, std::size_t dim, std::uint64_t seed, const objective_options& options) {
    // The options are checked even when no wrapper uses them: a bad value is a bad config.
    check_noise_sigma(options.noise_sigma);
    check_failure_probability(options.failure_probability);

    // Peel the wrapper prefixes first, so an unknown name is reported whole.
    static const std::string noisy_prefix = "noisy:", failing_prefix = "failing:";
    std::vector<bool> wrappers;  // true: noisy, false: failing; outermost first
    std::string base = name;
    for (;;) {
        if (base.compare(0, noisy_prefix.size(), noisy_prefix) == 0) {
            wrappers.push_back(true);
            base.erase(0, noisy_prefix.size());
        } else if (base.compare(0, failing_prefix.size(), failing_prefix) == 0) {
            wrappers.push_back(false);
            base.erase(0, failing_prefix.size());
        } else {
            break;
        }
    }
    const function_spec* spec = nullptr;
    for (const auto& s : specs)
        if (base == s.name) spec = &s;
    if (spec == nullptr) throw config_error("objective.name", "unknown objective '" + name + "'; " + valid_names_sentence_tail() + ".");

    std::unique_ptr<objective> f = std::make_unique<shifted_function>(*spec, dim, seed);
    for (auto it = wrappers.rbegin(); it != wrappers.rend(); ++it) {
        if (*it)
            f = std::make_unique<noisy>(std::move(f), options.noise_sigma, seed);
        else
            f = std::make_unique<failing>(std::move(f), options.failure_probability, seed);
    }
    return f;
}

core::result evaluate(const objective& f, const core::task& task) {
    core::result r;
    r.id = task.id;
    try {
        r.value = f(task.x);
        if (!std::isfinite(r.value)) {
            r.value = std::numeric_limits<double>::infinity();
            r.status = core::eval_status::failed;
        }
    } catch (...) {
        // A failed evaluation is data, whatever threw it; the result has no room for the
        // message, and the value must never carry it.
        r.value = std::numeric_limits<double>::infinity();
        r.status = core::eval_status::failed;
    }
    return r;
}

}  // namespace fracnas::eval
