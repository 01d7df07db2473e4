// Synthetic objectives that ship with fracnas as test doubles and benchmarks: seven classic
// functions whose optimum is moved off the cube centre by a seed, noisy and failing wrappers,
// and evaluate(), which turns any failure into a failed result instead of a crash.
// They run in-process in microseconds; they do not model evaluation cost, time or resources,
// and they know nothing of dispatchers or transports.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fracnas/core/optimizer.hpp"
#include "fracnas/error.hpp"

namespace fracnas::eval {

/// An evaluation failed (on purpose, for the failing wrapper, or in a user objective).
/// what() is one sentence that names the problem.
class evaluation_error : public error {
public:
    using error::error;
};

/// The largest dimension an objective accepts.
inline constexpr std::size_t max_objective_dim = 10000;

/// A function to minimise over the unit cube [0,1]^d.
/// Thread-safe: evaluation is const and keeps no state, so the same point always gives the same
/// value (or the same exception) on any thread and in any order.
class objective {
public:
    virtual ~objective() = default;
    objective(const objective&) = delete;
    objective& operator=(const objective&) = delete;

    /// The name make_objective() understands for this objective, e.g. "noisy:rastrigin".
    virtual std::string name() const = 0;

    /// The number of coordinates of a point, in [1, max_objective_dim].
    std::size_t dim() const noexcept { return dim_; }

    /// The value at u (lower is better); u in [0,1]^dim() is mapped affinely onto the function's
    /// own domain. Throws config_error (field "objective.point") when u has the wrong dimension
    /// or a coordinate outside [0,1] (NaN included); may throw evaluation_error.
    double operator()(const core::point& u) const;

    /// The smallest value over the cube (0 for every objective shipped here); for the noisy
    /// wrapper this is the noise-free optimum.
    virtual double optimum_value() const = 0;

    /// The point of the unit cube where the function takes optimum_value(), exactly: for the
    /// base functions f(optimum()) == optimum_value() to within 1e-9.
    virtual core::point optimum() const = 0;

protected:
    /// Throws config_error (field "objective.dim") unless 1 <= dim <= max_objective_dim.
    explicit objective(std::size_t dim);

    /// The value at u, which operator() has already checked.
    virtual double value(const core::point& u) const = 0;

private:
    std::size_t dim_;
};

/// Parameters of the wrappers; make_objective() checks them.
struct objective_options {
    double noise_sigma = 0.1;          ///< std of the additive noise of "noisy:" (typical 0.01..1)
    double failure_probability = 0.1;  ///< chance that "failing:" throws at a point, in [0, 1]
};

/// Base of the wrappers: an inner objective whose dimension and optimum it keeps, and a seed.
class wrapper : public objective {
public:
    /// "<prefix>:<inner name>", e.g. "noisy:sphere".
    std::string name() const override;
    double optimum_value() const override;
    core::point optimum() const override;

protected:
    /// Throws config_error (field "<prefix>.inner") when inner is null.
    wrapper(std::unique_ptr<objective> inner, std::string prefix, std::uint64_t seed);
    const objective& inner() const noexcept { return *inner_; }
    std::uint64_t seed() const noexcept { return seed_; }

private:
    std::unique_ptr<objective> inner_;
    std::string prefix_;
    std::uint64_t seed_;
};

/// Adds noise_sigma * N(0,1) to the inner objective. The deviate is a function of (seed, the
/// bits of the point), so the same point always gives the same value; -0.0 counts as 0.0.
class noisy final : public wrapper {
public:
    /// Throws config_error when inner is null (field "noisy.inner") or noise_sigma is negative or
    /// not finite (field "objective_options.noise_sigma").
    noisy(std::unique_ptr<objective> inner, double noise_sigma, std::uint64_t seed);

protected:
    double value(const core::point& u) const override;

private:
    double sigma_;
};

/// Throws evaluation_error at a point with probability failure_probability, before evaluating the
/// inner objective; otherwise returns the inner value. Whether a point fails is a function of
/// (seed, the bits of the point), so a point that failed once always fails. The optimum may fail.
class failing final : public wrapper {
public:
    /// Throws config_error when inner is null (field "failing.inner") or failure_probability is
    /// outside [0, 1] (field "objective_options.failure_probability").
    failing(std::unique_ptr<objective> inner, double failure_probability, std::uint64_t seed);

protected:
    double value(const core::point& u) const override;

private:
    double probability_;
};

/// The base names make_objective() understands: sphere, ellipsoid, rosenbrock, rastrigin,
/// ackley, griewank, schwefel.
std::vector<std::string> objective_names();

/// Builds a named objective of the given dimension whose optimum is drawn from seed.
/// name is a base name, or "noisy:<name>" / "failing:<name>" (prefixes nest, e.g.
/// "failing:noisy:sphere"), the wrappers taking their parameters from options.
///
/// Domains: sphere, ellipsoid, rastrigin [-5.12,5.12]; rosenbrock [-5,10]; ackley
/// [-32.768,32.768]; griewank [-600,600]; schwefel [-500,500]. Each is f(x) = g(x - s) with g
/// the textbook function; the unit-cube position of the optimum, coordinate i, is
/// t = 0.1 + 0.7 * r_i, plus 0.1 when t >= 0.45, where r_i is the i-th uniform() of a
/// core::rng seeded with splitmix64(seed ^ splitmix64("optimum")): uniform over
/// [0.1, 0.45) U [0.55, 0.9), never near the cube centre, and unrelated to the stream of an
/// optimizer given the same seed.
/// Conventions where the textbook is silent: ellipsoid weights are 10^(6 i/(d-1)), i from 0,
/// and 1 when d = 1; rosenbrock with d = 1 is (1 - z)^2. Schwefel uses the exact constant
/// 418.98288727... (= z* sin(sqrt z*), z* = 420.96874636) instead of the rounded 418.9829 so that
/// its optimum is 0, and, as in CEC 2014, a z outside [-500,500] (the shift can put one there)
/// is mirrored back into it and pays (|z| - 500)^2 / 1e4, which keeps the optimum unique.
///
/// Throws config_error: unknown name (field "objective.name", the message lists the valid
/// names), dim outside [1, max_objective_dim] ("objective.dim"), noise_sigma negative or not
/// finite ("objective_options.noise_sigma"), failure_probability outside [0, 1]
/// ("objective_options.failure_probability"); the options are checked even when no wrapper is
/// named.
std::unique_ptr<objective> make_objective(const std::string& name, std::size_t dim, std::uint64_t seed,
                                          const objective_options& options = {});

/// Evaluates task.x and never throws for a failed evaluation: any exception the objective throws
/// (config_error for a bad point included) and any non-finite value give status failed with
/// value +infinity, so the message never leaks into the value. The id is copied from the task.
core::result evaluate(const objective& f, const core::task& task);

}  // namespace fracnas::eval
