// A training state as one torch::serialize archive: a header tensor of text (format, identity,
// budget, step, seconds), the loss curve, the validation checkpoints, then the tensors by name.
#include "train_state.hpp"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "fracnas/error.hpp"

namespace fracnas::eval::torch_train {

namespace {

constexpr const char* format_line = "fracnas training state 1";

// FNV-1a over the ids: a fingerprint of a split (same length and ids, same data).
std::uint64_t fingerprint(token_span s) {
    std::uint64_t h = 1469598103934665603ULL;
    for (std::size_t i = 0; i < s.size; ++i) {
        h ^= s.data[i];
        h *= 1099511628211ULL;
    }
    return h;
}

torch::Tensor text_tensor(const std::string& text) {
    auto t = torch::empty({static_cast<std::int64_t>(text.size())}, torch::kUInt8);
    std::copy(text.begin(), text.end(), t.data_ptr<std::uint8_t>());
    return t;
}

std::string tensor_text(const torch::Tensor& t) {
    const auto c = t.to(torch::kCPU).contiguous();
    const auto* p = c.data_ptr<std::uint8_t>();
    return std::string(p, p + c.numel());
}

torch::Tensor doubles(const std::vector<double>& v) {
    return torch::tensor(v.empty() ? std::vector<double>{} : v, torch::kFloat64);
}

std::vector<double> from_doubles(const torch::Tensor& t) {
    const auto c = t.to(torch::kCPU, torch::kFloat64).contiguous();
    return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

}  // namespace

std::string identity(const nas::architecture& arch, token_span train, token_span val, const train_recipe& r) {
    std::ostringstream o;
    o.precision(17);
    o << "arch " << nas::canonical(arch) << "\ntrain " << train.size << ' ' << fingerprint(train) << "\nval " << val.size << ' '
      << fingerprint(val) << "\nbatch " << r.batch << " seq_len " << r.seq_len << " lr " << r.lr << " min_lr_ratio " << r.min_lr_ratio
      << " warmup_share " << r.warmup_share << " weight_decay " << r.weight_decay << " betas " << r.beta1 << ' ' << r.beta2 << " eps "
      << r.adam_eps << " clip " << r.clip << " seed " << r.seed << " val_tokens " << r.val_tokens << " bf16 "
      << (r.device == device_kind::cuda && r.bf16) << " schedule " << to_string(r.schedule);
    if (r.sampling != window_sampling::random) o << " sampling " << to_string(r.sampling);
    if (r.schedule == lr_schedule::wsd) o << " decay_share " << r.decay_share << " warmup_tokens " << r.warmup_tokens;
    return o.str();
}

void save_state(const saved_state& s, const std::string& path) {
    torch::serialize::OutputArchive a;
    std::ostringstream header;
    header.precision(17);
    header << format_line << '\n' << s.budget << ' ' << s.step << ' ' << s.training_seconds << '\n' << s.identity;
    a.write("header", text_tensor(header.str()));
    a.write("loss_curve", doubles(s.loss_curve));
    std::vector<double> c;
    for (const auto& k : s.checkpoints)
        c.insert(c.end(),
                 {static_cast<double>(k.step), static_cast<double>(k.tokens), k.train_loss, k.val_loss, k.val_perplexity, k.seconds});
    a.write("checkpoints", doubles(c));
    std::vector<double> b;
    for (const auto& k : s.budgets)
        b.insert(b.end(), {static_cast<double>(k.budget), static_cast<double>(k.steps), static_cast<double>(k.tokens), k.train_loss,
                           k.val_loss, k.val_perplexity, k.seconds});
    a.write("budgets", doubles(b));
    a.write("model_count", torch::tensor(static_cast<std::int64_t>(s.model.size())));
    for (std::size_t i = 0; i < s.model.size(); ++i) {
        a.write("model_name." + std::to_string(i), text_tensor(s.model[i].first));
        a.write("model." + std::to_string(i), s.model[i].second.detach().to(torch::kCPU));
    }
    a.write("optimizer_count", torch::tensor(static_cast<std::int64_t>(s.exp_avg.size())));
    for (std::size_t i = 0; i < s.exp_avg.size(); ++i) {
        a.write("exp_avg." + std::to_string(i), s.exp_avg[i].to(torch::kCPU));
        a.write("exp_avg_sq." + std::to_string(i), s.exp_avg_sq[i].to(torch::kCPU));
        a.write("step." + std::to_string(i), s.steps[i].to(torch::kCPU));
    }
    const std::string tmp = path + ".tmp";
    try {
        a.save_to(tmp);
    } catch (const c10::Error& e) {
        throw config_error("state-dir", "cannot write the training state " + tmp + ": " + e.msg());
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0)
        throw config_error("state-dir", "cannot rename the training state " + tmp + " to " + path + ".");
}

std::optional<saved_state> load_state(const std::string& path, const torch::Device& device) {
    if (!std::ifstream(path).good()) return std::nullopt;
    saved_state s;
    try {
        torch::serialize::InputArchive a;
        a.load_from(path);
        // a fresh tensor for each read: read() into a defined tensor set_()s it, whatever its dtype
        const auto read = [&a](const std::string& key) {
            torch::Tensor t;
            a.read(key, t);
            return t;
        };
        std::istringstream header(tensor_text(read("header")));
        std::string format;
        std::getline(header, format);
        if (format != format_line) throw std::runtime_error("its header is not '" + std::string(format_line) + "'");
        header >> s.budget >> s.step >> s.training_seconds;
        header.ignore(1);
        s.identity.assign(std::istreambuf_iterator<char>(header), std::istreambuf_iterator<char>());
        s.loss_curve = from_doubles(read("loss_curve"));
        const auto c = from_doubles(read("checkpoints"));
        if (c.size() % 6 != 0) throw std::runtime_error("its checkpoint table is damaged");
        for (std::size_t i = 0; i < c.size(); i += 6)
            s.checkpoints.push_back(
                {static_cast<std::uint64_t>(c[i]), static_cast<std::uint64_t>(c[i + 1]), c[i + 2], c[i + 3], c[i + 4], c[i + 5]});
        torch::Tensor budgets;  // absent from the states written before train_recipe::budgets
        if (a.try_read("budgets", budgets)) {
            const auto v = from_doubles(budgets);
            if (v.size() % 7 != 0) throw std::runtime_error("its budget table is damaged");
            for (std::size_t i = 0; i < v.size(); i += 7)
                s.budgets.push_back({static_cast<std::uint64_t>(v[i]), static_cast<std::uint64_t>(v[i + 1]),
                                     static_cast<std::uint64_t>(v[i + 2]), v[i + 3], v[i + 4], v[i + 5], v[i + 6]});
        }
        if (s.loss_curve.size() != s.step) throw std::runtime_error("its loss curve does not match its step");
        const auto n = read("model_count").item<std::int64_t>();
        for (std::int64_t i = 0; i < n; ++i)
            s.model.emplace_back(tensor_text(read("model_name." + std::to_string(i))), read("model." + std::to_string(i)).to(device));
        const auto m = read("optimizer_count").item<std::int64_t>();
        for (std::int64_t i = 0; i < m; ++i) {
            s.exp_avg.push_back(read("exp_avg." + std::to_string(i)).to(device));
            s.exp_avg_sq.push_back(read("exp_avg_sq." + std::to_string(i)).to(device));
            s.steps.push_back(read("step." + std::to_string(i)).to(device));
        }
    } catch (const std::exception& e) {
        std::string why = e.what();
        if (const auto* ce = dynamic_cast<const c10::Error*>(&e)) why = ce->msg();
        why = why.substr(0, why.find('\n'));
        throw config_error("state-dir", path + " is not a readable fracnas training state (" + why + ").");
    }
    return s;
}

}  // namespace fracnas::eval::torch_train
