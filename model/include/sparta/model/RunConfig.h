//===- RunConfig.h - config.json: everything that defines a training run --===//
//
// A run directory holds config.json, and model.safetensors / init.safetensors
// carry the same text in their metadata under "config", so a weights file
// alone says which model it belongs to. The object has these sections:
//
//   "version": 1, "seed": the --seed the weights, batches and dropout derive from,
//   "model":  layers, d_model, heads, ff_mult, T, vocab, pattern_file,
//             pattern_source (the pattern file's text when the run started),
//             pattern_params {name: value} (without T), heads_mode, dropout,
//             recompute, positions ("text" | "image"), grid_l, image_width,
//             image_height, layer_norm_eps
//   "data":   spec ("gcide", "fashion-mnist" or a file), path (may be empty),
//             kind ("text" | "images"), train_bytes, validation_bytes,
//             pack (rows of whole documents, --pack)
//   "optimizer": name ("adamw"), lr, min_lr_ratio, warmup, beta1, beta2, eps,
//             weight_decay, clip
//   "train":  batch, steps, eval_every, eval_rows, checkpoint_every,
//             keep_checkpoints, time_limit_minutes
//
// runConfigFromJson reads it back into a TrainerConfig with the same values,
// so `sparta-train` options can be rebuilt from it and the model rebuilt with
// Transformer(config.model, ...). Numbers are written so that they read back
// to the same double (and floats to the same float).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "sparta/model/Checkpoint.h"
#include "sparta/model/Data.h"
#include "sparta/model/Trainer.h"

#include <string>
#include <vector>

namespace sparta::model {

/// The JSON text of config.json. Reads the pattern file for pattern_source;
/// throws sparta::Error when it cannot.
std::string runConfigJson(const TrainerConfig &config, const Dataset &data);

/// The configuration of a config.json text. `what` names the source in the
/// sparta::Error thrown for a missing or mistyped field ("config.json: model.T
/// must be an integer").
TrainerConfig runConfigFromJson(const std::string &json, const std::string &what);

/// The metadata key of the safetensors files that holds the config text.
inline constexpr const char *kRunConfigKey = "config";

/// Writes `json` to `dir`/config.json atomically.
void writeRunConfig(const std::string &dir, const std::string &json);

/// Writes the flat parameters as safetensors (ModelConfig.h's names) with
/// the run's config text in the metadata.
void writeWeightsWithConfig(const std::string &path, const ParameterLayout &layout,
                            const std::vector<float> &flat, const std::string &configJson);

} // namespace sparta::model
