// Architecture checks, canonical text and hash.
#include "fracnas/nas/architecture.hpp"

#include <charconv>
#include <sstream>

#include "fracnas/error.hpp"

namespace fracnas::nas {

namespace {

constexpr std::uint32_t max_size = 1000000;
constexpr std::uint32_t max_vocab = 10000000;

std::string join(const std::vector<std::uint32_t>& v) {
    std::string s;
    for (std::size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
    return s;
}

std::uint32_t parse_uint(const std::string& field, const std::string& text) {
    std::uint64_t v = 0;
    const char* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, v);
    if (text.empty() || ec != std::errc() || ptr != end || v > 0xffffffffULL)
        throw config_error(field, field + " must be a whole number, got '" + text + "'.");
    return static_cast<std::uint32_t>(v);
}

std::vector<std::uint32_t> parse_list(const std::string& field, const std::string& text) {
    std::vector<std::uint32_t> v;
    std::size_t start = 0;
    while (true) {
        const std::size_t comma = text.find(',', start);
        v.push_back(parse_uint(field, text.substr(start, comma - start)));
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return v;
}

void check_size(const std::string& field, std::uint32_t v, std::uint32_t limit) {
    if (v == 0 || v > limit)
        throw config_error(field, field + " must be in 1.." + std::to_string(limit) + ", got " + std::to_string(v) + ".");
}

// The block options' words in canonical text: the value of each enum at its index.
constexpr const char* norm_names[] = {"layernorm", "rmsnorm"};
constexpr const char* mlp_names[] = {"gelu", "swiglu"};
constexpr const char* position_names[] = {"learned", "rotary"};
constexpr const char* block_names[] = {"sequential", "parallel"};
constexpr const char* output_names[] = {"untied", "tied"};  // indexed by `tied`
constexpr const char* bias_names[] = {"off", "on"};         // indexed by `bias`

template <std::size_t N>
std::size_t parse_word(const std::string& field, const std::string& text, const char* const (&names)[N]) {
    std::string valid;
    for (std::size_t i = 0; i < N; ++i) {
        if (text == names[i]) return i;
        valid += (i ? " or " : "") + std::string(names[i]);
    }
    throw config_error(field, field + " must be " + valid + ", got '" + text + "'.");
}

// Whether a lists as many KV heads as query heads in every layer (none grouped): the default.
bool ungrouped(const architecture& a) {
    for (std::uint32_t l = 0; l < a.n_kv_head.size() && l < a.n_head.size(); ++l)
        if (a.n_kv_head[l] != a.n_head[l]) return false;
    return true;
}

}  // namespace

bool architecture::operator==(const architecture& o) const {
    const auto kv = [](const architecture& a) { return a.n_kv_head.empty() ? a.n_head : a.n_kv_head; };
    return n_layer == o.n_layer && d_model == o.d_model && d_inner == o.d_inner && n_head == o.n_head && vocab == o.vocab &&
           context == o.context && embed_width(*this) == embed_width(o) && norm == o.norm && mlp == o.mlp && positions == o.positions &&
           kv(*this) == kv(o) && block == o.block && tied == o.tied && bias == o.bias;
}

std::uint32_t kv_heads(const architecture& a, std::uint32_t l) {
    return a.n_kv_head.empty() ? a.n_head.at(l) : a.n_kv_head.at(l);
}

bool gpt2_block(const architecture& a) noexcept {
    return a.norm == norm_kind::layer_norm && a.mlp == mlp_kind::gelu && a.positions == position_kind::learned &&
           a.block == block_kind::sequential && a.tied && a.bias && ungrouped(a);
}

std::uint32_t embed_width(const architecture& a) noexcept {
    return a.d_embed == 0 ? a.d_model : a.d_embed;
}

void validate(const architecture& a) {
    check_size("n_layer", a.n_layer, max_size);
    check_size("d_model", a.d_model, max_size);
    check_size("vocab", a.vocab, max_vocab);
    check_size("context", a.context, max_size);
    if (a.d_embed != 0) check_size("d_embed", a.d_embed, max_size);
    for (const auto* list : {&a.d_inner, &a.n_head}) {
        const std::string field = list == &a.d_inner ? "d_inner" : "n_head";
        if (list->size() != a.n_layer)
            throw config_error(
                field, field + " lists " + std::to_string(list->size()) + " layers but n_layer is " + std::to_string(a.n_layer) + ".");
        for (std::size_t l = 0; l < list->size(); ++l) check_size(field + "[" + std::to_string(l) + "]", (*list)[l], max_size);
    }
    for (std::size_t l = 0; l < a.n_head.size(); ++l)
        if (a.d_model % a.n_head[l] != 0)
            throw config_error("n_head[" + std::to_string(l) + "]", "n_head[" + std::to_string(l) + "] = " + std::to_string(a.n_head[l]) +
                                                                        " does not divide d_model = " + std::to_string(a.d_model) + ".");
    if (a.positions == position_kind::rotary)
        for (std::size_t l = 0; l < a.n_head.size(); ++l)
            if ((a.d_model / a.n_head[l]) % 2 != 0)
                throw config_error("n_head[" + std::to_string(l) + "]",
                                   "n_head[" + std::to_string(l) + "] = " + std::to_string(a.n_head[l]) + " gives heads of " +
                                       std::to_string(a.d_model / a.n_head[l]) + " dimensions; rotary positions need an even number.");
    if (a.n_kv_head.empty()) return;
    if (a.n_kv_head.size() != a.n_layer)
        throw config_error("n_kv_head", "n_kv_head lists " + std::to_string(a.n_kv_head.size()) + " layers but n_layer is " +
                                            std::to_string(a.n_layer) + ".");
    for (std::size_t l = 0; l < a.n_kv_head.size(); ++l) {
        const std::string field = "n_kv_head[" + std::to_string(l) + "]";
        check_size(field, a.n_kv_head[l], max_size);
        if (a.n_head[l] % a.n_kv_head[l] != 0)
            throw config_error(field, field + " = " + std::to_string(a.n_kv_head[l]) + " does not divide n_head[" + std::to_string(l) +
                                          "] = " + std::to_string(a.n_head[l]) + ".");
    }
}

std::string canonical(const architecture& a) {
    std::string text = "n_layer=" + std::to_string(a.n_layer) + " d_model=" + std::to_string(a.d_model) + " d_inner=" + join(a.d_inner) +
                       " n_head=" + join(a.n_head) + " vocab=" + std::to_string(a.vocab) + " context=" + std::to_string(a.context) +
                       (embed_width(a) != a.d_model ? " d_embed=" + std::to_string(a.d_embed) : "");
    // the block options, each only where it is not GPT-2's
    if (a.norm != norm_kind::layer_norm) text += std::string(" norm=") + norm_names[static_cast<int>(a.norm)];
    if (a.mlp != mlp_kind::gelu) text += std::string(" mlp=") + mlp_names[static_cast<int>(a.mlp)];
    if (a.positions != position_kind::learned) text += std::string(" positions=") + position_names[static_cast<int>(a.positions)];
    if (!ungrouped(a)) text += " n_kv_head=" + join(a.n_kv_head);
    if (a.block != block_kind::sequential) text += std::string(" block=") + block_names[static_cast<int>(a.block)];
    if (!a.tied) text += " output=untied";
    if (!a.bias) text += " bias=off";
    return text;
}

architecture parse_architecture(const std::string& text) {
    architecture a;
    a.d_inner.clear();
    a.n_head.clear();
    constexpr int fields = 14;
    bool seen[fields] = {};
    static const char* const names[fields] = {"n_layer", "d_model", "d_inner",   "n_head",    "vocab", "context", "d_embed",
                                              "norm",    "mlp",     "positions", "n_kv_head", "block", "output",  "bias"};
    std::istringstream in(text);
    std::string token;
    while (in >> token) {
        const std::size_t eq = token.find('=');
        const std::string key = token.substr(0, eq);
        int k = -1;
        for (int i = 0; i < fields; ++i)
            if (key == names[i]) k = i;
        if (eq == std::string::npos || k < 0)
            throw config_error("architecture", "'" + token +
                                                   "' is not a field=value pair of an architecture "
                                                   "(n_layer, d_model, d_inner, n_head, vocab, context, d_embed, norm, mlp, positions, "
                                                   "n_kv_head, block, output, bias).");
        if (seen[k]) throw config_error(key, key + " is given twice.");
        seen[k] = true;
        const std::string value = token.substr(eq + 1);
        switch (k) {
            case 0:
                a.n_layer = parse_uint(key, value);
                break;
            case 1:
                a.d_model = parse_uint(key, value);
                break;
            case 2:
                a.d_inner = parse_list(key, value);
                break;
            case 3:
                a.n_head = parse_list(key, value);
                break;
            case 4:
                a.vocab = parse_uint(key, value);
                break;
            case 5:
                a.context = parse_uint(key, value);
                break;
            case 6:
                a.d_embed = parse_uint(key, value);
                if (a.d_embed == 0) throw config_error(key, "d_embed must be in 1..1000000, got 0.");
                break;
            case 7:
                a.norm = static_cast<norm_kind>(parse_word(key, value, norm_names));
                break;
            case 8:
                a.mlp = static_cast<mlp_kind>(parse_word(key, value, mlp_names));
                break;
            case 9:
                a.positions = static_cast<position_kind>(parse_word(key, value, position_names));
                break;
            case 10:
                a.n_kv_head = parse_list(key, value);
                break;
            case 11:
                a.block = static_cast<block_kind>(parse_word(key, value, block_names));
                break;
            case 12:
                a.tied = parse_word(key, value, output_names) == 1;
                break;
            default:
                a.bias = parse_word(key, value, bias_names) == 1;
                break;
        }
    }
    if (a.d_embed == a.d_model) a.d_embed = 0;  // the same model as without it
    for (int i = 0; i < 4; ++i)
        if (!seen[i]) throw config_error(names[i], std::string("the architecture has no ") + names[i] + ".");
    validate(a);
    if (ungrouped(a)) a.n_kv_head.clear();  // one KV head per query head, said or not: the same model
    return a;
}

std::uint64_t hash(const architecture& a) {
    std::uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a 64
    for (const char c : canonical(a)) {
        h ^= static_cast<unsigned char>(c);
        h *= 0x100000001b3ULL;
    }
    return h;
}

architecture gpt2_small() {
    return architecture{12, 768, std::vector<std::uint32_t>(12, 3072), std::vector<std::uint32_t>(12, 12), 50257, 1024};
}

architecture gpt2_medium() {
    return architecture{24, 1024, std::vector<std::uint32_t>(24, 4096), std::vector<std::uint32_t>(24, 16), 50257, 1024};
}

}  // namespace fracnas::nas
