// The run lock of an archive: an flock(2) on the sidecar file "<archive>.lock", which holds
// "host pid" of the run that writes the archive. The kernel drops the lock when that process dies,
// even by SIGKILL, so a stale lock file never blocks a resume. It does not lock the HDF5 file
// itself and never stops readers; it only keeps a second writer (create or resume) out.
#pragma once

#include <string>

namespace fracnas::hdf5 {

class run_lock {
public:
    /// Takes the lock of archive_path, creating its lock file, and writes "host pid" into it.
    /// Throws config_error("--archive") naming the other run's host and process when another run
    /// (or another open of the same archive in this process) holds it, and when the lock file
    /// cannot be created.
    explicit run_lock(const std::string& archive_path);
    /// Removes the lock file, then releases the lock.
    ~run_lock();
    run_lock(const run_lock&) = delete;
    run_lock& operator=(const run_lock&) = delete;

    /// The lock file of an archive: archive_path + ".lock".
    static std::string file_of(const std::string& archive_path);
    /// Who holds the lock of archive_path now, as "process PID on HOST"; empty when nobody does.
    /// Creates nothing.
    static std::string holder(const std::string& archive_path);

private:
    std::string lock_path_;
    int fd_ = -1;
};

}  // namespace fracnas::hdf5
