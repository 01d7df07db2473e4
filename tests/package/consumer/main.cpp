// Minimises a 3-d sphere with the SOO preset through the ask/tell interface and counts GPT-2
// small's decoder parameters, using only the installed fracnas headers and libraries.
#include <cstdio>
#include <vector>

#include "fracnas/core/presets.hpp"
#include "fracnas/nas/architecture.hpp"
#include "fracnas/nas/counts.hpp"

int main() {
    fracnas::core::stopping stop;
    stop.budget = 300;
    auto opt = fracnas::core::make_optimizer("soo", 3, 1, stop);
    while (!opt->done()) {
        std::vector<fracnas::core::result> results;
        for (const auto& t : opt->ask(4)) {
            double f = 0.0;
            for (double v : t.x) f += (v - 0.3) * (v - 0.3);
            results.push_back({t.id, f, fracnas::core::eval_status::ok});
        }
        opt->tell(results);
    }
    std::printf("evaluations %llu best %.6f\n", static_cast<unsigned long long>(opt->told()), opt->best()->value);
    std::printf("gpt2-small decoder parameters %llu\n",
                static_cast<unsigned long long>(fracnas::nas::count_parameters(fracnas::nas::gpt2_small()).decoder));
    return opt->best()->value < 1e-3 ? 0 : 1;
}
