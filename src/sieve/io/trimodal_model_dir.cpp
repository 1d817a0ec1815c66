#include "sieve/io/trimodal_model_dir.h"

#include "sieve/io/model_config.h"
#include "sieve/io/model_dir.h"
#include "sieve/io/model_family.h"
#include "sieve/io/model_limits.h"
#include "sieve/io/trimodal_config.h"
#include "sieve/io/trimodal_layout.h"

namespace sieve::io {

std::unique_ptr<nn::TriModalModel> load_trimodal_model(const std::filesystem::path& dir) {
  SIEVE_USER_CHECK(std::filesystem::is_directory(dir), "model directory '{}' does not exist", dir.string());
  const std::string config_file = (dir / kConfigFile).string();
  const nlohmann::json json = read_config_json(config_file);
  const std::string family = model_family(json, config_file);
  SIEVE_USER_CHECK(family == nn::kTriModalFamily, "'{}' is a {} model directory, not a {} one (model_type in {})",
                   dir.string(), family, nn::kTriModalFamily, config_file);
  const nn::TriModalConfig config = parse_trimodal_config(json, config_file);
  check_model_fits(config, config_file);
  const SafetensorsFile weights(dir / kWeightsFile);
  check_weights_match(trimodal_parameters(config), weights, config_file);
  std::unique_ptr<nn::TriModalModel> model;
  {
    nn::SkipParameterInitGuard skip_init;  // every parameter is read from the file just below
    model = std::make_unique<nn::TriModalModel>(config, 0);
  }
  copy_parameters(*model, weights);
  return model;
}

void save_trimodal_model(const nn::TriModalModel& model, const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  save_trimodal_config(dir / kConfigFile, model.config());
  save_parameters(model, dir / kWeightsFile);
}

}  // namespace sieve::io
