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

const std::vector<std::string>& block_option_keys() {
    static const std::vector<std::string> keys = {"norm", "mlp", "positions", "block", "output", "bias"};
    return keys;
}

const std::vector<std::string>& block_option_words(const std::string& key) {
    static const std::vector<std::vector<std::string>> words = {{"layernorm", "rmsnorm"},   {"gelu", "swiglu"}, {"learned", "rotary"},
                                                                {"sequential", "parallel"}, {"tied", "untied"}, {"on", "off"}};
    const auto& keys = block_option_keys();
    for (std::size_t k = 0; k < keys.size(); ++k)
        if (keys[k] == key) return words[k];
    throw config_error(key, "'" + key + "' is not a block option (norm, mlp, positions, block, output, bias).");
}

std::string block_option(const architecture& a, const std::string& key) {
    const auto& words = block_option_words(key);
    const std::size_t i = key == "norm"        ? static_cast<std::size_t>(a.norm)
                          : key == "mlp"       ? static_cast<std::size_t>(a.mlp)
                          : key == "positions" ? static_cast<std::size_t>(a.positions)
                          : key == "block"     ? static_cast<std::size_t>(a.block)
                          : key == "output"    ? (a.tied ? 0 : 1)
                                               : (a.bias ? 0 : 1);
    return words.at(i);
}

void set_block_option(architecture& a, const std::string& key, const std::string& word) {
    const auto& words = block_option_words(key);
    std::size_t i = 0;
    while (i < words.size() && words[i] != word) ++i;
    if (i == words.size()) throw config_error(key, key + " must be " + words[0] + " or " + words[1] + ", got '" + word + "'.");
    if (key == "norm") a.norm = static_cast<norm_kind>(i);
    if (key == "mlp") a.mlp = static_cast<mlp_kind>(i);
    if (key == "positions") a.positions = static_cast<position_kind>(i);
    if (key == "block") a.block = static_cast<block_kind>(i);
    if (key == "output") a.tied = i == 0;
    if (key == "bias") a.bias = i == 0;
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
    // the block options, each only where it is not GPT-2's (n_kv_head among them, in its place)
    for (const auto& key : block_option_keys()) {
        if (key == "block" && !ungrouped(a)) text += " n_kv_head=" + join(a.n_kv_head);
        const std::string word = block_option(a, key);
        if (word != block_option_words(key).front()) text += " " + key + "=" + word;
    }
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
            case 10:
                a.n_kv_head = parse_list(key, value);
                break;
            default:  // norm, mlp, positions, block, output, bias
                set_block_option(a, key, value);
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

architecture gpt2_large() {
    return architecture{36, 1280, std::vector<std::uint32_t>(36, 5120), std::vector<std::uint32_t>(36, 20), 50257, 1024};
}

architecture gpt2_xl() {
    return architecture{48, 1600, std::vector<std::uint32_t>(48, 6400), std::vector<std::uint32_t>(48, 25), 50257, 1024};
}

namespace {

// A Llama-style decoder: RMSNorm, SwiGLU, rotary positions, kv KV heads per layer, no biases, tied.
architecture llama_shape(std::uint32_t layers, std::uint32_t d, std::uint32_t ffn, std::uint32_t heads, std::uint32_t kv,
                         std::uint32_t vocab) {
    architecture a{layers, d, std::vector<std::uint32_t>(layers, ffn), std::vector<std::uint32_t>(layers, heads), vocab, 1024};
    a.norm = norm_kind::rms_norm;
    a.mlp = mlp_kind::swiglu;
    a.positions = position_kind::rotary;
    a.n_kv_head.assign(layers, kv);
    a.bias = false;
    return a;
}

}  // namespace

architecture smollm2_135m() {
    return llama_shape(30, 576, 1536, 9, 3, 49152);
}

architecture smollm2_360m() {
    return llama_shape(32, 960, 2560, 15, 5, 49152);
}

architecture llama_3_2_1b() {
    return llama_shape(16, 2048, 8192, 32, 8, 128256);
}

}  // namespace fracnas::nas
