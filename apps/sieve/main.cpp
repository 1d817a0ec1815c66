// Entry point of the `sieve` CLI: builds the verb tree and turns every failure into a clear
// message and a non-zero exit.
#include <cstdio>
#include <exception>

#include "apps/sieve/model_limit_flag.h"
#include "apps/sieve/run_command.h"
#include "apps/sieve/verbs.h"
#include "sieve/core/error.h"

int main(int argc, char** argv) {
  CLI::App app{"Sieve: train, compress and serve efficient transformer models"};
  app.require_subcommand(1);
  sieve::apps::add_train_verb(app);
  sieve::apps::add_eval_verb(app);
  sieve::apps::add_generate_verb(app);
  sieve::apps::add_tokenizer_verb(app);
  sieve::apps::add_inspect_verb(app);
  sieve::apps::add_bench_verb(app);
  sieve::apps::add_finetune_verb(app);
  sieve::apps::add_quantize_verb(app);
  sieve::apps::add_distill_verb(app);
  sieve::apps::add_prune_verb(app);
  sieve::apps::add_serve_verb(app);
  sieve::apps::add_dashboard_verb(app);
  sieve::apps::add_export_verb(app);
  sieve::apps::add_import_verb(app);
  sieve::apps::add_data_verb(app);
  sieve::apps::add_infer_verb(app);
  sieve::apps::add_advise_verb(app);
  // Every verb that builds a model from a config file or a model directory.
  for (const char* verb : {"train", "eval", "generate", "inspect", "finetune", "distill", "quantize", "serve", "export", "import", "infer"})
    sieve::apps::add_max_model_bytes_flag(app.get_subcommand(verb));
  for (const char* bench : {"sparse-sweep", "decode", "prefill"})
    sieve::apps::add_max_model_bytes_flag(app.get_subcommand("bench")->get_subcommand(bench));
  sieve::apps::remember_command_line(argc, argv);  // training runs save it (command.json)
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const sieve::core::UserError& e) {
    std::fprintf(stderr, "sieve: error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sieve: internal error: %s\n", e.what());
    return 3;
  }
  return 0;
}
