// Reads, checks and writes token files (include/fracnas/data/token_file.hpp, docs/data.md).
// Bytes are decoded one by one as little-endian, so the reader does not depend on the host's
// byte order. Every failure is one sentence that names the file.
#include "fracnas/data/token_file.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "fracnas/error.hpp"

namespace fracnas::data {
namespace {

constexpr std::array<char, 8> magic = {'F', 'N', 'T', 'O', 'K', 'E', 'N', 'S'};

std::uint64_t get_le(const unsigned char* p, int bytes) {
    std::uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}

void put_le(std::string& out, std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFFu));
}

// Throws config_error when path cannot be opened: missing, a folder, or unreadable (errno's reason).
std::ifstream open_or_throw(const std::string& path, const std::string& field) {
    std::error_code ignored;
    if (std::filesystem::is_directory(path, ignored))
        throw config_error(field, path + " is a folder, not a token file (give its train.tokens or val.tokens).");
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        const int code = errno;
        if (code == ENOENT)
            throw config_error(field, "the token file " + path + " does not exist (prepare the corpus with cmake/dev.sh corpus).");
        throw config_error(field, "cannot read the token file " + path + ": " + std::strerror(code) + ".");
    }
    return in;
}

// The header's fields from the first min(32, size) bytes of a file of file_size bytes, checked.
token_file_header parse_header(const std::string& head, std::uint64_t file_size, const std::string& path, const std::string& field) {
    if (file_size < token_file_header_bytes)
        throw config_error(
            field, path + " is truncated: " + std::to_string(file_size) + " bytes, shorter than the 32-byte header of a token file.");
    if (!std::equal(magic.begin(), magic.end(), head.begin()))
        throw config_error(field, path + " is not a fracnas token file: it does not start with FNTOKENS.");
    const auto* p = reinterpret_cast<const unsigned char*>(head.data());
    token_file_header h;
    h.version = static_cast<std::uint32_t>(get_le(p + 8, 4));
    h.bytes_per_token = static_cast<std::uint32_t>(get_le(p + 12, 4));
    h.vocab_size = static_cast<std::uint32_t>(get_le(p + 16, 4));
    h.eos_id = static_cast<std::uint32_t>(get_le(p + 20, 4));
    h.count = get_le(p + 24, 8);
    if (h.version != token_file_version)
        throw config_error(field, path + " has token file format version " + std::to_string(h.version) + "; this fracnas reads version " +
                                      std::to_string(token_file_version) + ".");
    if (h.vocab_size == 0 || h.bytes_per_token != token_bytes(h.vocab_size))
        throw config_error(field, path + " has a corrupt header: " + std::to_string(h.bytes_per_token) +
                                      " bytes per token for a vocabulary of " + std::to_string(h.vocab_size) + ".");
    if (h.eos_id != no_eos && h.eos_id >= h.vocab_size)
        throw config_error(field, path + " has a corrupt header: its eos id " + std::to_string(h.eos_id) +
                                      " is not below its vocabulary size " + std::to_string(h.vocab_size) + ".");
    const std::uint64_t payload = file_size - token_file_header_bytes;
    if (h.count > payload / h.bytes_per_token || payload != h.count * h.bytes_per_token)
        throw config_error(field, path + " is truncated or damaged: " + std::to_string(file_size) + " bytes where its header's " +
                                      std::to_string(h.count) + " tokens need " +
                                      std::to_string(token_file_header_bytes + h.count * h.bytes_per_token) + ".");
    return h;
}

// The header of an open file: its size, then its first bytes.
token_file_header header_of(std::ifstream& in, const std::string& path, const std::string& field) {
    in.seekg(0, std::ios::end);
    const auto end = in.tellg();
    in.seekg(0);
    if (!in || end < 0) throw config_error(field, "cannot read the token file " + path + " to its end.");
    const auto size = static_cast<std::uint64_t>(end);
    std::string head(static_cast<std::size_t>(std::min<std::uint64_t>(size, token_file_header_bytes)), '\0');
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    if (!in) throw config_error(field, "cannot read the header of the token file " + path + ".");
    return parse_header(head, size, path, field);
}

}  // namespace

std::uint32_t token_bytes(std::uint32_t vocab_size) noexcept {
    return vocab_size <= 65535u ? 2u : 4u;
}

token_file_header read_token_file_header(const std::string& path, const std::string& field) {
    std::ifstream in = open_or_throw(path, field);
    return header_of(in, path, field);
}

token_file read_token_file(const std::string& path, const std::string& field) {
    std::ifstream in = open_or_throw(path, field);
    token_file file;
    file.header = header_of(in, path, field);
    const std::uint64_t bytes = file.header.count * file.header.bytes_per_token;
    std::string payload(static_cast<std::size_t>(bytes), '\0');
    in.read(payload.data(), static_cast<std::streamsize>(bytes));
    if (!in) throw config_error(field, "cannot read the tokens of " + path + " to their end.");
    const auto* p = reinterpret_cast<const unsigned char*>(payload.data());
    const int width = static_cast<int>(file.header.bytes_per_token);
    file.tokens.resize(static_cast<std::size_t>(file.header.count));
    for (std::size_t i = 0; i < file.tokens.size(); ++i) {
        const auto id = static_cast<std::uint32_t>(get_le(p + i * static_cast<std::size_t>(width), width));
        if (id >= file.header.vocab_size)
            throw config_error(field, path + " is corrupt: token " + std::to_string(i) + " is " + std::to_string(id) +
                                          ", not below its vocabulary size " + std::to_string(file.header.vocab_size) + ".");
        file.tokens[i] = id;
    }
    return file;
}

corpus read_corpus(const std::string& dir, const std::string& field) {
    corpus c;
    c.train = read_token_file(dir + "/train.tokens", field);
    c.val = read_token_file(dir + "/val.tokens", field);
    if (c.train.header.vocab_size != c.val.header.vocab_size)
        throw config_error(field, dir + ": train.tokens and val.tokens disagree on the vocabulary (" +
                                      std::to_string(c.train.header.vocab_size) + " and " + std::to_string(c.val.header.vocab_size) + ").");
    c.vocab = c.train.header.vocab_size;
    return c;
}

void write_token_file(const std::string& path, const std::vector<std::uint32_t>& tokens, std::uint32_t vocab_size, std::uint32_t eos_id) {
    if (vocab_size == 0) throw config_error("vocab_size", "a token file needs a vocabulary of at least one token.");
    for (const auto id : tokens)
        if (id >= vocab_size)
            throw config_error("vocab_size",
                               "token " + std::to_string(id) + " is not below the vocabulary size " + std::to_string(vocab_size) + ".");
    const std::uint32_t width = token_bytes(vocab_size);
    std::string out(magic.begin(), magic.end());
    put_le(out, token_file_version, 4);
    put_le(out, width, 4);
    put_le(out, vocab_size, 4);
    put_le(out, eos_id, 4);
    put_le(out, tokens.size(), 8);
    out.reserve(out.size() + tokens.size() * width);
    for (const auto id : tokens) put_le(out, id, static_cast<int>(width));
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(out.data(), static_cast<std::streamsize>(out.size()));
    f.close();
    if (!f) throw storage_error(path, "cannot write the token file " + path + ".");
}

}  // namespace fracnas::data
