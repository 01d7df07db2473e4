// LiteTransformerSearch's evolutionary search as an ask/tell optimizer (include/fracnas/core/
// evolution.hpp says what it keeps of LTS and what it changes).
#include "fracnas/core/evolution.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <deque>
#include <functional>
#include <limits>
#include <unordered_set>
#include <utility>

#include "fracnas/error.hpp"

namespace fracnas::core {

void validate(const evolution_config& c) {
    if (c.parents == 0) throw config_error("parents", "evolution needs at least 1 parent per generation.");
    if (c.mutations + c.crossovers == 0)
        throw config_error("mutations", "evolution needs at least 1 mutated or crossed child per generation.");
    if (c.population != c.parents + c.mutations + c.crossovers)
        throw config_error("population", "the population (" + std::to_string(c.population) +
                                             ") must be parents + mutations + crossovers (" +
                                             std::to_string(c.parents + c.mutations + c.crossovers) + ").");
    if (!(c.mutation_prob >= 0.0 && c.mutation_prob <= 1.0))
        throw config_error("mutation_prob", "the mutation probability must be in [0, 1].");
    if (!(c.crossover_prob >= 0.0 && c.crossover_prob <= 1.0))
        throw config_error("crossover_prob", "the crossover probability must be in [0, 1].");
    if (c.max_tries == 0) throw config_error("max_tries", "a child needs at least 1 draw.");
}

struct evolution::state {
    evolution_config cfg;
    std::size_t dim;
    rng random;
    std::shared_ptr<const cube_structure> structure;
    std::deque<point> queue;  // this generation's points not proposed yet
    std::size_t waiting = 0;  // this generation's points proposed and not told
    struct member {
        point x;
        double value;
        std::string key;
        std::uint64_t chosen = 0;  // times it was a parent
    };
    std::vector<member> told;
    std::unordered_set<std::string> seen;  // keys of every point proposed
    std::uint64_t generations = 0, forced = 0;

    state(std::size_t d, const evolution_config& c, std::uint64_t seed, std::shared_ptr<const cube_structure> s)
        : cfg(c), dim(d), random(seed), structure(std::move(s)) {}

    // A box of width 1e-9 at x: what the structure says about x's own decoded point.
    box at(const point& x) const {
        box b{point(dim), point(dim)};
        for (std::size_t i = 0; i < dim; ++i) {
            b.lo[i] = std::min(x[i], 1.0 - 1e-9);
            b.hi[i] = b.lo[i] + 1e-9;
        }
        return b;
    }

    // Equal for two points that decode alike (as far as the structure tells; without one, for
    // equal points): the level of each active discrete coordinate, the value of a continuous one.
    std::string key(const point& x) const {
        std::string k;
        const box b = structure ? at(x) : box{};
        for (std::size_t i = 0; i < dim; ++i) {
            std::uint64_t n = 0;
            if (structure) {
                if (!structure->active(i, b)) {
                    k += '-';
                    continue;
                }
                n = structure->levels(i, b);
            }
            char buf[sizeof(double) + 1];
            if (n > 0) {
                const std::uint64_t level = level_of(x[i], n);
                std::memcpy(buf, &level, sizeof level);
            } else {
                std::memcpy(buf, &x[i], sizeof(double));
            }
            buf[sizeof(double)] = '|';
            k.append(buf, sizeof buf);
        }
        return k;
    }

    bool feasible(const point& x) const { return !structure || structure->may_be_feasible(at(x)); }

    // A child from make(), drawn again while it cannot be feasible or repeats a proposed point.
    point draw(const std::function<point()>& make) {
        point x;
        for (std::size_t t = 0; t < cfg.max_tries; ++t) {
            x = make();
            if (feasible(x) && seen.insert(key(x)).second) return x;
        }
        ++forced;
        seen.insert(key(x));
        return x;
    }

    point uniform() {
        point x(dim);
        for (double& v : x) v = random.uniform();
        return x;
    }

    // The `parents` best distinct points told so far, drawn with replacement, each weighted by
    // 1 / (1 + how often it was chosen before, scaled to [0, 1]) as LTS weighs its front.
    std::vector<const member*> select_parents() {
        std::vector<member*> order;
        for (auto& m : told)
            if (std::isfinite(m.value)) order.push_back(&m);
        std::stable_sort(order.begin(), order.end(), [](const member* a, const member* b) { return a->value < b->value; });
        std::vector<member*> pool;
        std::unordered_set<std::string> keys;
        for (member* m : order) {
            if (pool.size() == cfg.parents) break;
            if (keys.insert(m->key).second) pool.push_back(m);
        }
        std::vector<const member*> chosen;
        if (pool.empty()) return chosen;
        std::uint64_t lo = std::numeric_limits<std::uint64_t>::max(), hi = 0;
        for (const member* m : pool) {
            lo = std::min(lo, m->chosen);
            hi = std::max(hi, m->chosen);
        }
        const double range = hi == lo ? std::max<double>(1.0, static_cast<double>(hi)) : static_cast<double>(hi - lo);
        std::vector<double> cumulative;
        double total = 0.0;
        for (const member* m : pool) {
            total += 1.0 / (1.0 + static_cast<double>(m->chosen - lo) / range);
            cumulative.push_back(total);
        }
        for (std::size_t k = 0; k < cfg.parents; ++k) {
            const double u = random.uniform() * total;
            const std::size_t j = static_cast<std::size_t>(
                std::min<std::ptrdiff_t>(std::upper_bound(cumulative.begin(), cumulative.end(), u) - cumulative.begin(),
                                         static_cast<std::ptrdiff_t>(pool.size() - 1)));
            ++pool[j]->chosen;
            chosen.push_back(pool[j]);
        }
        return chosen;
    }

    void make_generation() {
        ++generations;
        const auto parents = generations == 1 ? std::vector<const member*>{} : select_parents();
        if (parents.empty()) {  // the first generation, or nothing told has a finite value yet
            for (std::size_t k = 0; k < cfg.population; ++k) queue.push_back(draw([&] { return uniform(); }));
            return;
        }
        auto pick = [&] { return parents[random.below(parents.size())]; };
        for (std::size_t k = 0; k < cfg.mutations; ++k)
            queue.push_back(draw([&] {
                const point& p = pick()->x;
                point x(dim);
                for (std::size_t i = 0; i < dim; ++i) x[i] = random.uniform() < cfg.mutation_prob ? random.uniform() : p[i];
                return x;
            }));
        for (std::size_t k = 0; k < cfg.crossovers; ++k)
            queue.push_back(draw([&] {
                // two different draws from the parents (LTS: random.sample of 2)
                const std::size_t a = random.below(parents.size());
                std::size_t b = a;
                if (parents.size() > 1) {
                    b = random.below(parents.size() - 1);
                    if (b >= a) ++b;
                }
                const point &pa = parents[a]->x, &pb = parents[b]->x;
                point x(dim);
                for (std::size_t i = 0; i < dim; ++i) x[i] = random.uniform() < cfg.crossover_prob ? pa[i] : pb[i];
                return x;
            }));
    }
};

evolution::evolution(std::size_t dim, const evolution_config& cfg, std::uint64_t seed, stopping stop,
                     std::shared_ptr<const cube_structure> structure)
    : optimizer(dim, stop) {
    validate(cfg);
    s_ = std::make_unique<state>(dim, cfg, seed, std::move(structure));
}

evolution::~evolution() = default;

std::uint64_t evolution::generations() const noexcept {
    return s_->generations;
}
std::uint64_t evolution::forced() const noexcept {
    return s_->forced;
}

void evolution::propose(std::size_t n, std::vector<point>& out) {
    state& s = *s_;
    while (out.size() < n) {
        if (s.queue.empty()) {
            if (s.waiting > 0) break;  // the generation is in flight
            s.make_generation();
            if (s.queue.empty()) break;
        }
        out.push_back(std::move(s.queue.front()));
        s.queue.pop_front();
        ++s.waiting;
    }
}

void evolution::observe(std::uint64_t, const point& x, double value, eval_status status) {
    state& s = *s_;
    --s.waiting;
    s.told.push_back(state::member{x, status == eval_status::ok ? value : std::numeric_limits<double>::infinity(), s.key(x)});
}

}  // namespace fracnas::core
