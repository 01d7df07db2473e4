// The fracnas command line's top level: subcommand dispatch, --help, --version, and the only
// catch of the program: bad input -> one line "fracnas: error: ..." and exit 2, a failed run ->
// the same line and exit 1. Subcommands (optimize_command.cpp) parse and run; they never exit.
#include "fracnas/cli/cli.hpp"

#include <boost/program_options/errors.hpp>
#include <exception>
#include <iostream>
#include <ostream>
#include <string>
#include <vector>

#include "analyze_command.hpp"
#include "eval_command.hpp"
#include "fracnas/app/optimize_config.hpp"
#include "fracnas/error.hpp"
#include "optimize_command.hpp"
#include "options.hpp"
#include "search_command.hpp"
#include "train_command.hpp"
#ifdef FRACNAS_HAVE_TORCH
#include "fracnas/torch/evaluator.hpp"
#endif

#ifndef FRACNAS_VERSION
#define FRACNAS_VERSION "unknown"
#endif

namespace fracnas::cli {

namespace {

constexpr int exit_ok = 0;
constexpr int exit_failure = 1;  // the input was accepted, the run failed
constexpr int exit_usage = 2;    // bad input; nothing was run

void print_usage(std::ostream& out) {
    out << "usage: fracnas optimize [--function NAME] [--dim D] [--algorithm NAME] [--budget N] [--seed S] [options]\n"
           "       fracnas eval (--arch TEXT | --preset NAME) [--device cpu|cuda] [--measure LIST] [options]\n"
           "       fracnas train (--arch TEXT | --preset NAME) --data DIR [--tokens N] [--device cpu|cuda] [options]\n"
           "       fracnas search [--config FILE] [--budget N] [--archive FILE | --resume FILE] [options]   (under mpirun/srun: master + "
           "workers)\n"
           "       fracnas analyze ARCHIVE [ARCHIVE...] [--objectives LIST] [--csv PREFIX] [--json FILE]\n"
           "       fracnas --help | --version\n"
           "Run 'fracnas --help' or 'fracnas optimize --help' for every option.\n";
}

void print_help(std::ostream& out) {
    print_usage(out);
    out << "\nCommands:\n"
           "  optimize    minimise a synthetic function in-process with a fractal (or random) algorithm\n"
           "  eval        build one GPT architecture in LibTorch and time prefill, decode, generation\n"
           "              ('fracnas eval --help' lists its options)\n"
           "  train       train one GPT architecture in LibTorch on the prepared corpus with recipe A and report\n"
           "              its validation perplexity ('fracnas train --help' lists its options)\n"
           "  search      search the GPT space for the fastest model with the reference's decoder parameters\n"
           "              ('fracnas search --help' lists its options)\n"
           "  analyze     summarise search archives: counts, best architectures, front and hypervolume, growth,\n"
           "              workers; CSV and JSON export ('fracnas analyze --help' lists its options)\n"
           "\nGlobal options:\n"
           "  -h [ --help ]    print this help and exit\n"
           "  --version        print the fracnas version (and LibTorch's, when built with it) and exit\n\n";
    print_optimize_options(out);
}

void print_version(std::ostream& out) {
    out << "fracnas " << FRACNAS_VERSION << '\n';
#ifdef FRACNAS_HAVE_TORCH
    out << "LibTorch " << eval::torch_version() << '\n';
#endif
}

// Writes the one error line: the message on a single line, ending in a full stop.
int fail(std::ostream& err, int code, std::string message) {
    if (launched_as_worker()) return code;  // every rank fails the same way: rank 0 says so
    for (char& c : message)
        if (c == '\n' || c == '\r') c = ' ';
    if (message.empty()) message = "unknown error";
    message = bounded(message, 1000);  // whatever a message echoes of the input, the line stays readable
    if (message.back() != '.') message += '.';
    err << "fracnas: error: " << message << '\n';
    return code;
}

int dispatch(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
    if (args.empty()) {
        print_usage(err);
        return exit_usage;
    }
    const std::string& command = args.front();
    const bool help = command == "--help" || command == "-h";
    if ((help || command == "--version") && args.size() > 1)
        return fail(err, exit_usage, command + " takes no other arguments; got '" + bounded(args[1]) + "' as well");
    if (help) {
        print_help(out);
        return exit_ok;
    }
    if (command == "--version") {
        print_version(out);
        return exit_ok;
    }
    if (command == "optimize") {
        const optimize_request request = parse_optimize_args({args.begin() + 1, args.end()});
        if (request.help) {
            print_optimize_options(out);
            return exit_ok;
        }
        request.config.validate();
        run_optimize(request.config, out);
        return exit_ok;
    }
#ifdef FRACNAS_HAVE_TORCH
    if (command == "eval") {
        run_eval({args.begin() + 1, args.end()}, out);
        return exit_ok;
    }
    if (command == "train") {
        run_train({args.begin() + 1, args.end()}, out);
        return exit_ok;
    }
    const char* const subcommands = "optimize, eval, train, search, analyze";
#else
    const char* const subcommands = "optimize, search, analyze (eval and train need a build with LibTorch)";
#endif
    if (command == "search") {
        run_search({args.begin() + 1, args.end()}, out);
        return exit_ok;
    }
    if (command == "analyze") {
        run_analyze({args.begin() + 1, args.end()}, out);
        return exit_ok;
    }
    if (!command.empty() && command.front() == '-')
        return fail(err, exit_usage, "unknown option '" + command + "'; valid before a subcommand: --help, --version");
    return fail(err, exit_usage, "unknown subcommand '" + command + "'; valid: " + subcommands);
}

}  // namespace

int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
    try {
        return dispatch(args, out, err);
    } catch (const boost::program_options::unknown_option& e) {
        // only a subcommand's parser throws this (the first argument is checked by dispatch)
        return fail(err, exit_usage, "unknown option '" + e.get_option_name() + "'; see 'fracnas " + args.front() + " --help'");
    } catch (const boost::program_options::error& e) {
        return fail(err, exit_usage, e.what());
    } catch (const config_error& e) {
        const std::string option = app::option_for_field(e.field());
        const std::string message = e.what();
        const bool named = option.empty() || message.rfind(option, 0) == 0 || message.find(option + ":") != std::string::npos;
        return fail(err, exit_usage, named ? message : option + ": " + message);
    } catch (const error& e) {
        return fail(err, exit_failure, e.what());
    } catch (const std::exception& e) {
        return fail(err, exit_failure, std::string("internal error: ") + e.what());
    } catch (...) {
        return fail(err, exit_failure, "internal error: an exception that is not a std::exception");
    }
}

int main(int argc, char** argv) {
    std::vector<std::string> args;
    for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
    return run(args, std::cout, std::cerr);
}

}  // namespace fracnas::cli
