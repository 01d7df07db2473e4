// The GPT search-space preset: codec variables (per layer, or shared by all layers in the
// homogeneous variant), decoding with the FFN and head constraints, and canonical encoding.
#include "fracnas/nas/gpt_space.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "fracnas/error.hpp"

namespace fracnas::nas {

namespace {

// The largest h <= limit dividing n (with even_parts, leaving n / h even), 1 when none is larger.
std::uint32_t largest_divisor_at_most(std::uint32_t n, std::uint32_t limit, bool even_parts = false) {
    for (std::uint32_t h = std::max<std::uint32_t>(1, std::min(limit, n)); h > 1; --h)
        if (n % h == 0 && (!even_parts || (n / h) % 2 == 0)) return h;
    return 1;
}

const std::vector<std::uint32_t> one_per_query_head = {0};  // the KV choices of a space that lists none

// The KV heads choice c gives a layer of n_head query heads.
std::uint32_t kv_count(std::uint32_t c, std::uint32_t n_head) {
    return c == 0 ? n_head : largest_divisor_at_most(n_head, c);
}

}  // namespace

std::vector<std::string> block_words(const gpt_space_config& c, const std::string& key) {
    for (const auto& [k, words] : c.block_options)
        if (k == key) return words;
    return {block_option_words(key).front()};
}

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
    for (std::size_t i = 0; i < c.block_options.size(); ++i) {
        const auto& [key, words] = c.block_options[i];
        const auto& valid = block_option_words(key);  // throws for an unknown key
        for (std::size_t j = 0; j < i; ++j)
            if (c.block_options[j].first == key) throw config_error(key, "the block option " + key + " is listed twice.");
        if (words.empty() || words.size() > valid.size())
            throw config_error(key, "the block option " + key + " needs one or two of " + valid[0] + " and " + valid[1] + ".");
        for (std::size_t w = 0; w < words.size(); ++w) {
            architecture scratch;
            set_block_option(scratch, key, words[w]);  // throws for an unknown word
            if (w == 1 && words[0] == words[1]) throw config_error(key, key + " lists " + words[0] + " twice.");
        }
    }
    for (std::size_t i = 0; i < c.kv_heads.size(); ++i) {
        if (c.kv_heads[i] > 1000000) throw config_error("kv_heads", "a KV head count must be at most 1,000,000.");
        for (std::size_t j = 0; j < i; ++j)
            if (c.kv_heads[j] == c.kv_heads[i])
                throw config_error("kv_heads", "the KV head choice " + std::to_string(c.kv_heads[i]) + " is listed twice.");
        kv_names_.push_back(c.kv_heads[i] == 0 ? "all" : "kv" + std::to_string(c.kv_heads[i]));
    }
    if (!(c.swiglu_ratio > 0.0)) throw config_error("swiglu_ratio", "the SwiGLU width ratio must be positive.");
    const auto positions = block_words(c, "positions");
    if (std::find(positions.begin(), positions.end(), "rotary") != positions.end() && (c.d_model_min % 2 != 0 || c.d_model_step % 2 != 0))
        throw config_error("d_model", "rotary positions need even head dimensions: d_model_min and d_model_step must be even.");
    for (const auto& word : block_words(c, "mlp")) {
        architecture scratch;
        set_block_option(scratch, "mlp", word);
        for (std::uint32_t d = c.d_model_min; d <= c.d_model_max; d += c.d_model_step)
            if (d_inner_grid(d, scratch.mlp).empty())
                throw config_error("d_inner", "no " + word + " FFN width on the " + std::to_string(c.d_inner_step) +
                                                  " grid lies in the space's ratios for d_model = " + std::to_string(d) + ".");
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
    for (const auto& key : block_option_keys())
        if (const auto words = block_words(c, key); words.size() > 1) codec_.add(space::categorical{key, words});
    if (kv_names_.size() > 1) {
        if (c.homogeneous)
            codec_.add(space::categorical{"n_kv_head", kv_names_});
        else
            codec_.add(space::layer_array{"n_kv_head", "n_layer", space::categorical{"", kv_names_}});
    }
}

std::vector<std::uint32_t> gpt_space::d_inner_grid(std::uint32_t d_model, mlp_kind mlp) const {
    const double step = cfg_.d_inner_step;
    const double scale = mlp == mlp_kind::swiglu ? cfg_.swiglu_ratio : 1.0;
    // strictly above min_ratio * d, at most max_ratio * d
    const auto lo = static_cast<std::uint64_t>(std::floor(scale * cfg_.d_inner_min_ratio * d_model / step) + 1);
    const auto hi = static_cast<std::uint64_t>(std::floor(scale * cfg_.d_inner_max_ratio * d_model / step));
    std::vector<std::uint32_t> grid;
    for (std::uint64_t k = lo; k <= hi; ++k) grid.push_back(static_cast<std::uint32_t>(k * cfg_.d_inner_step));
    return grid;
}

std::uint32_t gpt_space::heads(std::size_t choice, std::uint32_t d_model, bool rotary) const {
    const std::size_t sizes = cfg_.head_sizes.size();
    if (choice < sizes) return largest_divisor_at_most(d_model, d_model / cfg_.head_sizes[choice], rotary);
    return largest_divisor_at_most(d_model, cfg_.head_counts.at(choice - sizes), rotary);
}

architecture gpt_space::decode(const core::point& x) const {
    const space::assignment v = codec_.decode(x);
    architecture a;
    a.n_layer = static_cast<std::uint32_t>(v.get_int("n_layer"));
    a.d_model = static_cast<std::uint32_t>(v.get_int("d_model"));
    a.vocab = cfg_.vocab;
    a.context = cfg_.context;
    for (const auto& key : block_option_keys()) {
        const auto words = block_words(cfg_, key);
        set_block_option(a, key, words.size() > 1 ? v.get_string(key) : words.front());
    }
    const bool rotary = a.positions == position_kind::rotary;
    const auto grid = d_inner_grid(a.d_model, a.mlp);
    const double n = static_cast<double>(grid.size());
    const auto ffn_width = [&](double frac) {
        const auto level = static_cast<std::size_t>(std::min(std::floor(frac * n), n - 1.0));
        return grid[level];
    };
    const auto head_count = [&](const std::string& name) {
        std::size_t choice = 0;
        while (head_choice_names_[choice] != name) ++choice;
        return heads(choice, a.d_model, rotary);
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
    if (!kv_names_.empty()) {
        std::vector<std::string> names;
        if (kv_names_.size() == 1)
            names.assign(a.n_layer, kv_names_.front());
        else if (cfg_.homogeneous)
            names.assign(a.n_layer, v.get_string("n_kv_head"));
        else
            names = v.get_strings("n_kv_head");
        bool grouped = false;
        for (std::uint32_t l = 0; l < a.n_layer; ++l) {
            std::size_t k = 0;
            while (kv_names_[k] != names[l]) ++k;
            a.n_kv_head.push_back(kv_count(cfg_.kv_heads[k], a.n_head[l]));
            grouped = grouped || a.n_kv_head.back() != a.n_head[l];
        }
        if (!grouped) a.n_kv_head.clear();  // one per query head: the canonical form
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
    std::vector<std::pair<std::string, std::string>> options;  // the block options that are coordinates
    for (const auto& key : block_option_keys()) {
        const auto words = block_words(cfg_, key);
        const std::string word = block_option(a, key);
        if (std::find(words.begin(), words.end(), word) == words.end())
            throw config_error(key, key + "=" + word + " is not in the space, whose " + key + " is " + words.front() +
                                        (words.size() > 1 ? " or " + words.back() : std::string()) + ".");
        if (words.size() > 1) options.emplace_back(key, word);
    }
    const bool rotary = a.positions == position_kind::rotary;
    const auto grid = d_inner_grid(a.d_model, a.mlp);
    std::vector<double> fractions;
    std::vector<std::string> choices, kv_choices;
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
        while (choice < head_choice_names_.size() && heads(choice, a.d_model, rotary) != a.n_head[l]) ++choice;
        if (choice == head_choice_names_.size())
            throw config_error("n_head[" + std::to_string(l) + "]",
                               "n_head[" + std::to_string(l) + "] = " + std::to_string(a.n_head[l]) +
                                   " is not a head count the space gives for d_model = " + std::to_string(a.d_model) + ".");
        choices.push_back(head_choice_names_[choice]);
        const std::uint32_t kv = kv_heads(a, l);
        const std::vector<std::uint32_t>& kv_listed = cfg_.kv_heads.empty() ? one_per_query_head : cfg_.kv_heads;
        std::size_t k = 0;
        while (k < kv_listed.size() && kv_count(kv_listed[k], a.n_head[l]) != kv) ++k;
        if (k == kv_listed.size())
            throw config_error("n_kv_head[" + std::to_string(l) + "]",
                               "n_kv_head[" + std::to_string(l) + "] = " + std::to_string(kv) +
                                   " is not a KV head count the space gives for n_head = " + std::to_string(a.n_head[l]) + ".");
        if (cfg_.homogeneous && kv != kv_heads(a, 0))
            throw config_error("n_kv_head[" + std::to_string(l) + "]",
                               "n_kv_head[" + std::to_string(l) +
                                   "] differs from n_kv_head[0]: the homogeneous space needs every layer to "
                                   "share one KV head count.");
        if (!kv_names_.empty()) kv_choices.push_back(kv_names_[k]);
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
    for (const auto& [key, word] : options) v.set(key, word);
    if (kv_names_.size() > 1) {
        if (cfg_.homogeneous)
            v.set("n_kv_head", kv_choices.front());
        else
            v.set("n_kv_head", kv_choices);
    }
    return codec_.encode(v);  // throws config_error{"n_layer"/"d_model"} out of range or off the grid
}

core::point gpt_space::canonical(const core::point& x) const {
    return encode(decode(x));
}

}  // namespace fracnas::nas
