// Architectures: validation messages, canonical text round trips, hashes.
#include <catch2/catch.hpp>

#include <set>

#include "fracnas/core/rng.hpp"
#include "fracnas/error.hpp"
#include "fracnas/nas/architecture.hpp"

using namespace fracnas;
using namespace fracnas::nas;

namespace {

architecture random_architecture(core::rng& r) {
    architecture a;
    a.n_layer = static_cast<std::uint32_t>(2 + r.below(23));
    a.d_model = static_cast<std::uint32_t>(64 * (2 + r.below(31)));
    for (std::uint32_t l = 0; l < a.n_layer; ++l) {
        a.d_inner.push_back(static_cast<std::uint32_t>(64 * (1 + r.below(128))));
        const std::uint32_t heads[] = {2, 4, 8, a.d_model / 64};
        a.n_head.push_back(heads[r.below(4)]);
    }
    return a;
}

}  // namespace

TEST_CASE("canonical text is readable and parses back to the same architecture", "[nas]") {
    architecture a{2, 512, {1024, 1536}, {8, 4}, 50257, 1024};
    REQUIRE(canonical(a) == "n_layer=2 d_model=512 d_inner=1024,1536 n_head=8,4 vocab=50257 context=1024");
    REQUIRE(parse_architecture(canonical(a)) == a);
    // field order is free; vocab and context default to GPT-2's
    REQUIRE(parse_architecture("n_head=8,4 d_inner=1024,1536 d_model=512 n_layer=2") == a);
    core::rng r(3);
    for (int i = 0; i < 200; ++i) {
        const architecture b = random_architecture(r);
        REQUIRE(parse_architecture(canonical(b)) == b);
    }
    REQUIRE(parse_architecture(canonical(gpt2_small())) == gpt2_small());
}

TEST_CASE("hashes are equal for equal architectures and differ otherwise", "[nas]") {
    core::rng r(5);
    std::set<std::uint64_t> seen;
    std::set<std::string> texts;
    for (int i = 0; i < 2000; ++i) {
        const architecture a = random_architecture(r);
        if (texts.insert(canonical(a)).second) REQUIRE(seen.insert(hash(a)).second);
        REQUIRE(hash(parse_architecture(canonical(a))) == hash(a));
    }
    architecture a = gpt2_small();
    architecture b = a;
    b.n_head[11] = 8;  // one head count in the last layer
    REQUIRE(hash(a) != hash(b));
    // stable across runs and machines: FNV-1a 64 of the canonical text, computed independently
    // (Python: h ^= byte; h *= 0x100000001b3 mod 2^64, from 0xcbf29ce484222325)
    REQUIRE(hash(gpt2_small()) == 0xae7f1f2b9cfeefcbULL);
}

TEST_CASE("d_embed: in the text only when it differs from d_model, so older hashes stand", "[nas]") {
    architecture a{2, 512, {1024, 1536}, {8, 4}, 50257, 1024, 256};
    REQUIRE(canonical(a) == "n_layer=2 d_model=512 d_inner=1024,1536 n_head=8,4 vocab=50257 context=1024 d_embed=256");
    REQUIRE(parse_architecture(canonical(a)) == a);
    REQUIRE(embed_width(a) == 256);
    architecture same = a;
    same.d_embed = 512;  // e = d: GPT-2's tied table, the model without d_embed
    architecture plain = a;
    plain.d_embed = 0;
    REQUIRE(same == plain);
    REQUIRE(canonical(same) == canonical(plain));
    REQUIRE(hash(same) == hash(plain));
    REQUIRE(parse_architecture(canonical(plain) + " d_embed=512") == plain);
    REQUIRE(hash(a) != hash(plain));
    REQUIRE(hash(gpt2_small()) == 0xae7f1f2b9cfeefcbULL);  // the value before d_embed existed
    REQUIRE_THROWS_WITH(parse_architecture("n_layer=1 d_model=64 d_inner=128 n_head=1 d_embed=0"), "d_embed must be in 1..1000000, got 0.");
}

TEST_CASE("invalid architectures name the field in one sentence", "[nas]") {
    architecture a = gpt2_small();
    a.n_head[3] = 7;
    REQUIRE_THROWS_WITH(validate(a), "n_head[3] = 7 does not divide d_model = 768.");
    a = gpt2_small();
    a.d_inner.pop_back();
    REQUIRE_THROWS_WITH(validate(a), "d_inner lists 11 layers but n_layer is 12.");
    a = gpt2_small();
    a.d_model = 0;
    REQUIRE_THROWS_WITH(validate(a), Catch::Contains("d_model must be in 1..1000000, got 0"));
    REQUIRE_THROWS_WITH(parse_architecture("n_layer=2 d_model=512 d_inner=1024,x n_head=8,4"), "d_inner must be a whole number, got 'x'.");
    REQUIRE_THROWS_WITH(parse_architecture("n_layer=2 d_model=512 d_inner=1024,1536"), "the architecture has no n_head.");
    REQUIRE_THROWS_WITH(parse_architecture("n_layer=2 depth=3"), Catch::Contains("'depth=3' is not a field=value pair"));
    REQUIRE_THROWS_WITH(parse_architecture("n_layer=2 n_layer=3"), "n_layer is given twice.");
    try {
        parse_architecture("n_layer=1 d_model=64 d_inner=128 n_head=3");
        FAIL("no throw");
    } catch (const config_error& e) {
        REQUIRE(e.field() == "n_head[0]");
    }
}
