// The archive's run lock (run_lock.hpp): flock on "<archive>.lock", whose text names the holder.
// POSIX only; it does not wait for a lock (a second writer is refused at once), and it trusts the
// file system's flock (local disks, and NFSv4/Lustre, where Linux maps flock to byte-range locks).
#include "run_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>
#include <string>

#include "fracnas/error.hpp"

namespace fracnas::hdf5 {
namespace {

std::string in_quotes(const std::string& path) {
    return "'" + path + "'";
}

std::string this_host() {
    char name[256] = {};
    if (::gethostname(name, sizeof name - 1) != 0) return "unknown-host";
    return name;
}

// The lock file's text, "host pid", as "process PID on HOST".
std::string describe(const std::string& text) {
    std::istringstream in(text);
    std::string host, pid;
    if (!(in >> host >> pid)) return "an unknown process (its lock file is empty)";
    return "process " + pid + " on " + host;
}

std::string read_all(int fd) {
    std::string text;
    char buffer[512];
    off_t at = 0;
    for (;;) {
        const ssize_t n = ::pread(fd, buffer, sizeof buffer, at);
        if (n <= 0) break;
        text.append(buffer, static_cast<std::size_t>(n));
        at += n;
        if (text.size() > 4096) break;  // a lock file is one short line; never read a huge one whole
    }
    return text;
}

}  // namespace

std::string run_lock::file_of(const std::string& archive_path) {
    return archive_path + ".lock";
}

std::string run_lock::holder(const std::string& archive_path) {
    const std::string lock_path = file_of(archive_path);
    const int fd = ::open(lock_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return "";  // no lock file: nobody writes
    std::string who;
    // a shared lock is refused exactly while a writer holds its exclusive one; it is dropped at once
    if (::flock(fd, LOCK_SH | LOCK_NB) == 0)
        ::flock(fd, LOCK_UN);
    else if (errno == EWOULDBLOCK)
        who = describe(read_all(fd));
    ::close(fd);
    return who;
}

run_lock::run_lock(const std::string& archive_path) : lock_path_(file_of(archive_path)) {
    // A releasing run unlinks its lock file while it still holds the lock: if we locked a file that
    // was unlinked meanwhile, a third run could lock a new file at the same path, so check that the
    // file we hold is still the one at the path, and retry otherwise.
    for (int attempt = 0; attempt < 16; ++attempt) {
        const int fd = ::open(lock_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
            throw config_error("--archive", "cannot create the lock file " + in_quotes(lock_path_) + " of archive " +
                                                in_quotes(archive_path) + ": " + std::strerror(errno) + ".");
        if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
            const int err = errno;
            const std::string text = err == EWOULDBLOCK ? read_all(fd) : std::string();
            ::close(fd);
            if (err == EWOULDBLOCK)
                throw config_error("--archive", "archive " + in_quotes(archive_path) + " is being written by another run (" +
                                                    describe(text) + "); wait for it to end or choose another file.");
            throw config_error("--archive", "cannot lock " + in_quotes(lock_path_) + " for archive " + in_quotes(archive_path) + ": " +
                                                std::strerror(err) + ".");
        }
        struct stat held {
        }, named{};
        if (::fstat(fd, &held) == 0 && ::stat(lock_path_.c_str(), &named) == 0 && held.st_dev == named.st_dev &&
            held.st_ino == named.st_ino) {
            fd_ = fd;
            break;
        }
        ::close(fd);
    }
    if (fd_ < 0)
        throw config_error("--archive", "cannot take the lock " + in_quotes(lock_path_) + " of archive " + in_quotes(archive_path) +
                                            ": other runs keep replacing it.");
    const std::string text = this_host() + " " + std::to_string(::getpid()) + "\n";
    // the text only names the holder for the message of a refused run: a failure here is harmless
    if (::ftruncate(fd_, 0) == 0) {
        const ssize_t written = ::pwrite(fd_, text.data(), text.size(), 0);
        (void)written;
    }
}

run_lock::~run_lock() {
    if (fd_ < 0) return;
    ::unlink(lock_path_.c_str());  // while still held: see the constructor
    ::close(fd_);                  // releases the lock
}

}  // namespace fracnas::hdf5
