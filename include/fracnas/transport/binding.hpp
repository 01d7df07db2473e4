// Which GPU a worker takes: from its node-local rank modulo the devices it sees, or the only one
// that `srun --gpus-per-task` (or CUDA_VISIBLE_DEVICES) left visible. An MPI worker's node-local
// rank is MPI's (mpi::environment::node_rank()); local_rank() reads the launcher's variables
// (SLURM_LOCALID, OMPI_COMM_WORLD_LOCAL_RANK, MPI_LOCALRANKID, MV2_COMM_WORLD_LOCAL_RANK), for a
// process without MPI. Pure logic; that two workers never measure on one GPU is checked by the
// master on the UUIDs they report.
#pragma once

#include <functional>
#include <optional>
#include <string>

namespace fracnas::transport {

/// The node-local rank from the launcher's environment (get returns a variable or nullopt), or
/// nullopt when no launcher set one.
std::optional<int> local_rank(const std::function<std::optional<std::string>(const std::string&)>& get);
/// local_rank() over the process environment.
std::optional<int> local_rank();

/// The CUDA device index for a worker that sees `visible` devices: -1 when none; 0 when one
/// (the launcher bound it); otherwise local rank modulo visible (0 without a local rank).
int choose_gpu(int visible, std::optional<int> local);

}  // namespace fracnas::transport
