// A GPT-like decoder architecture as the search sees it: depth, width, per-layer FFN width and
// head count, with its canonical text form (readable, parseable back) and a 64-bit hash.
// Plain data and checks only: building the model is eval/torch's job, counting is counts.hpp's.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fracnas::nas {

/// The normalisation of every block and the final one: LayerNorm (weight and, with biases, a
/// bias) or RMSNorm (weight only).
enum class norm_kind : std::uint8_t { layer_norm, rms_norm };
/// The MLP: GELU (two linears, d -> d_inner -> d) or SwiGLU (gate and up d -> d_inner, SiLU(gate)
/// x up, down d_inner -> d: three linears, d_inner being Llama's intermediate_size).
enum class mlp_kind : std::uint8_t { gelu, swiglu };
/// Positions: a learned table (context x d_model) added to the token's embedding, or rotary
/// embeddings applied to queries and keys (no parameters).
enum class position_kind : std::uint8_t { learned, rotary };
/// A block: sequential (x + attn(norm1(x)), then + mlp(norm2(.)), GPT-2 and Llama) or parallel
/// (x + attn(norm(x)) + mlp(norm(x)) from one norm, GPT-J and PaLM).
enum class block_kind : std::uint8_t { sequential, parallel };

/// A decoder: by default GPT-2's (learned positions, pre-LayerNorm sequential blocks, GELU MLP,
/// one KV head per query head, a tied output table, biases everywhere); the block options make
/// Llama-style ones (RMSNorm, SwiGLU, rotary positions, grouped-query attention, untied head, no
/// biases) and parallel blocks.
/// Aggregate order: n_layer, d_model, d_inner, n_head, vocab, context, d_embed, then the block
/// options norm, mlp, positions, n_kv_head, block, tied, bias.
struct architecture {
    std::uint32_t n_layer = 12;          ///< decoder blocks (default space: 2..24)
    std::uint32_t d_model = 768;         ///< residual width (default space: 128..2048 step 64)
    std::vector<std::uint32_t> d_inner;  ///< FFN width per layer (GPT-2: 4 d_model)
    std::vector<std::uint32_t> n_head;   ///< attention heads per layer; each divides d_model
    std::uint32_t vocab = 50257;         ///< vocabulary (GPT-2's BPE)
    std::uint32_t context = 1024;        ///< positions (GPT-2's context)
    /// Width e of the token embedding and of the tied output table, with d -> e and e -> d
    /// projections between them and the residual stream (LiteTransformerSearch's d_embed);
    /// 0 or d_model: GPT-2's model, the table at the residual width and no projections.
    std::uint32_t d_embed = 0;
    norm_kind norm = norm_kind::layer_norm;
    mlp_kind mlp = mlp_kind::gelu;
    position_kind positions = position_kind::learned;
    /// Key/value heads per layer, each dividing that layer's n_head (grouped-query attention:
    /// n_head / n_kv_head query heads share one); empty: one per query head (kv_heads).
    std::vector<std::uint32_t> n_kv_head{};
    block_kind block = block_kind::sequential;
    bool tied = true;  ///< the output table is the token table (false: a table of its own, vocab x e)
    bool bias = true;  ///< biases in every linear and LayerNorm (false: none, as Llama)

    bool operator==(const architecture& o) const;
    bool operator!=(const architecture& o) const { return !(*this == o); }
};

/// Throws config_error naming the field (e.g. "n_head[3]") with one sentence when `a` is not a
/// buildable architecture: a zero size, per-layer lists whose length is not n_layer, a head
/// count that does not divide d_model, a KV head count that does not divide its layer's query
/// heads, an odd head dimension with rotary positions, or sizes beyond 1,000,000 (vocab 10,000,000).
void validate(const architecture& a);

/// "n_layer=2 d_model=512 d_inner=1024,1536 n_head=8,4 vocab=50257 context=1024": every field,
/// in this order, no spaces inside a value; then, each only where it is not GPT-2's, " d_embed=E",
/// " norm=rmsnorm", " mlp=swiglu", " positions=rotary", " n_kv_head=K,K", " block=parallel",
/// " output=untied", " bias=off" (so that every GPT-2-block architecture keeps its text and hash).
/// parse_architecture(canonical(a)) == a.
std::string canonical(const architecture& a);

/// Parses canonical() text (fields in any order, separated by spaces; vocab, context, d_embed and
/// the block options may be omitted and default to GPT-2's, d_model and one KV head per query
/// head; norm=layernorm, mlp=gelu, positions=learned, block=sequential, output=tied and bias=on
/// are accepted too) and validates it. Throws config_error naming the field.
architecture parse_architecture(const std::string& text);

/// The block options as canonical text names them, keys and words: norm (layernorm, rmsnorm), mlp
/// (gelu, swiglu), positions (learned, rotary), block (sequential, parallel), output (tied,
/// untied), bias (on, off). n_kv_head is a per-layer list, not one of them.
const std::vector<std::string>& block_option_keys();
/// The words `key` takes, GPT-2's first. Throws config_error naming the key when it is none of them.
const std::vector<std::string>& block_option_words(const std::string& key);
/// a's word for the block option `key`.
std::string block_option(const architecture& a, const std::string& key);
/// Sets a's block option `key` to `word` (unchecked otherwise: validate() the result). Throws
/// config_error naming the key for an unknown key or word ("norm must be layernorm or rmsnorm, got 'x'.").
void set_block_option(architecture& a, const std::string& key, const std::string& word);

/// Layer l's key/value heads: n_kv_head[l], or n_head[l] when n_kv_head is empty.
std::uint32_t kv_heads(const architecture& a, std::uint32_t l);

/// Whether every block option is GPT-2's (what the LibTorch model and the latency test bed know).
bool gpt2_block(const architecture& a) noexcept;

/// 64-bit FNV-1a of canonical(a): equal architectures, equal hashes; stable across runs and
/// machines (it keys the result cache and the archive).
std::uint64_t hash(const architecture& a);

/// The embedding width e: d_embed, or d_model when d_embed is 0.
std::uint32_t embed_width(const architecture& a) noexcept;

/// The reference models: GPT-2 small (12 x 768, 12 heads), medium (24 x 1024, 16 heads), large
/// (36 x 1280, 20 heads) and XL (48 x 1600, 25 heads), GPT2LMHeadModel's shapes.
architecture gpt2_small();
architecture gpt2_medium();
architecture gpt2_large();
architecture gpt2_xl();
/// Llama-shaped references, the shapes of Hugging Face's configurations (RMSNorm, SwiGLU, rotary
/// positions, grouped KV heads, no biases, the tied table), for timing with random weights:
/// SmolLM2-135M (30 x 576, 9 heads, 3 KV heads, FFN 1536, vocabulary 49,152), SmolLM2-360M
/// (32 x 960, 15 and 5 heads, FFN 2560, 49,152) and Llama-3.2-1B (16 x 2048, 32 and 8 heads,
/// FFN 8192, 128,256). Their context is 1,024 positions, GPT-2's, the length the searches
/// measure (the released models take 8,192 and 131,072), and fracnas's rotary frequencies are
/// theta 10,000 (theirs 100,000, and 500,000 with Llama 3's scaling): neither changes a
/// parameter count or a latency at a given cache length.
architecture smollm2_135m();
architecture smollm2_360m();
architecture llama_3_2_1b();

}  // namespace fracnas::nas
