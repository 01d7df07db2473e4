// Token files: the layout read from bytes written by hand, the file `python -m fracnas_corpus
// prepare` made from the fixture packages (tests/data/corpus, checked by tests/python/corpus_test.py),
// and one sentence naming the file for a missing, truncated, foreign or corrupt one.
#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fracnas/data/token_file.hpp"
#include "fracnas/error.hpp"

using namespace fracnas;
using namespace fracnas::data;

namespace {

std::string tmp_path(const std::string& name) {
    return std::string(FRACNAS_TEST_TMP) + "/token_file_" + name;
}

void put(const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string get(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// little-endian bytes of v, n of them, written out independently of the module's own writer
std::string le(std::uint64_t v, int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
    return s;
}

std::string header(std::uint32_t version, std::uint32_t width, std::uint32_t vocab, std::uint32_t eos, std::uint64_t count) {
    return "FNTOKENS" + le(version, 4) + le(width, 4) + le(vocab, 4) + le(eos, 4) + le(count, 8);
}

// the config_error's message for reading path, or "" when it reads
std::string failure(const std::string& path) {
    try {
        read_token_file(path);
    } catch (const config_error& e) {
        CHECK(e.field() == "--data");
        return e.what();
    }
    return "";
}

bool one_sentence(const std::string& m) {
    return !m.empty() && m.back() == '.' && m.find('\n') == std::string::npos;
}

}  // namespace

TEST_CASE("token_file: the documented layout, written by hand, reads back", "[data]") {
    const std::string path = tmp_path("hand.tokens");
    put(path, header(1, 2, 300, 2, 4) + le(5, 2) + le(299, 2) + le(0, 2) + le(2, 2));
    const token_file f = read_token_file(path);
    CHECK(f.header.vocab_size == 300);
    CHECK(f.header.eos_id == 2);
    CHECK(f.header.bytes_per_token == 2);
    CHECK(f.tokens == std::vector<std::uint32_t>{5, 299, 0, 2});
    CHECK(read_token_file_header(path).count == 4);

    // a vocabulary above 65535 takes 4 bytes a token
    put(path, header(1, 4, 70000, no_eos, 2) + le(69999, 4) + le(65536, 4));
    CHECK(read_token_file(path).tokens == std::vector<std::uint32_t>{69999, 65536});
}

TEST_CASE("token_file: write_token_file gives the same bytes as the layout, both widths", "[data]") {
    const std::string path = tmp_path("written.tokens");
    write_token_file(path, {5, 299, 0, 2}, 300, 2);
    CHECK(get(path) == header(1, 2, 300, 2, 4) + le(5, 2) + le(299, 2) + le(0, 2) + le(2, 2));
    CHECK(token_bytes(65535) == 2);
    CHECK(token_bytes(65536) == 4);
    write_token_file(path, {69999, 65536}, 70000);
    CHECK(get(path) == header(1, 4, 70000, no_eos, 2) + le(69999, 4) + le(65536, 4));
    REQUIRE_THROWS_WITH(write_token_file(path, {300}, 300), "token 300 is not below the vocabulary size 300.");
}

TEST_CASE("token_file: the validation split prepared from the fixture packages reads", "[data]") {
    // tests/data/corpus/val.tokens is what `prepare --vocab-size 400` writes for the fixture tree
    // of tests/python/corpus_test.py, which checks that a fresh preparation gives these bytes
    const std::string path = std::string(FRACNAS_CORPUS_FIXTURE) + "/val.tokens";
    const token_file f = read_token_file(path);
    CHECK(f.header.vocab_size == 400);
    CHECK(f.header.eos_id == 2);
    REQUIRE(f.tokens.size() > 10);
    CHECK(f.tokens.back() == f.header.eos_id);  // every piece ends with eos
    CHECK(std::filesystem::file_size(path) == token_file_header_bytes + 2 * f.tokens.size());
}

TEST_CASE("token_file: a missing, truncated, foreign or corrupt file is one sentence naming it", "[data]") {
    const std::string path = tmp_path("bad.tokens");
    const std::string good = header(1, 2, 300, 2, 3) + le(7, 2) + le(8, 2) + le(2, 2);
    struct bad_case {
        const char* what;
        std::string bytes;
        const char* message;  // a part of the message after the path
    };
    const std::vector<bad_case> cases = {
        {"empty", "", " is truncated: 0 bytes, shorter than the 32-byte header of a token file."},
        {"a cut header", good.substr(0, 20), " is truncated: 20 bytes, shorter than the 32-byte header"},
        {"a cut token", good.substr(0, good.size() - 1), " is truncated or damaged: 37 bytes where its header's 3 tokens need 38."},
        {"a byte too many", good + "x", " is truncated or damaged: 39 bytes where its header's 3 tokens need 38."},
        {"foreign", "PK\x03\x04" + good.substr(4), " is not a fracnas token file: it does not start with FNTOKENS."},
        {"a newer version", header(2, 2, 300, 2, 0), " has token file format version 2; this fracnas reads version 1."},
        {"the wrong width", header(1, 4, 300, 2, 0), " has a corrupt header: 4 bytes per token for a vocabulary of 300."},
        {"no vocabulary", header(1, 2, 0, no_eos, 0), " has a corrupt header: 2 bytes per token for a vocabulary of 0."},
        {"eos outside", header(1, 2, 300, 300, 0), " has a corrupt header: its eos id 300 is not below its vocabulary size 300."},
        {"a huge count", header(1, 2, 300, 2, ~std::uint64_t{0}), " is truncated or damaged: 32 bytes where"},
        {"a token outside", header(1, 2, 300, 2, 2) + le(7, 2) + le(301, 2),
         " is corrupt: token 1 is 301, not below its vocabulary size 300."},
    };
    for (const auto& c : cases) {
        INFO(c.what);
        put(path, c.bytes);
        const std::string m = failure(path);
        CHECK(m.rfind(path, 0) == 0);
        CHECK(m.find(c.message) != std::string::npos);
        CHECK(one_sentence(m));
        if (std::string(c.what) != "a token outside") {  // the header alone already fails
            CHECK_THROWS_AS(read_token_file_header(path), config_error);
        }
    }
    put(path, good);
    CHECK(failure(path).empty());

    std::filesystem::remove(path);
    CHECK(failure(path) == "the token file " + path + " does not exist (prepare the corpus with cmake/dev.sh corpus).");
    CHECK(failure(FRACNAS_TEST_TMP) ==
          std::string(FRACNAS_TEST_TMP) + " is a folder, not a token file (give its train.tokens or val.tokens).");
    try {
        read_token_file_header(path, "--validation-data");
        FAIL("a missing file reads");
    } catch (const config_error& e) {
        CHECK(e.field() == "--validation-data");
    }
}
