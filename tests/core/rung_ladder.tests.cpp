// ASHA's promotion rule (core::rung_ladder): hand-worked ladders, failures, refusals, replay, and
// random sequences against a reference written here that ranks every rung from scratch.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <vector>

#include "fracnas/core/rng.hpp"
#include "fracnas/core/rung_ladder.hpp"
#include "fracnas/error.hpp"

using namespace fracnas;
using core::rung_ladder;

namespace {

std::vector<std::uint64_t> ids(const std::vector<rung_ladder::result>& rs) {
    std::vector<std::uint64_t> out;
    for (const auto& r : rs) out.push_back(r.id);
    return out;
}

// The rule as the paper states it, recomputed from all results at each query: for k from the top
// rung but one down, the results at k sorted (successes by value then id, failures after by id),
// the first floor(n / eta) of them that are successes and not yet promoted from k.
struct reference_ladder {
    std::size_t rungs, eta;
    std::map<std::uint64_t, std::vector<std::optional<std::pair<double, bool>>>> got;  // id -> rung -> (value, ok)
    std::set<std::pair<std::uint64_t, std::size_t>> up;                                // (id, from)
    std::map<std::uint64_t, std::size_t> at;                                           // id -> rung it is at

    // the ids at rung k, best first, as results() orders them
    std::vector<std::uint64_t> ranked(std::size_t k) const {
        std::vector<std::tuple<int, double, std::uint64_t>> rank;
        for (const auto& [id, rs] : got)
            if (rs[k]) rank.emplace_back(rs[k]->second ? 0 : 1, rs[k]->second ? rs[k]->first : 0.0, id);
        std::sort(rank.begin(), rank.end());
        std::vector<std::uint64_t> out;
        for (const auto& r : rank) out.push_back(std::get<2>(r));
        return out;
    }

    std::optional<rung_ladder::promotion> next() const {
        for (std::size_t k = rungs - 1; k-- > 0;) {
            std::vector<std::tuple<int, double, std::uint64_t>> rank;
            for (const auto& [id, rs] : got)
                if (rs[k]) rank.emplace_back(rs[k]->second ? 0 : 1, rs[k]->second ? rs[k]->first : 0.0, id);
            std::sort(rank.begin(), rank.end());
            const std::size_t top = rank.size() / eta;
            for (std::size_t i = 0; i < top; ++i) {
                const auto [failed, value, id] = rank[i];
                (void)value;
                if (failed == 0 && up.count({id, k}) == 0) return rung_ladder::promotion{id, k, k + 1};
            }
        }
        return std::nullopt;
    }
};

}  // namespace

TEST_CASE("rung ladder: eta 3, a promotion as soon as a rung's top third has a candidate not yet promoted", "[core]") {
    rung_ladder l({2.5e6, 5e6, 1e7}, 3);
    REQUIRE(l.rungs() == 3);
    REQUIRE(l.eta() == 3);
    REQUIRE_FALSE(l.next_promotion());  // nothing yet: start a candidate
    for (std::uint64_t id = 1; id <= 9; ++id) l.start(id);
    REQUIRE(l.pending().size() == 9);
    l.record(1, 0, 5.0, true);
    l.record(2, 0, 3.0, true);
    REQUIRE_FALSE(l.next_promotion());  // two results: floor(2 / 3) = 0
    l.record(3, 0, 7.0, true);
    // three results: the best of them goes up at once, the rung far from full (asynchrony)
    auto p = l.next_promotion();
    REQUIRE(p);
    REQUIRE(p->id == 2);
    REQUIRE(p->from == 0);
    REQUIRE(p->to == 1);
    REQUIRE(l.next_promotion()->id == 2);  // a query changes nothing
    l.mark_promoted(2, 0);
    REQUIRE(l.promoted(2, 0));
    REQUIRE(l.rung_of(2) == 1);
    REQUIRE_FALSE(l.next_promotion());  // the top third (one) is promoted already
    l.record(5, 0, 9.0, true);
    REQUIRE_FALSE(l.next_promotion());  // four results, top 1: still candidate 2
    l.record(4, 0, 1.0, true);
    REQUIRE(l.next_promotion()->id == 4);  // five, top 1: now candidate 4, better than 2
}

TEST_CASE("rung ladder: the rule step by step, a better late result promoted too, the upper rung first", "[core]") {
    rung_ladder l({1.0, 2.0, 4.0}, 3);
    for (std::uint64_t id = 1; id <= 9; ++id) l.start(id);
    l.record(1, 0, 5.0, true);
    l.record(2, 0, 3.0, true);
    l.record(3, 0, 7.0, true);
    l.mark_promoted(l.next_promotion()->id, 0);  // 2
    l.record(4, 0, 1.0, true);
    // four results, top 1: candidate 4 (value 1) is the best and not promoted: it goes up too,
    // although 2 was promoted on a weaker rung (ASHA promotes more than successive halving would)
    REQUIRE(l.next_promotion()->id == 4);
    l.mark_promoted(4, 0);
    REQUIRE_FALSE(l.next_promotion());
    l.record(5, 0, 2.0, true);
    l.record(6, 0, 4.0, true);
    // six results, top 2: 4 (1.0) and 5 (2.0); 5 goes up
    REQUIRE(l.next_promotion()->id == 5);
    l.mark_promoted(5, 0);
    // rung 1: 2, 4 and 5 answer; top 1 of three is the best there, promoted to rung 2 before any
    // further rung-0 promotion (the scan starts at the top)
    l.record(2, 1, 6.0, true);
    l.record(4, 1, 2.5, true);
    l.record(5, 1, 2.0, true);
    l.record(7, 0, 0.5, true);
    l.record(8, 0, 0.7, true);
    l.record(9, 0, 0.9, true);
    auto p = l.next_promotion();
    REQUIRE(p->id == 5);
    REQUIRE(p->from == 1);
    REQUIRE(p->to == 2);
    l.mark_promoted(5, 1);
    REQUIRE(l.next_promotion()->id == 7);  // then rung 0: nine results, top 3: 7, 8, 9
    l.mark_promoted(7, 0);
    REQUIRE(l.next_promotion()->id == 8);
    REQUIRE(ids(l.results(0)) == std::vector<std::uint64_t>{7, 8, 9, 4, 5, 2, 6, 1, 3});
    REQUIRE(ids(l.results(1)) == std::vector<std::uint64_t>{5, 4, 2});
    REQUIRE(l.best(1)->value == 2.0);
    REQUIRE_FALSE(l.best(2));
    REQUIRE(*l.top_reached() == 1);
    l.record(5, 2, 1.5, true);
    REQUIRE(*l.top_reached() == 2);
    REQUIRE_FALSE(l.promoted(5, 2));  // the top rung promotes nobody
    REQUIRE_THROWS_WITH(l.mark_promoted(5, 2), "rung 2 is the top rung: nothing is above it.");
    const auto waiting = l.pending();
    REQUIRE(waiting == std::vector<std::pair<std::uint64_t, std::size_t>>{{7, 1}});
}

TEST_CASE("rung ladder: failures rank after every success and are never promoted", "[core]") {
    rung_ladder l({1.0, 2.0}, 2);
    for (std::uint64_t id = 1; id <= 4; ++id) l.start(id);
    l.record(1, 0, 0.0, false);
    l.record(2, 0, std::nan(""), false);
    REQUIRE_FALSE(l.next_promotion());  // top 1 of 2 is a failure
    l.record(3, 0, 10.0, true);
    l.record(4, 0, 20.0, true);
    REQUIRE(ids(l.results(0)) == std::vector<std::uint64_t>{3, 4, 1, 2});
    REQUIRE(std::isnan(l.results(0)[2].value));
    REQUIRE_FALSE(l.results(0)[2].ok);
    REQUIRE(l.next_promotion()->id == 3);  // top 2 of 4: 3 and 4
    l.mark_promoted(3, 0);
    REQUIRE(l.next_promotion()->id == 4);
    l.mark_promoted(4, 0);
    REQUIRE_FALSE(l.next_promotion());
    REQUIRE_THROWS_WITH(l.mark_promoted(1, 0), "candidate 1 has no successful result at rung 0 to go up from.");
    REQUIRE(l.best(0)->id == 3);
}

TEST_CASE("rung ladder: bad budgets, eta and calls are refused with one sentence, and change nothing", "[core]") {
    REQUIRE_THROWS_WITH(rung_ladder({}, 3), "a rung ladder needs at least one budget.");
    REQUIRE_THROWS_WITH(rung_ladder({1.0, 0.0}, 3), "each rung's budget must be a finite number > 0 (rung 1 is not).");
    REQUIRE_THROWS_WITH(rung_ladder({2.0, 2.0}, 3), "each rung's budget must be larger than the one before (rung 1 is not).");
    REQUIRE_THROWS_WITH(rung_ladder({1.0, std::nan("")}, 3), "each rung's budget must be a finite number > 0 (rung 1 is not).");
    REQUIRE_THROWS_WITH(rung_ladder({1.0}, 1), "eta must be at least 2: the top 1/eta of a rung goes up.");
    REQUIRE_THROWS_AS(rung_ladder({1.0}, 0), config_error);
    rung_ladder l({1.0, 2.0, 4.0}, 2);
    l.start(7);
    REQUIRE_THROWS_WITH(l.start(7), "candidate 7 was started before.");
    REQUIRE_THROWS_WITH(l.record(8, 0, 1.0, true), "candidate 8 was never started.");
    REQUIRE_THROWS_WITH(l.record(7, 1, 1.0, true), "candidate 7 waits for no result at rung 1.");
    REQUIRE_THROWS_WITH(l.record(7, 3, 1.0, true), "record: rung 3 is not on the ladder (it has 3).");
    REQUIRE_THROWS_WITH(l.record(7, 0, std::nan(""), true), "candidate 7's successful result is not a finite number.");
    REQUIRE_THROWS_WITH(l.mark_promoted(7, 0), "candidate 7 has no successful result at rung 0 to go up from.");
    REQUIRE(l.pending().size() == 1);
    l.record(7, 0, 1.0, true);
    REQUIRE_THROWS_WITH(l.record(7, 0, 2.0, true), "candidate 7 waits for no result at rung 0.");
    l.mark_promoted(7, 0);
    REQUIRE_THROWS_WITH(l.mark_promoted(7, 0), "candidate 7 has no successful result at rung 0 to go up from.");
    REQUIRE_THROWS_WITH(l.mark_promoted(9, 0), "candidate 9 was never started.");
    REQUIRE_THROWS_WITH(l.rung_of(9), "candidate 9 was never started.");
    REQUIRE(l.results(0).size() == 1);
    REQUIRE(l.rung_of(7) == 1);
    // a value changed only where a successful result is
    REQUIRE_THROWS_WITH(l.revalue(7, 1, 1.0), "candidate 7 has no successful result at rung 1 to change.");
    REQUIRE_THROWS_WITH(l.revalue(9, 0, 1.0), "candidate 9 was never started.");
    REQUIRE_THROWS_WITH(l.revalue(7, 0, std::nan("")), "candidate 7's successful result is not a finite number.");
    REQUIRE_THROWS_WITH(l.revalue(7, 5, 1.0), "revalue: rung 5 is not on the ladder (it has 3).");
    l.start(8);
    l.record(8, 0, 0.5, false);
    REQUIRE_THROWS_WITH(l.revalue(8, 0, 1.0), "candidate 8 has no successful result at rung 0 to change.");
    l.revalue(7, 0, 3.0);  // promoted already: it stays promoted, ranked by its new value
    REQUIRE(l.promoted(7, 0));
    REQUIRE(l.results(0).front().value == 3.0);
    REQUIRE(l.rung_of(7) == 1);
}

TEST_CASE(
    "rung ladder: random runs, values changed on the way, agree with the rule recomputed from scratch, and a replay rebuilds the same "
    "ladder",
    "[core]") {
    core::rng draw(20261204);
    for (int run = 0; run < 300; ++run) {
        CAPTURE(run);
        const std::size_t rungs = 1 + draw.below(4), eta = 2 + draw.below(3);
        std::vector<double> budgets;
        for (std::size_t k = 0; k < rungs; ++k) budgets.push_back(std::ldexp(1.0, static_cast<int>(k)));
        rung_ladder l(budgets, eta);
        reference_ladder ref{rungs, eta, {}, {}, {}};
        struct op {
            int kind;  // 0 start, 1 record, 2 promote, 3 revalue
            std::uint64_t id;
            std::size_t rung;
            double value;
            bool ok;
        };
        std::vector<op> log;
        std::uint64_t next_id = 1;
        for (int step = 0; step < 120; ++step) {
            for (std::size_t k = 0; k < rungs; ++k) REQUIRE(ids(l.results(k)) == ref.ranked(k));
            std::vector<std::pair<std::uint64_t, std::size_t>> waiting_ref;  // no result yet where each is
            for (const auto& [id, k] : ref.at)
                if (!ref.got.at(id)[k]) waiting_ref.emplace_back(id, k);
            REQUIRE(l.pending() == waiting_ref);
            const auto want = ref.next();
            const auto got = l.next_promotion();
            REQUIRE(static_cast<bool>(want) == static_cast<bool>(got));
            if (want) {
                REQUIRE(got->id == want->id);
                REQUIRE(got->from == want->from);
            }
            // a free worker: take the promotion when there is one (mostly), else start a new one;
            // and some waiting candidate answers
            if (got && draw.uniform() < 0.8) {
                l.mark_promoted(got->id, got->from);
                ref.up.insert({got->id, got->from});
                ref.at[got->id] = got->to;
                log.push_back({2, got->id, got->from, 0.0, true});
            } else {
                l.start(next_id);
                ref.got[next_id].assign(rungs, std::nullopt);
                ref.at[next_id] = 0;
                log.push_back({0, next_id, 0, 0.0, true});
                ++next_id;
            }
            const auto waiting = l.pending();
            if (!waiting.empty() && draw.uniform() < 0.7) {
                const auto [id, k] = waiting[draw.below(waiting.size())];
                REQUIRE(ref.at.at(id) == k);
                const bool ok = draw.uniform() > 0.15;
                const double value = std::floor(draw.uniform() * 20.0);  // ties on purpose
                l.record(id, k, value, ok);
                ref.got[id][k] = std::make_pair(value, ok);
                log.push_back({1, id, k, value, ok});
            }
            // now and then a successful result changes its value (a calibration learnt since)
            if (draw.uniform() < 0.25) {
                std::vector<std::pair<std::uint64_t, std::size_t>> done;
                for (const auto& [id, rs] : ref.got)
                    for (std::size_t k = 0; k < rungs; ++k)
                        if (rs[k] && rs[k]->second) done.emplace_back(id, k);
                if (!done.empty()) {
                    const auto [id, k] = done[draw.below(done.size())];
                    const double value = std::floor(draw.uniform() * 20.0);
                    l.revalue(id, k, value);
                    ref.got[id][k]->first = value;
                    log.push_back({3, id, k, value, true});
                }
            }
        }
        // the same calls in the same order: the same ladder
        rung_ladder again(budgets, eta);
        for (const auto& o : log) {
            if (o.kind == 0) again.start(o.id);
            if (o.kind == 1) again.record(o.id, o.rung, o.value, o.ok);
            if (o.kind == 2) again.mark_promoted(o.id, o.rung);
            if (o.kind == 3) again.revalue(o.id, o.rung, o.value);
        }
        for (std::size_t k = 0; k < rungs; ++k) REQUIRE(ids(again.results(k)) == ids(l.results(k)));
        REQUIRE(again.pending() == l.pending());
        const auto a = again.next_promotion(), b = l.next_promotion();
        REQUIRE(static_cast<bool>(a) == static_cast<bool>(b));
        if (a) REQUIRE(a->id == b->id);
    }
}
