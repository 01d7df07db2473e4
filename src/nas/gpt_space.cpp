// The GPT search-space preset: codec variables (per layer, or shared by all layers in the
// homogeneous variant), decoding with the FFN and head constraints, and canonical encoding.
#include "fracnas/nas/gpt_space.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "fracnas/error.hpp"

namespace fracnas::nas {

namespace {

std::uint32_t largest_divisor_at_most(std::uint32_t n, std::uint32_t limit) {
    for (std::uint32_t h = std::max<std::uint32_t>(1, std::min(limit, n)); h > 1; --h)
        if (n % h == 0) return h;
    return 1;
}

}  // namespace

gpt_space::gpt_space(gpt_space_config cfg) : cfg_(std::move(cfg)) {
    const auto& c = cfg_;
    if (c.n_layer_min == 0 || c.n_layer_min > c.n_layer_max)
        throw config_error("n_layer", "the depth range must satisfy 1 <= n_layer_min <= n_layer_max.");
    if (c.d_model_step == 0 || c.d_model_min == 0 || c.d_model_min > c.d_model_max || (c.d_model_max - c.d_model_min) % c.d_model_step != 0)
        throw config_error("d_model", "the width range must be a non-empty grid: d_model_max - d_model_min a multiple of d_model_step.");
    if (c.d_inner_step == 0 || !(c.d_inner_min_ratio > 0.0) || !(c.d_inner_max_ratio > c.d_inner_min_ratio))
        throw config_error("d_inner", "the FFN ratios must satisfy 0 < d_inner_min_ratio < d_inner_max_ratio, with a positive step.");
    for (std::uint32_t d = c.d_model_min; d <= c.d_model_max; d += c.d_model_step)
        if (d_inner_grid(d).empty())
            throw config_error("d_inner", "no FFN width on the " + std::to_string(c.d_inner_step) + " grid lies in (" +
                                              std::to_string(c.d_inner_min_ratio) + ", " + std::to_string(c.d_inner_max_ratio) +
                                              "] x d_model = " + std::to_string(d) + ".");
    for (const auto s : c.head_sizes) {
        if (s == 0) throw config_error("head_sizes", "a head size must be positive.");
        head_choice_names_.push_back("size" + std::to_string(s));
    }
    for (const auto h : c.head_counts) {
        if (h == 0) throw config_error("head_counts", "a head count must be positive.");
        head_choice_names_.push_back("count" + std::to_string(h));
    }
    if (head_choice_names_.empty()) throw config_error("head_sizes", "the space needs at least one head choice.");
    for (std::size_t i = 0; i < c.embed_widths.size(); ++i) {
        if (c.embed_widths[i] > 1000000) throw config_error("embed_widths", "an embedding width must be at most 1,000,000.");
        for (std::size_t j = 0; j < i; ++j)
            if (c.embed_widths[j] == c.embed_widths[i])
                throw config_error("embed_widths", "the embedding width " + std::to_string(c.embed_widths[i]) + " is listed twice.");
        embed_names_.push_back(c.embed_widths[i] == 0 ? "tied" : "e" + std::to_string(c.embed_widths[i]));
    }
    codec_.add(space::int_range{"n_layer", c.n_layer_min, c.n_layer_max, 1});
    codec_.add(space::int_range{"d_model", c.d_model_min, c.d_model_max, c.d_model_step});
    if (c.homogeneous) {
        // one FFN fraction and one head choice; decode() repeats them for every layer
        codec_.add(space::real_range{"d_inner", 0.0, 1.0});
        codec_.add(space::categorical{"n_head", head_choice_names_});
    } else {
        codec_.add(space::layer_array{"d_inner", "n_layer", space::real_range{"", 0.0, 1.0}});
        codec_.add(space::layer_array{"n_head", "n_layer", space::categorical{"", head_choice_names_}});
    }
    if (!embed_names_.empty()) codec_.add(space::categorical{"d_embed", embed_names_});
}

std::vector<std::uint32_t> gpt_space::d_inner_grid(std::uint32_t d_model) const {
    const double step = cfg_.d_inner_step;
    // strictly above min_ratio * d, at most max_ratio * d
    const auto lo = static_cast<std::uint64_t>(std::floor(cfg_.d_inner_min_ratio * d_model / step) + 1);
    const auto hi = static_cast<std::uint64_t>(std::floor(cfg_.d_inner_max_ratio * d_model / step));
    std::vector<std::uint32_t> grid;
    for (std::uint64_t k = lo; k <= hi; ++k) grid.push_back(static_cast<std::uint32_t>(k * cfg_.d_inner_step));
    return grid;
}

std::uint32_t gpt_space::heads(std::size_t choice, std::uint32_t d_model) const {
    const std::size_t sizes = cfg_.head_sizes.size();
    if (choice < sizes) return largest_divisor_at_most(d_model, d_model / cfg_.head_sizes[choice]);
    return largest_divisor_at_most(d_model, cfg_.head_counts.at(choice - sizes));
}

architecture gpt_space::decode(const core::point& x) const {
    const space::assignment v = codec_.decode(x);
    architecture a;
    a.n_layer = static_cast<std::uint32_t>(v.get_int("n_layer"));
    a.d_model = static_cast<std::uint32_t>(v.get_int("d_model"));
    a.vocab = cfg_.vocab;
    a.context = cfg_.context;
    const auto grid = d_inner_grid(a.d_model);
    const double n = static_cast<double>(grid.size());
    const auto ffn_width = [&](double frac) {
        const auto level = static_cast<std::size_t>(std::min(std::floor(frac * n), n - 1.0));
        return grid[level];
    };
    const auto head_count = [&](const std::string& name) {
        std::size_t choice = 0;
        while (head_choice_names_[choice] != name) ++choice;
        return heads(choice, a.d_model);
    };
    if (cfg_.homogeneous) {
        a.d_inner.assign(a.n_layer, ffn_width(v.get_real("d_inner")));
        a.n_head.assign(a.n_layer, head_count(v.get_string("n_head")));
    } else {
        for (const double frac : v.get_reals("d_inner")) a.d_inner.push_back(ffn_width(frac));
        for (const auto& name : v.get_strings("n_head")) a.n_head.push_back(head_count(name));
    }
    if (!embed_names_.empty()) {
        const std::string name = v.get_string("d_embed");
        std::size_t k = 0;
        while (embed_names_[k] != name) ++k;
        a.d_embed = cfg_.embed_widths[k] == a.d_model ? 0 : cfg_.embed_widths[k];
    }
    return a;
}

core::point gpt_space::encode(const architecture& a) const {
    validate(a);
    if (a.vocab != cfg_.vocab || a.context != cfg_.context)
        throw config_error(
            "vocab", "the space fixes vocab = " + std::to_string(cfg_.vocab) + " and context = " + std::to_string(cfg_.context) + ".");
    if (cfg_.homogeneous)
        for (std::uint32_t l = 1; l < a.n_layer; ++l) {
            const std::string layer = "[" + std::to_string(l) + "]";
            if (a.d_inner[l] != a.d_inner[0])
                throw config_error("d_inner" + layer, "d_inner" + layer + " = " + std::to_string(a.d_inner[l]) +
                                                          " differs from d_inner[0] = " + std::to_string(a.d_inner[0]) +
                                                          ": the homogeneous space needs every layer to share one FFN width.");
            if (a.n_head[l] != a.n_head[0])
                throw config_error("n_head" + layer, "n_head" + layer + " = " + std::to_string(a.n_head[l]) +
                                                         " differs from n_head[0] = " + std::to_string(a.n_head[0]) +
                                                         ": the homogeneous space needs every layer to share one head count.");
        }
    const auto grid = d_inner_grid(a.d_model);
    std::vector<double> fractions;
    std::vector<std::string> choices;
    for (std::uint32_t l = 0; l < a.n_layer; ++l) {
        const std::string field = "d_inner[" + std::to_string(l) + "]";
        std::size_t level = 0;
        while (level < grid.size() && grid[level] != a.d_inner[l]) ++level;
        if (level == grid.size())
            throw config_error(field, field + " = " + std::to_string(a.d_inner[l]) + " is not on the FFN grid for d_model = " +
                                          std::to_string(a.d_model) + " (" + std::to_string(grid.front()) + ".." +
                                          std::to_string(grid.back()) + " step " + std::to_string(cfg_.d_inner_step) + ").");
        fractions.push_back((static_cast<double>(level) + 0.5) / static_cast<double>(grid.size()));
        std::size_t choice = 0;
        while (choice < head_choice_names_.size() && heads(choice, a.d_model) != a.n_head[l]) ++choice;
        if (choice == head_choice_names_.size())
            throw config_error("n_head[" + std::to_string(l) + "]",
                               "n_head[" + std::to_string(l) + "] = " + std::to_string(a.n_head[l]) +
                                   " is not a head count the space gives for d_model = " + std::to_string(a.d_model) + ".");
        choices.push_back(head_choice_names_[choice]);
    }
    std::string embed;
    if (!embed_names_.empty()) {
        // e = d_model is the tied table: listed as 0, or as that width itself
        for (std::size_t k = 0; k < embed_names_.size() && embed.empty(); ++k) {
            const std::uint32_t e = cfg_.embed_widths[k] == 0 ? a.d_model : cfg_.embed_widths[k];
            if (e == embed_width(a)) embed = embed_names_[k];
        }
        if (embed.empty())
            throw config_error("d_embed", "d_embed = " + std::to_string(embed_width(a)) + " is not an embedding width of the space.");
    } else if (embed_width(a) != a.d_model) {
        throw config_error("d_embed", "the space has no embedding widths: d_embed must equal d_model (" + std::to_string(a.d_model) + ").");
    }
    space::assignment v;
    v.set("n_layer", static_cast<std::int64_t>(a.n_layer));
    v.set("d_model", static_cast<std::int64_t>(a.d_model));
    if (cfg_.homogeneous) {  // every layer is layer 0
        v.set("d_inner", fractions.front());
        v.set("n_head", choices.front());
    } else {
        v.set("d_inner", fractions);
        v.set("n_head", choices);
    }
    if (!embed.empty()) v.set("d_embed", embed);
    return codec_.encode(v);  // throws config_error{"n_layer"/"d_model"} out of range or off the grid
}

core::point gpt_space::canonical(const core::point& x) const {
    return encode(decode(x));
}

}  // namespace fracnas::nas
