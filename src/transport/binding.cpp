// GPU choice from the launcher's node-local rank.
#include "fracnas/transport/binding.hpp"

#include <cstdlib>

namespace fracnas::transport {

std::optional<int> local_rank(const std::function<std::optional<std::string>(const std::string&)>& get) {
    for (const char* name :
         {"SLURM_LOCALID", "OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "MV2_COMM_WORLD_LOCAL_RANK", "PMI_LOCAL_RANK"}) {
        const auto v = get(name);
        if (!v || v->empty() || v->size() > 9 || v->find_first_not_of("0123456789") != std::string::npos) continue;
        return std::stoi(*v);
    }
    return std::nullopt;
}

std::optional<int> local_rank() {
    return local_rank([](const std::string& name) -> std::optional<std::string> {
        const char* v = std::getenv(name.c_str());
        if (v == nullptr) return std::nullopt;
        return std::string(v);
    });
}

int choose_gpu(int visible, std::optional<int> local) {
    if (visible <= 0) return -1;
    if (visible == 1) return 0;
    return local ? *local % visible : 0;
}

}  // namespace fracnas::transport
