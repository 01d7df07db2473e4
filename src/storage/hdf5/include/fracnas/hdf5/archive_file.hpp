// The run archive as one HDF5 file (schema: docs/archive.md): created with its whole schema up
// front, appended by the master alone, flushed so that a reader (h5py, h5dump, `fracnas analyze`)
// sees every flushed record while the run goes on (SWMR), locked against a second writer, and read
// back whole for resume. This header does not include hdf5.h; only src/storage/hdf5/ does.
#pragma once

#include <memory>
#include <string>

#include "fracnas/storage/archive.hpp"

namespace fracnas::hdf5 {

/// Checks, without creating anything, that a new archive can be written at path: its folder
/// exists and is writable, and the file does not exist unless replace is set. Throws
/// config_error("--archive") with one sentence otherwise.
void check_new_archive(const std::string& path, bool replace);

/// Reads a whole archive (also one that a run is still writing) of any schema version from
/// storage::oldest_schema_version to storage::schema_version (a schema-1 archive has no
/// search_trainings: they read empty; a schema-2 archive's have no trend probe: they read with
/// probe_budget 0 and probe_perplexity NaN). Throws config_error("--archive") naming the file when
/// it is missing, not HDF5, not a fracnas archive, of another schema version, or damaged (a table
/// of its schema missing or unreadable); storage_error when a read fails midway.
storage::archive_contents read_archive(const std::string& path);

/// Appends one training result to the archive's "trainings" table, creating the table when it
/// has none, and makes it durable. Takes the run lock for the while: refuses (config_error
/// naming that run) an archive a search is writing, and what read_archive refuses.
void append_training(const std::string& path, const storage::training_record& r);

/// Checks, before any training, that append_training could write to path now: no run holds its
/// lock, the file is writable and read_archive's header checks pass. Throws config_error(option)
/// with one sentence otherwise. Writes nothing, except that a file whose end a failed write cut
/// (a full disk, a file-size limit: shorter than the end its superblock records) gets that end
/// back as zeros when the whole archive then reads (else it is cut back and refused as damaged);
/// the returned note says so, and is empty otherwise.
std::string check_appendable(const std::string& path, const std::string& option);

/// Checks, before any measurement, that archive_file::resume could continue the run of path now:
/// no run holds its lock, the file and its folder are writable and read_archive's header checks
/// pass. Throws config_error(option) with one sentence otherwise. Restores an end that a failed
/// write cut, as check_appendable does, and returns its note ("" when nothing was done).
std::string check_resumable(const std::string& path, const std::string& option);

/// The archive a run writes. Every HDF5 call is checked: a failure throws storage_error naming
/// the file and the call, and what was flushed before stays readable.
class archive_file final : public storage::archive_sink {
public:
    /// Creates path with the whole schema (every table of storage::schema_version, the
    /// search_trainings included) and the header, takes the run lock, and starts SWMR writing.
    /// Refuses an existing file unless replace (config_error("--archive")), and a file another run
    /// holds the lock on (config_error naming that run's host and process).
    /// header.schema is stored as the schema version and lays the tables out: leave it at
    /// storage::schema_version (an older one writes that schema's tables, as an earlier fracnas
    /// did: how a test makes an archive of an older schema).
    static std::unique_ptr<archive_file> create(const std::string& path, const storage::run_header& header, bool replace);
    /// Opens an existing archive to continue it: takes the lock, reads everything into contents,
    /// and appends from there in the next session: one past the largest session number in the
    /// sessions, workers, worker_events and search_trainings tables, and at least 1. An archive of
    /// an older schema stays of its schema (no table or member is added: a search training
    /// appended to a schema-2 archive loses its probe_budget and probe_perplexity). Refuses what
    /// read_archive refuses, and a file another run holds the lock on.
    static std::unique_ptr<archive_file> resume(const std::string& path, storage::archive_contents& contents);

    ~archive_file() override;  ///< flushes (errors swallowed), closes and releases the lock
    void append(const storage::evaluation_record& r) override;
    void append(const storage::event_record& r) override;
    void append(const storage::worker_record& r) override;
    void append(const storage::worker_event_record& r) override;
    void append(const storage::session_record& r) override;
    /// Throws storage_error naming the file when the archive has no search_trainings table (a
    /// schema-1 archive resumed: only a new training search writes them).
    void append(const storage::search_training_record& r) override;
    void flush() override;
    std::uint32_t session() const override;
    const std::string& path() const noexcept;

    struct impl;

private:
    explicit archive_file(std::unique_ptr<impl> p);
    std::unique_ptr<impl> impl_;
};

}  // namespace fracnas::hdf5
