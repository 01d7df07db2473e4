// The in-memory archive: every append kept in order, flushes counted.
#include "fracnas/storage/archive.hpp"

namespace fracnas::storage {

memory_archive::memory_archive(run_header h, std::uint32_t session) : session_(session) {
    contents_.header = std::move(h);
}
void memory_archive::append(const evaluation_record& r) {
    contents_.evaluations.push_back(r);
}
void memory_archive::append(const event_record& r) {
    contents_.events.push_back(r);
}
void memory_archive::append(const worker_record& r) {
    contents_.workers.push_back(r);
}
void memory_archive::append(const worker_event_record& r) {
    contents_.worker_events.push_back(r);
}
void memory_archive::append(const session_record& r) {
    contents_.sessions.push_back(r);
}
void memory_archive::append(const search_training_record& r) {
    contents_.search_trainings.push_back(r);
}
void memory_archive::flush() {
    ++flushes_;
}
std::uint32_t memory_archive::session() const {
    return session_;
}

}  // namespace fracnas::storage
