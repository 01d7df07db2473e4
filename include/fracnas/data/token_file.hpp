// The token file: one split of the prepared training corpus (train.tokens, val.tokens) as a flat
// sequence of token ids, written by `python -m fracnas_corpus prepare` (docs/data.md). This
// module reads and validates it, and writes one (for tests); it does not tokenize and does not
// know the tokenizer. Standard C++ only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fracnas::data {

/// The format version this reader understands; bump it with any change to docs/data.md's layout.
inline constexpr std::uint32_t token_file_version = 1;
/// Bytes before the first token: magic "FNTOKENS", version, bytes per token, vocabulary size,
/// eos id (u32 each), token count (u64), all little-endian.
inline constexpr std::uint64_t token_file_header_bytes = 32;
/// The eos_id of a file whose pieces are not separated.
inline constexpr std::uint32_t no_eos = 0xFFFFFFFFu;

/// The header of a token file, checked against the file's size.
struct token_file_header {
    std::uint32_t version = token_file_version;
    std::uint32_t bytes_per_token = 2;  ///< 2 (uint16) when vocab_size <= 65535, else 4
    std::uint32_t vocab_size = 0;       ///< every token is < vocab_size, e.g. 32768
    std::uint32_t eos_id = no_eos;      ///< the id that ends every piece of text, e.g. 2
    std::uint64_t count = 0;            ///< tokens in the file
};

/// A whole token file in memory.
struct token_file {
    token_file_header header;
    std::vector<std::uint32_t> tokens;  ///< header.count ids, in file order
};

/// 2 when every id of a vocab_size vocabulary fits in a uint16 (vocab_size <= 65535), else 4.
std::uint32_t token_bytes(std::uint32_t vocab_size) noexcept;

/// Reads and checks the header of the token file at path: magic, version, bytes per token for
/// its vocabulary, and that the file holds exactly count tokens and nothing after them.
/// Throws config_error{field} (bad input: the CLI's exit 2) with one sentence naming the path
/// when the file is missing, unreadable, truncated, foreign or corrupt.
token_file_header read_token_file_header(const std::string& path, const std::string& field = "--data");

/// Reads the whole file: the header's checks, then every token < vocab_size. Same errors.
token_file read_token_file(const std::string& path, const std::string& field = "--data");

/// A prepared corpus (cmake/dev.sh corpus; docs/data.md): its two splits, read whole, and their
/// vocabulary.
struct corpus {
    token_file train, val;
    std::uint32_t vocab = 0;
};

/// Reads dir/train.tokens and dir/val.tokens (read_token_file's checks and errors) and checks that
/// they share a vocabulary; throws config_error{field} with one sentence otherwise.
corpus read_corpus(const std::string& dir, const std::string& field = "--data");

/// Writes tokens to path in the format above (the test doubles of the training command use it).
/// Throws config_error{"vocab_size"} when a token is >= vocab_size, storage_error when the file
/// cannot be written.
void write_token_file(const std::string& path, const std::vector<std::uint32_t>& tokens, std::uint32_t vocab_size,
                      std::uint32_t eos_id = no_eos);

}  // namespace fracnas::data
