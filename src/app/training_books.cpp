// The books of a training search (training_books.hpp): admission, the orders of trainings, the
// ladder's results and the verdicts the optimizer is told, the best feasible answer.
#include "fracnas/app/training_books.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "fracnas/error.hpp"
#include "fracnas/nas/architecture.hpp"

namespace fracnas::app {

namespace {

// The reference's key where candidates have their ids (an evaluation id never reaches it).
constexpr std::uint64_t reference_key = std::numeric_limits<std::uint64_t>::max();
// How strongly a perplexity ratio past the bound counts against a candidate's latency ratio.
constexpr double past_bound_weight = 10.0;

// A status that says nothing of the candidate (its worker hung or lost its device; a training
// stopped before its budget): the same training is ordered again.
bool transient(eval::outcome_status s) {
    return s == eval::outcome_status::timeout || s == eval::outcome_status::device_lost || s == eval::outcome_status::stopped;
}

bool usable(const storage::search_training_record& r) {
    return r.status == eval::outcome_status::ok && std::isfinite(r.val_perplexity) && r.val_perplexity > 0.0;
}

// A usable training's probe, measured (below its budget, a finite perplexity).
bool probed(const storage::search_training_record& r) {
    return r.probe_budget > 0 && r.probe_budget < r.budget && std::isfinite(r.probe_perplexity) && r.probe_perplexity > 0.0;
}

}  // namespace

std::optional<std::uint64_t> shape_hash(const std::string& arch) {
    try {
        nas::architecture a = nas::parse_architecture(arch);
        // heads of one dimension each: n_head d_model, and n_kv_head the keys' width, which is
        // what the KV heads change in the model (d_model, and no n_kv_head in the text, without grouping)
        std::vector<std::uint32_t> widths;
        for (std::uint32_t l = 0; l < a.n_layer; ++l) widths.push_back(nas::kv_heads(a, l) * (a.d_model / a.n_head[l]));
        a.n_head.assign(a.n_layer, a.d_model);
        a.n_kv_head = widths;
        return nas::hash(a);
    } catch (const config_error&) {
        return std::nullopt;
    }
}

double extrapolated_ratio(double ratio, double budget, double earlier_ratio, double earlier_budget, double top_budget) {
    if (!(earlier_ratio > 0.0) || !(earlier_budget > 0.0) || !(earlier_budget < budget) || !(top_budget >= budget)) return ratio;
    const double exponent = std::log(top_budget / budget) / std::log(budget / earlier_budget);
    return ratio * std::pow(ratio / earlier_ratio, exponent);
}

training_books::training_books(const search_config& cfg)
    : cfg_(cfg),
      reference_arch_(nas::canonical(cfg.reference_arch())),
      reference_hash_(nas::hash(cfg.reference_arch())),
      top_(static_cast<std::uint32_t>(cfg.rungs.size() - 1)),
      ladder_(std::vector<double>(cfg.rungs.begin(), cfg.rungs.end()), cfg.eta),
      calibrations_(cfg.rungs.size() - 1) {}

bool training_books::admit(std::uint64_t candidate, std::uint64_t hash, const std::string& arch, const core::point& x,
                           double latency_ratio) {
    if (by_hash_.count(hash) || variants_.count(hash)) return true;
    if (best_ && !(latency_ratio < trainees_.at(*best_).latency_ratio)) return false;
    if (cfg_.head_variants == head_variants_kind::shared)
        if (const auto shape = shape_hash(arch))
            if (const auto s = by_shape_.find(*shape); s != by_shape_.end()) {
                variants_.emplace(hash, variant{s->second, latency_ratio});
                trainees_.at(s->second).variants.push_back(hash);
                return true;
            }
    enrol(candidate, hash, arch, x, latency_ratio);
    to_start_.push_back(candidate);
    return true;
}

void training_books::enrol(std::uint64_t candidate, std::uint64_t hash, const std::string& arch, const core::point& x,
                           double latency_ratio) {
    if (trainees_.count(candidate)) return;
    if (by_hash_.count(hash))
        throw error("the archive's trainings name candidate " + std::to_string(candidate) + ", whose architecture another candidate (" +
                    std::to_string(by_hash_.at(hash)) + ") trains already.");
    trainee t;
    t.hash = hash;
    t.arch = arch;
    t.x = x;
    t.latency_ratio = latency_ratio;
    trainees_.emplace(candidate, std::move(t));
    by_hash_.emplace(hash, candidate);
    if (const auto shape = shape_hash(arch)) by_shape_.emplace(*shape, candidate);
    want_reference({0, cfg_.train_seed});
}

std::optional<training_verdict> training_books::verdict(std::uint64_t hash) const {
    if (const auto v = variants_.find(hash); v != variants_.end()) {
        const trainee& s = trainees_.at(v->second.sibling);
        if (!s.verdict || s.verdict->failed) return s.verdict;
        return training_verdict{s.verdict->value - s.latency_ratio + v->second.latency_ratio, false};
    }
    const auto it = by_hash_.find(hash);
    if (it == by_hash_.end()) return std::nullopt;
    return trainees_.at(it->second).verdict;
}

std::optional<std::uint64_t> training_books::sibling(std::uint64_t hash) const {
    const auto v = variants_.find(hash);
    if (v == variants_.end()) return std::nullopt;
    return v->second.sibling;
}

void training_books::decided(const trainee& t, std::vector<std::uint64_t>& hashes) const {
    hashes.push_back(t.hash);
    hashes.insert(hashes.end(), t.variants.begin(), t.variants.end());
}

void training_books::want_reference(rung_seed at) {
    if (!reference_.count(at) && !done_.count({reference_key, at})) reference_wanted_.insert(at);
}

std::optional<double> training_books::ratio(const trainee& t, rung_seed at) const {
    const auto mine = t.perplexity.find(at);
    const auto ref = reference_.find(at);
    if (mine == t.perplexity.end() || ref == reference_.end()) return std::nullopt;
    return mine->second / ref->second;
}

std::optional<std::pair<std::uint64_t, double>> training_books::earlier(const trainee& t, std::uint32_t rung) const {
    const auto mine = t.probe.find(rung);
    const auto ref = reference_probe_.find(rung);
    if (mine != t.probe.end() && ref != reference_probe_.end() && mine->second.first == ref->second.first)
        return std::make_pair(mine->second.first, mine->second.second / ref->second.second);
    if (rung > 0)
        if (const auto r = ratio(t, {rung - 1, cfg_.train_seed})) return std::make_pair(cfg_.rungs[rung - 1], *r);
    return std::nullopt;
}

double training_books::top_ratio(const trainee& t, std::uint32_t rung) const {
    const double r = trend_ratio(t, rung);
    return rung == top_ ? r : r * calibrations_[rung].factor;
}

training_books::calibration training_books::calibration_at(std::uint32_t rung) const {
    return rung < top_ ? calibrations_[rung] : calibration{};
}

void training_books::calibrate() {
    if (cfg_.trend_calibration != on_off::on) return;
    for (std::uint32_t k = 0; k < top_; ++k) {
        double log_sum = 0.0;
        std::size_t n = 0;
        for (const auto& [c, t] : trainees_) {
            const auto measured = ratio(t, {top_, cfg_.train_seed});
            if (!measured || !ratio(t, {k, cfg_.train_seed})) continue;
            log_sum += std::log(*measured / trend_ratio(t, k));
            ++n;
        }
        const calibration now{n > 0 ? std::exp(log_sum / static_cast<double>(n)) : 1.0, n};
        if (now.from == calibrations_[k].from && now.factor == calibrations_[k].factor) continue;
        calibrations_[k] = now;
        // every result at rung k ranks by the new estimates (those waiting for the reference's
        // result have no ratio yet: settle() values them)
        for (const auto& [c, t] : trainees_)
            if (ratio(t, {k, cfg_.train_seed})) ladder_.revalue(c, k, value(t, k));
    }
}

double training_books::trend_ratio(const trainee& t, std::uint32_t rung) const {
    const double r = *ratio(t, {rung, cfg_.train_seed});
    if (rung == top_ || cfg_.trend_probe <= 0.0) return r;
    const auto e = earlier(t, rung);
    if (!e) return r;
    return extrapolated_ratio(r, static_cast<double>(cfg_.rungs[rung]), e->second, static_cast<double>(e->first),
                              static_cast<double>(cfg_.rungs[top_]));
}

double training_books::value(const trainee& t, std::uint32_t rung) const {
    return t.latency_ratio + past_bound_weight * std::max(0.0, top_ratio(t, rung) - cfg_.max_perplexity_ratio);
}

bool training_books::can_improve(const trainee& t) const {
    return !best_ || t.latency_ratio < trainees_.at(*best_).latency_ratio;
}

training_order training_books::order_for(std::uint64_t candidate, rung_seed at) {
    training_order o;
    o.task = cfg_.train_task(at.first, at.second);
    if (candidate == reference_key) {
        o.reference = true;
        o.arch = reference_arch_;
        o.hash = reference_hash_;
    } else {
        const trainee& t = trainees_.at(candidate);
        o.candidate = candidate;
        o.arch = t.arch;
        o.hash = t.hash;
        o.x = t.x;
    }
    ordered_.insert({candidate, at});
    return o;
}

std::optional<training_order> training_books::next() {
    if (!reference_failure_.empty()) throw error(reference_failure_);
    const auto pending = [&](std::uint64_t key, rung_seed at) { return ordered_.count({key, at}) || done_.count({key, at}); };
    while (true) {
        // the reference first: every candidate's ratio at a rung waits for it
        for (auto it = reference_wanted_.begin(); it != reference_wanted_.end();) {
            const rung_seed at = *it;
            it = reference_wanted_.erase(it);
            if (!pending(reference_key, at)) return order_for(reference_key, at);
        }
        // promotions and retries already decided, in order
        while (!queued_.empty()) {
            const auto [candidate, at] = queued_.front();
            queued_.pop_front();
            if (!pending(candidate, at)) return order_for(candidate, at);
        }
        // the best answer's second seed
        for (auto it = second_seed_wanted_.begin(); it != second_seed_wanted_.end();) {
            const std::uint64_t c = *it;
            it = second_seed_wanted_.erase(it);
            const rung_seed at{top_, cfg_.train_seed + 1};
            if (!pending(c, at) && !trainees_.at(c).failed) return order_for(c, at);
        }
        // ASHA: the lowest rung's candidate in the top 1/eta of an upper rung goes up
        if (const auto p = ladder_.next_promotion()) {
            ladder_.mark_promoted(p->id, p->from);
            const trainee& t = trainees_.at(p->id);
            const auto to = static_cast<std::uint32_t>(p->to);
            if (!can_improve(t)) continue;  // it waits at `to` untrained, counted in no rung's results
            want_reference({to, cfg_.train_seed});
            queued_.push_back({p->id, {to, cfg_.train_seed}});  // after the reference at `to`
            continue;
        }
        // a new candidate's first rung
        while (!to_start_.empty()) {
            const std::uint64_t c = to_start_.front();
            to_start_.pop_front();
            trainee& t = trainees_.at(c);
            if (t.started) continue;
            t.started = true;
            if (!ladder_.holds(c)) ladder_.start(c);
            return order_for(c, {0, cfg_.train_seed});
        }
        return std::nullopt;
    }
}

void training_books::place(std::uint64_t candidate, std::uint32_t rung) {
    // replay: the candidate reached `rung` then (its start, its promotion), as the ladder must know
    if (rung == 0) {
        if (!ladder_.holds(candidate)) ladder_.start(candidate);
        trainees_.at(candidate).started = true;
        return;
    }
    if (!ladder_.holds(candidate))
        throw error("the archive's trainings hold candidate " + std::to_string(candidate) + " at rung " + std::to_string(rung) +
                    " without its result at rung 0.");
    if (ladder_.rung_of(candidate) == rung - 1 && !ladder_.promoted(candidate, rung - 1)) ladder_.mark_promoted(candidate, rung - 1);
}

std::vector<std::uint64_t> training_books::settle(std::uint32_t rung) {
    std::vector<std::uint64_t> decided;
    const auto it = deferred_.find(rung);
    if (it == deferred_.end() || !reference_.count({rung, cfg_.train_seed})) return decided;
    for (const std::uint64_t c : it->second) {
        trainee& t = trainees_.at(c);
        const double v = value(t, rung);
        ladder_.record(c, rung, v, true);
        if (rung == 0 && !t.verdict) {
            t.verdict = training_verdict{v, false};
            this->decided(t, decided);
        }
    }
    deferred_.erase(it);
    return decided;
}

std::vector<std::uint64_t> training_books::record(const storage::search_training_record& r) {
    const std::uint64_t key = r.reference ? reference_key : r.candidate;
    const rung_seed at{r.rung, r.seed};
    if (r.rung > top_ || (r.seed != cfg_.train_seed && !(r.seed == cfg_.train_seed + 1 && r.rung == top_)))
        throw error("a training result names rung " + std::to_string(r.rung) + " and seed " + std::to_string(r.seed) +
                    ", which this search does not train.");
    if (!r.reference && !trainees_.count(r.candidate))
        throw error("a training result names candidate " + std::to_string(r.candidate) + ", which this search does not train.");
    ordered_.erase({key, at});
    std::vector<std::uint64_t> decided;
    if (transient(r.status)) {  // nothing learnt: the same training again
        if (r.reference) {
            reference_wanted_.insert(at);
        } else {
            if (at.second == cfg_.train_seed) place(r.candidate, r.rung);
            queued_.push_back({r.candidate, at});
        }
        return decided;
    }
    if (done_.count({key, at})) return decided;  // a second result of one training (re-queued after a hang): the first counts
    done_.insert({key, at});
    if (r.reference) {
        if (!usable(r)) {
            reference_failure_ = "the reference " + reference_arch_ + " failed to train at rung " + std::to_string(r.rung) + " (" +
                                 std::to_string(r.budget) + " tokens, seed " + std::to_string(r.seed) + "): " + eval::to_string(r.status) +
                                 (r.message.empty() ? "" : ", " + r.message) +
                                 "; without it no perplexity ratio can be measured (change the recipe or the rungs).";
            return decided;
        }
        reference_[at] = r.val_perplexity;
        if (probed(r)) reference_probe_[r.rung] = {r.probe_budget, r.probe_perplexity};
        reference_wanted_.erase(at);
        decided = settle(r.rung);
        if (at == rung_seed{top_, cfg_.train_seed}) calibrate();
        update_best();
        return decided;
    }
    trainee& t = trainees_.at(r.candidate);
    if (at.second != cfg_.train_seed) {  // the second seed at the top
        if (usable(r))
            t.perplexity[at] = r.val_perplexity;
        else
            t.second_failed = true;
        update_best();
        return decided;
    }
    place(r.candidate, r.rung);
    if (!usable(r)) {
        t.failed = true;
        ladder_.record(r.candidate, r.rung, std::numeric_limits<double>::quiet_NaN(), false);
        if (r.rung == 0 && !t.verdict) {
            t.verdict = training_verdict{0.0, true};
            this->decided(t, decided);
        }
        return decided;
    }
    t.perplexity[at] = r.val_perplexity;
    if (probed(r)) t.probe[r.rung] = {r.probe_budget, r.probe_perplexity};
    deferred_[r.rung].push_back(r.candidate);
    want_reference(at);
    decided = settle(r.rung);
    if (r.rung == top_) calibrate();
    update_best();
    return decided;
}

void training_books::update_best() {
    const rung_seed first{top_, cfg_.train_seed}, second{top_, cfg_.train_seed + 1};
    std::optional<std::uint64_t> best;
    for (const auto& [c, t] : trainees_) {
        const auto r1 = ratio(t, first);
        if (!r1 || *r1 > cfg_.max_perplexity_ratio || t.second_failed) continue;
        if (const auto r2 = ratio(t, second); r2 && (*r1 + *r2) / 2.0 > cfg_.max_perplexity_ratio) continue;
        if (!best || t.latency_ratio < trainees_.at(*best).latency_ratio) best = c;
    }
    best_ = best;
    if (!best_) return;
    if (!trainees_.at(*best_).perplexity.count(second) && !ordered_.count({*best_, second}) && !done_.count({*best_, second})) {
        second_seed_wanted_.insert(*best_);
        want_reference(second);
    }
}

std::optional<training_books::answer> training_books::best() const {
    if (!best_) return std::nullopt;
    const trainee& t = trainees_.at(*best_);
    answer a;
    a.candidate = *best_;
    a.arch = t.arch;
    a.latency_ratio = t.latency_ratio;
    if (const auto r = ratio(t, {top_, cfg_.train_seed})) a.perplexity_ratios.push_back(*r);
    if (const auto r = ratio(t, {top_, cfg_.train_seed + 1})) a.perplexity_ratios.push_back(*r);
    return a;
}

std::optional<double> training_books::top_ratio_estimate(std::uint64_t candidate, std::uint32_t rung) const {
    const auto it = trainees_.find(candidate);
    if (it == trainees_.end() || rung > top_ || !ratio(it->second, {rung, cfg_.train_seed})) return std::nullopt;
    return top_ratio(it->second, rung);
}

std::optional<double> training_books::trend_estimate(std::uint64_t candidate, std::uint32_t rung) const {
    const auto it = trainees_.find(candidate);
    if (it == trainees_.end() || rung > top_ || !ratio(it->second, {rung, cfg_.train_seed})) return std::nullopt;
    return trend_ratio(it->second, rung);
}

std::vector<std::size_t> training_books::results_per_rung() const {
    std::vector<std::size_t> n;
    for (std::size_t k = 0; k < ladder_.rungs(); ++k) n.push_back(ladder_.results(k).size());
    return n;
}

storage::search_training_record training_row(const training_order& o, const eval::outcome& out) {
    storage::search_training_record r;
    r.reference = o.reference;
    r.candidate = o.candidate;
    r.arch = o.arch;
    r.hash = o.hash;
    r.rung = o.task.rung;
    r.budget = o.task.tokens;
    r.seed = o.task.seed;
    r.status = out.status;
    r.message = out.message;
    r.val_loss = out.val_loss;
    r.val_perplexity = out.val_perplexity;
    r.tokens_trained = out.tokens_trained;
    r.tokens_per_second = out.tokens_per_second;
    r.wall_seconds = out.wall_seconds;
    r.probe_budget = o.task.probe_tokens;
    r.probe_perplexity = o.task.probe_tokens > 0 ? out.probe_perplexity : eval::outcome::none;
    return r;
}

void replay_trainings(training_books& books, const storage::archive_contents& archive) {
    std::unordered_map<std::uint64_t, std::size_t> by_id;
    for (std::size_t i = 0; i < archive.evaluations.size(); ++i) by_id.emplace(archive.evaluations[i].id, i);
    for (const auto& t : archive.search_trainings) {
        if (!t.reference) {
            const auto m = by_id.find(t.candidate);
            if (m == by_id.end())
                throw error("the archive's trainings name candidate " + std::to_string(t.candidate) + ", which it never measured.");
            const auto& e = archive.evaluations[m->second];
            books.enrol(e.id, e.hash, e.arch, e.x, e.ratio);
        }
        books.record(t);
    }
}

}  // namespace fracnas::app
