// ASHA's promotion rule over a ladder of budgets (rung_ladder.hpp): each rung keeps its results
// ranked (ordered by success, value and id), its successes not yet promoted, and its promoted
// ones sorted, so that a promotion query costs O(log n) a rung.
#include "fracnas/core/rung_ladder.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "fracnas/error.hpp"

namespace fracnas::core {

rung_ladder::rung_ladder(std::vector<double> budgets, std::size_t eta) : budgets_(std::move(budgets)), eta_(eta) {
    if (budgets_.empty()) throw config_error("budgets", "a rung ladder needs at least one budget.");
    for (std::size_t k = 0; k < budgets_.size(); ++k) {
        if (!(budgets_[k] > 0.0) || !std::isfinite(budgets_[k]))
            throw config_error("budgets", "each rung's budget must be a finite number > 0 (rung " + std::to_string(k) + " is not).");
        if (k > 0 && !(budgets_[k] > budgets_[k - 1]))
            throw config_error("budgets", "each rung's budget must be larger than the one before (rung " + std::to_string(k) + " is not).");
    }
    if (eta_ < 2) throw config_error("eta", "eta must be at least 2: the top 1/eta of a rung goes up.");
    rungs_.resize(budgets_.size());
}

rung_ladder::key rung_ladder::order(const result& r) {
    return r.ok ? key{0, r.value, r.id} : key{1, 0.0, r.id};
}

void rung_ladder::check_rung(std::size_t rung, const char* what) const {
    if (rung >= budgets_.size())
        throw config_error("rung", std::string(what) + ": rung " + std::to_string(rung) + " is not on the ladder (it has " +
                                       std::to_string(budgets_.size()) + ").");
}

void rung_ladder::start(std::uint64_t id) {
    if (candidates_.count(id) != 0) throw config_error("id", "candidate " + std::to_string(id) + " was started before.");
    candidate c;
    c.up.assign(budgets_.size(), false);
    c.got.assign(budgets_.size(), std::numeric_limits<double>::quiet_NaN());
    candidates_.emplace(id, std::move(c));
}

void rung_ladder::record(std::uint64_t id, std::size_t rung, double value, bool ok) {
    check_rung(rung, "record");
    const auto it = candidates_.find(id);
    if (it == candidates_.end()) throw config_error("id", "candidate " + std::to_string(id) + " was never started.");
    candidate& c = it->second;
    if (c.rung != rung || !c.waiting)
        throw config_error("rung", "candidate " + std::to_string(id) + " waits for no result at rung " + std::to_string(rung) + ".");
    if (ok && !std::isfinite(value))
        throw config_error("value", "candidate " + std::to_string(id) + "'s successful result is not a finite number.");
    c.waiting = false;
    c.got[rung] = ok ? value : std::numeric_limits<double>::quiet_NaN();
    const key k = order(result{id, value, ok});
    rungs_[rung].ranked.insert(k);
    if (ok) rungs_[rung].waiting.insert(k);
}

std::optional<rung_ladder::promotion> rung_ladder::next_promotion() const {
    for (std::size_t k = budgets_.size() - 1; k-- > 0;) {
        const rung_books& r = rungs_[k];
        if (r.waiting.empty()) continue;
        const key& best_waiting = *r.waiting.begin();
        const auto better =
            static_cast<std::size_t>(std::lower_bound(r.promoted.begin(), r.promoted.end(), best_waiting) - r.promoted.begin());
        if (better < r.ranked.size() / eta_) return promotion{std::get<2>(best_waiting), k, k + 1};
    }
    return std::nullopt;
}

void rung_ladder::mark_promoted(std::uint64_t id, std::size_t from) {
    check_rung(from, "mark_promoted");
    const auto it = candidates_.find(id);
    if (it == candidates_.end()) throw config_error("id", "candidate " + std::to_string(id) + " was never started.");
    candidate& c = it->second;
    if (from + 1 >= budgets_.size()) throw config_error("rung", "rung " + std::to_string(from) + " is the top rung: nothing is above it.");
    if (c.rung != from || c.waiting || std::isnan(c.got[from]))
        throw config_error(
            "rung", "candidate " + std::to_string(id) + " has no successful result at rung " + std::to_string(from) + " to go up from.");
    if (c.up[from])
        throw config_error("rung", "candidate " + std::to_string(id) + " was promoted from rung " + std::to_string(from) + " before.");
    c.up[from] = true;
    c.rung = from + 1;
    c.waiting = true;
    rung_books& r = rungs_[from];
    const key k = order(result{id, c.got[from], true});
    r.waiting.erase(k);
    r.promoted.insert(std::lower_bound(r.promoted.begin(), r.promoted.end(), k), k);
}

void rung_ladder::revalue(std::uint64_t id, std::size_t rung, double value) {
    check_rung(rung, "revalue");
    const auto it = candidates_.find(id);
    if (it == candidates_.end()) throw config_error("id", "candidate " + std::to_string(id) + " was never started.");
    candidate& c = it->second;
    if (c.rung < rung || (c.rung == rung && c.waiting) || std::isnan(c.got[rung]))
        throw config_error("rung",
                           "candidate " + std::to_string(id) + " has no successful result at rung " + std::to_string(rung) + " to change.");
    if (!std::isfinite(value))
        throw config_error("value", "candidate " + std::to_string(id) + "'s successful result is not a finite number.");
    rung_books& r = rungs_[rung];
    const key before = order(result{id, c.got[rung], true}), after = order(result{id, value, true});
    c.got[rung] = value;
    r.ranked.erase(before);
    r.ranked.insert(after);
    if (c.up[rung]) {
        r.promoted.erase(std::lower_bound(r.promoted.begin(), r.promoted.end(), before));
        r.promoted.insert(std::lower_bound(r.promoted.begin(), r.promoted.end(), after), after);
    } else {
        r.waiting.erase(before);
        r.waiting.insert(after);
    }
}

std::vector<rung_ladder::result> rung_ladder::results(std::size_t rung) const {
    check_rung(rung, "results");
    std::vector<result> out;
    out.reserve(rungs_[rung].ranked.size());
    for (const auto& [failed, value, id] : rungs_[rung].ranked)
        out.push_back(result{id, failed != 0 ? std::numeric_limits<double>::quiet_NaN() : value, failed == 0});
    return out;
}

bool rung_ladder::promoted(std::uint64_t id, std::size_t rung) const {
    check_rung(rung, "promoted");
    const auto it = candidates_.find(id);
    return it != candidates_.end() && it->second.up[rung];
}

std::optional<rung_ladder::result> rung_ladder::best(std::size_t rung) const {
    check_rung(rung, "best");
    const auto& ranked = rungs_[rung].ranked;
    if (ranked.empty() || std::get<0>(*ranked.begin()) != 0) return std::nullopt;
    const auto& [failed, value, id] = *ranked.begin();
    return result{id, value, failed == 0};
}

std::optional<std::size_t> rung_ladder::top_reached() const {
    for (std::size_t k = budgets_.size(); k-- > 0;)
        if (best(k)) return k;
    return std::nullopt;
}

std::vector<std::pair<std::uint64_t, std::size_t>> rung_ladder::pending() const {
    std::vector<std::pair<std::uint64_t, std::size_t>> out;
    for (const auto& [id, c] : candidates_)
        if (c.waiting) out.emplace_back(id, c.rung);
    return out;
}

std::size_t rung_ladder::rung_of(std::uint64_t id) const {
    const auto it = candidates_.find(id);
    if (it == candidates_.end()) throw config_error("id", "candidate " + std::to_string(id) + " was never started.");
    return it->second.rung;
}

}  // namespace fracnas::core
