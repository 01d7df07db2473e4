// The block options of an architecture (issue 25): their canonical text, which leaves every
// GPT-2-block architecture's text and hash as they were, their checks, and their exact counts,
// against the parameter totals of Hugging Face's LlamaForCausalLM for SmolLM2-135M, SmolLM2-360M
// and Llama-3.2-1B's shapes and of GPT2LMHeadModel for GPT-2 small.
#include <catch2/catch.hpp>

#include <cstdio>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "fracnas/error.hpp"
#include "fracnas/nas/architecture.hpp"
#include "fracnas/nas/counts.hpp"

using namespace fracnas;
using namespace fracnas::nas;

namespace {

// A Llama-style decoder as Hugging Face's LlamaConfig describes one: RMSNorm, SwiGLU of
// intermediate_size, rotary positions, grouped KV heads, no biases, tied or not.
architecture llama(std::uint32_t layers, std::uint32_t hidden, std::uint32_t intermediate, std::uint32_t heads, std::uint32_t kv,
                   std::uint32_t vocab, std::uint32_t context, bool tied) {
    architecture a{layers, hidden, std::vector<std::uint32_t>(layers, intermediate), std::vector<std::uint32_t>(layers, heads),
                   vocab,  context};
    a.norm = norm_kind::rms_norm;
    a.mlp = mlp_kind::swiglu;
    a.positions = position_kind::rotary;
    a.n_kv_head.assign(layers, kv);
    a.tied = tied;
    a.bias = false;
    return a;
}

}  // namespace

TEST_CASE("block options: in the text only where they are not GPT-2's, so every earlier text and hash stands", "[nas]") {
    REQUIRE(gpt2_block(gpt2_small()));
    REQUIRE(hash(gpt2_small()) == 0xae7f1f2b9cfeefcbULL);  // as before the block options
    // GPT-2's options said out loud are the same model, with the same text
    const architecture said = parse_architecture(canonical(gpt2_small()) +
                                                 " norm=layernorm mlp=gelu positions=learned block=sequential output=tied bias=on "
                                                 "n_kv_head=12,12,12,12,12,12,12,12,12,12,12,12");
    REQUIRE(said == gpt2_small());
    REQUIRE(canonical(said) == canonical(gpt2_small()));
    REQUIRE(said.n_kv_head.empty());

    const architecture smol = llama(30, 576, 1536, 9, 3, 49152, 2048, true);
    const std::string text = canonical(smol);
    REQUIRE_THAT(text, Catch::Matchers::EndsWith(" vocab=49152 context=2048 norm=rmsnorm mlp=swiglu positions=rotary n_kv_head=" +
                                                 std::string("3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3") + " bias=off"));
    REQUIRE(parse_architecture(text) == smol);
    REQUIRE(canonical(parse_architecture(text)) == text);
    REQUIRE_FALSE(gpt2_block(smol));
    // each option alone changes the model, its text and its hash, and reads back
    std::vector<architecture> variants(7, gpt2_small());
    variants[0].norm = norm_kind::rms_norm;
    variants[1].mlp = mlp_kind::swiglu;
    variants[2].positions = position_kind::rotary;
    variants[3].n_kv_head.assign(12, 4);
    variants[4].block = block_kind::parallel;
    variants[5].tied = false;
    variants[6].bias = false;
    for (std::size_t i = 0; i < variants.size(); ++i) {
        CAPTURE(i, canonical(variants[i]));
        REQUIRE_FALSE(gpt2_block(variants[i]));
        REQUIRE(variants[i] != gpt2_small());
        REQUIRE(hash(variants[i]) != hash(gpt2_small()));
        REQUIRE(parse_architecture(canonical(variants[i])) == variants[i]);
        for (std::size_t j = 0; j < i; ++j) REQUIRE(hash(variants[i]) != hash(variants[j]));
    }
    REQUIRE_THAT(canonical(variants[4]), Catch::Matchers::EndsWith(" context=1024 block=parallel"));
    REQUIRE_THAT(canonical(variants[5]), Catch::Matchers::EndsWith(" context=1024 output=untied"));
    // heads grouped in one layer only
    architecture mixed = gpt2_small();
    mixed.n_kv_head.assign(12, 12);
    mixed.n_kv_head[5] = 1;
    REQUIRE_THAT(canonical(mixed), Catch::Matchers::Contains(" n_kv_head=12,12,12,12,12,1,12,"));
    REQUIRE(kv_heads(mixed, 5) == 1);
    REQUIRE(kv_heads(mixed, 4) == 12);
    REQUIRE(kv_heads(gpt2_small(), 4) == 12);
}

TEST_CASE("block options: a bad one names its field in one sentence", "[nas]") {
    const std::string base = "n_layer=2 d_model=128 d_inner=512,512 n_head=4,4";
    const auto refused = [&](const std::string& extra, const std::string& field, const std::string& sentence) {
        CAPTURE(extra);
        try {
            parse_architecture(base + " " + extra);
            FAIL("accepted");
        } catch (const config_error& e) {
            REQUIRE(e.field() == field);
            REQUIRE(std::string(e.what()) == sentence);
        }
    };
    refused("n_kv_head=3,4", "n_kv_head[0]", "n_kv_head[0] = 3 does not divide n_head[0] = 4.");
    refused("n_kv_head=2", "n_kv_head", "n_kv_head lists 1 layers but n_layer is 2.");
    refused("n_kv_head=0,2", "n_kv_head[0]", "n_kv_head[0] must be in 1..1000000, got 0.");
    refused("norm=batchnorm", "norm", "norm must be layernorm or rmsnorm, got 'batchnorm'.");
    refused("mlp=relu", "mlp", "mlp must be gelu or swiglu, got 'relu'.");
    refused("positions=alibi", "positions", "positions must be learned or rotary, got 'alibi'.");
    refused("block=both", "block", "block must be sequential or parallel, got 'both'.");
    refused("output=shared", "output", "output must be tied or untied, got 'shared'.");
    refused("bias=1", "bias", "bias must be on or off, got '1'.");
    refused("bias=off bias=on", "bias", "bias is given twice.");
    REQUIRE_THROWS_WITH(parse_architecture("n_layer=2 d_model=96 d_inner=384,384 n_head=32,4 positions=rotary"),
                        "n_head[0] = 32 gives heads of 3 dimensions; rotary positions need an even number.");
    REQUIRE_NOTHROW(parse_architecture("n_layer=2 d_model=96 d_inner=384,384 n_head=32,4"));  // learned positions: any head size
    REQUIRE(parse_architecture(base + " n_kv_head=1,2").n_kv_head == std::vector<std::uint32_t>{1, 2});
}

TEST_CASE("block options: parameters as Hugging Face's models hold them, FLOPs and a decode step's bytes", "[nas]") {
    // LlamaForCausalLM: embed_tokens (vocab x d), per layer q_proj (d x d), k_proj and v_proj
    // (d x kv d / heads), o_proj (d x d), gate_proj and up_proj (d x i), down_proj (i x d), two
    // RMSNorm weights (d); the final norm (d); lm_head tied to embed_tokens or (vocab x d) of its own
    const auto smol135 = count_parameters(llama(30, 576, 1536, 9, 3, 49152, 2048, true));
    REQUIRE(smol135.total == 134515008);  // SmolLM2-135M
    REQUIRE(smol135.embedding == 49152ULL * 576);
    REQUIRE(smol135.output == 0);
    REQUIRE(smol135.attention == 30ULL * (2 * 576 * 576 + 2 * 576 * 192));
    REQUIRE(smol135.ffn == 30ULL * 3 * 576 * 1536);
    REQUIRE(smol135.layer_norm == 61ULL * 576);
    REQUIRE(count_parameters(llama(32, 960, 2560, 15, 5, 49152, 2048, true)).total == 361821120);       // SmolLM2-360M
    REQUIRE(count_parameters(llama(16, 2048, 8192, 32, 8, 128256, 131072, true)).total == 1235814400);  // Llama-3.2-1B
    const auto untied = count_parameters(llama(16, 2048, 8192, 32, 8, 128256, 131072, false));
    REQUIRE(untied.output == 128256ULL * 2048);
    REQUIRE(untied.total == 1235814400ULL + 128256ULL * 2048);
    // GPT2LMHeadModel: 124,439,808 with the tied head; medium, large and XL as transformers 5.24
    // builds GPT2Config(n_layer, n_embd, n_head) on the meta device
    REQUIRE(count_parameters(gpt2_small()).total == 124439808);
    REQUIRE(count_parameters(gpt2_medium()).total == 354823168);
    REQUIRE(count_parameters(gpt2_large()).total == 774030080);
    REQUIRE(count_parameters(gpt2_xl()).total == 1557611200);
    // the Llama-shaped presets are these shapes at GPT-2's context of 1,024 positions
    REQUIRE(smollm2_135m() == llama(30, 576, 1536, 9, 3, 49152, 1024, true));
    REQUIRE(smollm2_360m() == llama(32, 960, 2560, 15, 5, 49152, 1024, true));
    REQUIRE(llama_3_2_1b() == llama(16, 2048, 8192, 32, 8, 128256, 1024, true));
    REQUIRE(count_parameters(llama_3_2_1b()).total == 1235814400);

    // each option against GPT-2 small, term by term
    const std::uint64_t d = 768, L = 12, di = 3072;
    const auto base = count_parameters(gpt2_small());
    architecture a = gpt2_small();
    a.bias = false;  // no biases in the linears, LayerNorms of weights alone
    const auto nobias = count_parameters(a);
    REQUIRE(nobias.attention == base.attention - L * 4 * d);
    REQUIRE(nobias.ffn == base.ffn - L * (di + d));
    REQUIRE(nobias.layer_norm == (2 * L + 1) * d);
    a = gpt2_small();
    a.norm = norm_kind::rms_norm;
    REQUIRE(count_parameters(a).layer_norm == (2 * L + 1) * d);
    a = gpt2_small();
    a.block = block_kind::parallel;  // one norm per block
    REQUIRE(count_parameters(a).layer_norm == (L + 1) * 2 * d);
    a = gpt2_small();
    a.positions = position_kind::rotary;
    REQUIRE(count_parameters(a).embedding == base.embedding - 1024 * d);
    REQUIRE(count_parameters(a).decoder == base.decoder);
    a = gpt2_small();
    a.mlp = mlp_kind::swiglu;
    REQUIRE(count_parameters(a).ffn == L * (3 * d * di + 2 * di + d));
    a = gpt2_small();
    a.n_kv_head.assign(12, 3);  // keys and values 192 wide
    REQUIRE(count_parameters(a).attention == L * (2 * d * d + 2 * d * 192 + 2 * d + 2 * 192));

    // FLOPs: two per weight of every linear, attention unchanged by grouping (each query head
    // still reads n keys of its head's width)
    const auto f = decode_flops(a, 1, 1023);
    const auto g = decode_flops(gpt2_small(), 1, 1023);
    REQUIRE(f.linear == g.linear - L * 2 * 2 * d * (d - 192));
    REQUIRE(f.attention == g.attention);
    architecture swiglu = gpt2_small();
    swiglu.mlp = mlp_kind::swiglu;
    REQUIRE(decode_flops(swiglu, 1, 0).linear == g.linear + L * 2 * d * di);
    REQUIRE(prefill_flops(swiglu, 2, 16).linear == 2 * 16 * (g.linear + L * 2 * d * di));

    // a decode step's bytes: weights once, and each sequence's keys and values; grouping the KV
    // heads by 4 reads a quarter of the cache
    REQUIRE(kv_bytes_per_token(gpt2_small(), 2) == 2 * L * d * 2);
    REQUIRE(kv_bytes_per_token(a, 2) == 2 * L * 192 * 2);
    REQUIRE(decode_bytes(gpt2_small(), 1, 1023, 2) == (base.decoder + embedding_matmul_weights(gpt2_small())) * 2 + 1024 * 2 * L * d * 2);
    const std::uint64_t weights = (count_parameters(a).decoder + embedding_matmul_weights(a)) * 2;
    REQUIRE(decode_bytes(a, 16, 1023, 2) == weights + 16ULL * 1024 * 2 * L * 192 * 2);
    REQUIRE_THROWS_AS(decode_bytes(a, 1, 1024, 2), config_error);  // the cache must leave room for the new token
}

#ifdef FRACNAS_PYTHON
TEST_CASE("block options: every part of the count equals Hugging Face's LlamaForCausalLM, built by transformers", "[nas][hf]") {
    // tests/nas/hf_llama_counts.py builds each configuration on the meta device and sums its
    // modules' parameters: name total embed attention mlp norms lm_head
    const std::string command = std::string(FRACNAS_PYTHON) + " " + FRACNAS_SOURCE_DIR + "/tests/nas/hf_llama_counts.py";
    std::FILE* pipe = ::popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    std::string out;
    char buffer[512];
    while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) out += buffer;
    INFO(command << "\n" << out);
    REQUIRE(::pclose(pipe) == 0);  // transformers missing? cmake/dev.sh deps installs it
    const std::map<std::string, architecture> configs = {
        {"smollm2-135m", llama(30, 576, 1536, 9, 3, 49152, 2048, true)},
        {"smollm2-360m", llama(32, 960, 2560, 15, 5, 49152, 2048, true)},
        {"llama-3.2-1b", llama(16, 2048, 8192, 32, 8, 128256, 2048, true)},
        {"untied-biases",
         [] {
             architecture a = llama(3, 256, 704, 8, 2, 1000, 2048, false);
             a.bias = true;  // attention_bias and mlp_bias
             return a;
         }()},
        {"ungrouped", llama(2, 128, 384, 4, 4, 500, 2048, true)},
    };
    std::istringstream lines(out);
    std::string name;
    std::uint64_t total = 0, embed = 0, attention = 0, mlp = 0, norms = 0, head = 0;
    std::size_t seen = 0;
    while (lines >> name >> total >> embed >> attention >> mlp >> norms >> head) {
        CAPTURE(name);
        const auto c = count_parameters(configs.at(name));
        REQUIRE(c.total == total);
        REQUIRE(c.embedding == embed);
        REQUIRE(c.attention == attention);
        REQUIRE(c.ffn == mlp);
        REQUIRE(c.layer_norm == norms);
        REQUIRE(c.output == head);
        ++seen;
    }
    REQUIRE(seen == configs.size());
}
#endif
