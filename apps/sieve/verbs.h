// The `sieve` CLI: one file per verb. Each add_*_verb registers its subcommand on the app and
// the callback that runs it. A callback reports bad input by throwing core::UserError; main()
// prints it as "sieve: error: ..." and exits non-zero.
#pragma once

#include <CLI/CLI.hpp>

namespace sieve::apps {

void add_train_verb(CLI::App& app);
void add_eval_verb(CLI::App& app);
void add_generate_verb(CLI::App& app);
void add_tokenizer_verb(CLI::App& app);
void add_inspect_verb(CLI::App& app);
void add_bench_verb(CLI::App& app);
void add_finetune_verb(CLI::App& app);
void add_quantize_verb(CLI::App& app);
// `sieve distill` (verb_distill.cpp): knowledge distillation from a teacher model.
void add_distill_verb(CLI::App& app);
// `sieve prune` (verb_prune.cpp): structured pruning of heads, MLP channels and layers.
void add_prune_verb(CLI::App& app);
void add_serve_verb(CLI::App& app);
// `sieve dashboard` (verb_dashboard.cpp): the web dashboard over a directory of runs.
void add_dashboard_verb(CLI::App& app);
// `sieve data` (verb_data.cpp): build the data sets Sieve makes, such as trifashion.
void add_data_verb(CLI::App& app);
// `sieve infer` (verb_infer.cpp): a trimodal model on an image, a WAV file and/or texts.
void add_infer_verb(CLI::App& app);
// `sieve export` / `sieve import` (verb_export.cpp, verb_import.cpp; the formats in conversion_formats.h).
void add_export_verb(CLI::App& app);
void add_import_verb(CLI::App& app);
// `sieve advise` (verb_advise.cpp): the optimization advisor's suggestions for a run directory.
void add_advise_verb(CLI::App& app);
// `sieve bench decode` and `sieve bench prefill` (bench_inference.cpp), registered by add_bench_verb.
void add_inference_benches(CLI::App* bench);
// `sieve bench sparse-sweep` (bench_sparse_sweep.cpp), registered by add_bench_verb.
void add_sparse_sweep_bench(CLI::App* bench);
// `sieve bench retrieval` (bench_retrieval.cpp), registered by add_bench_verb.
void add_retrieval_bench(CLI::App* bench);
// `sieve bench serve` (bench_serve.cpp: a load generator for `sieve serve`), registered by add_bench_verb.
void add_serve_bench(CLI::App* bench);

}  // namespace sieve::apps
