// The root of every exception fracnas throws, and the subclasses that carry what went wrong.
// Callers below main() throw; only main() turns an error into a message and an exit code.
#pragma once

#include <stdexcept>
#include <string>

namespace fracnas {

/// Root of all fracnas errors; what() is one sentence that names the problem.
class error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// A configuration value (CLI option, config file, constructor argument) is invalid.
/// field() names the option or member, e.g. "--budget" or "int_range.step".
class config_error : public error {
public:
    config_error(std::string field, const std::string& message) : error(message), field_(std::move(field)) {}
    const std::string& field() const noexcept { return field_; }

private:
    std::string field_;
};

/// The optimizer was used against its protocol (unknown id, a result told twice, ...).
class protocol_error : public error {
public:
    using error::error;
};

/// Reading or writing a run archive failed; path() names the file. A missing, damaged or
/// foreign archive given as input is a config_error instead (bad input, exit 2).
class storage_error : public error {
public:
    storage_error(std::string path, const std::string& message) : error(message), path_(std::move(path)) {}
    const std::string& path() const noexcept { return path_; }

private:
    std::string path_;
};

/// An MPI call failed; code() is its error code (0 for a protocol violation between ranks).
class mpi_error : public error {
public:
    mpi_error(int code, const std::string& message) : error(message), code_(code) {}
    int code() const noexcept { return code_; }

private:
    int code_;
};

}  // namespace fracnas
