//===- CApi.cpp - The C interface (sparta_c.h) over the C++ API -------------===//
//
// Every entry point catches every exception at the boundary and turns it
// into a non-zero return and a thread-local message, so that no C++
// exception crosses into a foreign caller.
//
//===----------------------------------------------------------------------===//
#include "sparta/sparta_c.h"

#include "sparta/Compiler.h"
#include "sparta/Cost.h"
#include "sparta/Error.h"
#include "sparta/Frontend.h"
#include "sparta/MaskRows.h"
#include "sparta/PatternFiles.h"
#include "sparta/Packing.h"
#include "sparta/Plan.h"
#include "sparta/SparseAttention.h"
#include "sparta/Validity.h"
#include "sparta/params.h"

#include <fmt/format.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

struct sparta_pattern {
  sparta::ConcretePattern pattern;
};

struct sparta_attention {
  std::unique_ptr<sparta::SparseAttention> attention;
};

namespace {

thread_local std::string lastError;

template <typename F> int guarded(F &&body) {
  try {
    body();
    return 0;
  } catch (const std::exception &e) {
    lastError = e.what();
  } catch (...) {
    lastError = "unknown error";
  }
  return 1;
}

char *copyString(const std::string &text) {
  char *out = static_cast<char *>(std::malloc(text.size() + 1));
  if (!out)
    throw std::bad_alloc();
  std::memcpy(out, text.c_str(), text.size() + 1);
  return out;
}

std::string jsonString(const std::string &text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
    case '"': out += "\\\""; break;
    case '\\': out += "\\\\"; break;
    case '\n': out += "\\n"; break;
    case '\t': out += "\\t"; break;
    default:
      if (static_cast<unsigned char>(c) < 0x20)
        out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
      else
        out += c;
    }
  }
  return out + "\"";
}

std::string costJson(const sparta::MaskCost &c) {
  return fmt::format("{{\"pairs\": {}, \"max_keys\": {}, \"min_keys\": {}, \"mean_keys\": {}, "
                     "\"empty_queries\": {}, \"density\": {}, \"tiles_non_empty\": {}, "
                     "\"tiles_full\": {}, \"tiles_causal\": {}}}",
                     c.pairs, c.maxKeys, c.minKeys, c.meanKeys, c.emptyQueries, c.density,
                     c.tilesNonEmpty, c.tilesFull, c.tilesCausal);
}

void requireOut(const void *out, const char *what) {
  if (!out)
    throw sparta::Error(fmt::format("{}: null output pointer", what));
}

const sparta::ConcretePattern &patternOf(const sparta_pattern *p) {
  if (!p)
    throw sparta::Error("null pattern handle");
  return p->pattern;
}

sparta::SparseAttention &attentionOf(sparta_attention *a) {
  if (!a || !a->attention)
    throw sparta::Error("null attention handle");
  return *a->attention;
}

sparta::TensorView viewOf(const sparta_tensor *t, const char *what) {
  if (!t)
    throw sparta::Error(fmt::format("{}: null tensor", what));
  return sparta::TensorView{t->data, t->B, t->H, t->T, t->d, t->stride_b, t->stride_h, t->stride_t};
}

} // namespace

extern "C" {

int sparta_c_api_version(void) { return SPARTA_C_API_VERSION; }

const char *sparta_version(void) { return sparta::spartaVersion(); }

const char *sparta_last_error(void) { return lastError.c_str(); }

void sparta_string_free(char *text) { std::free(text); }

int sparta_pattern_load(const char *path, const char *source, const char *buffer_name,
                        const char *pattern_name, const char *const *param_names,
                        const int64_t *param_values, int num_params, sparta_pattern **out) {
  return guarded([&] {
    requireOut(out, "sparta_pattern_load");
    *out = nullptr;
    if ((path == nullptr) == (source == nullptr))
      throw sparta::Error("sparta_pattern_load: give exactly one of a path and a source");
    sparta::ParamBindings bindings;
    for (int i = 0; i < num_params; ++i)
      bindings[param_names[i]] = param_values[i];
    const std::string name = pattern_name ? pattern_name : "";
    auto handle = std::make_unique<sparta_pattern>();
    handle->pattern =
        path ? sparta::loadPattern(sparta::findPatternFile(path), bindings, name)
             : sparta::loadPatternFromSource(source, buffer_name ? buffer_name : "<source>",
                                             bindings, name);
    *out = handle.release();
  });
}

void sparta_pattern_free(sparta_pattern *pattern) { delete pattern; }

int sparta_pattern_info(const sparta_pattern *pattern, char **json) {
  return guarded([&] {
    requireOut(json, "sparta_pattern_info");
    const sparta::ConcretePattern &p = patternOf(pattern);
    std::string params, heads;
    for (const auto &[name, value] : p.params)
      params += fmt::format("{}{}: {}", params.empty() ? "" : ", ", jsonString(name), value);
    for (const sparta::Mask &mask : p.heads)
      heads += (heads.empty() ? "" : ", ") + jsonString(sparta::toString(mask));
    const std::optional<int64_t> period = sparta::translationPeriod(p);
    *json = copyString(fmt::format(
        "{{\"name\": {}, \"T\": {}, \"params\": {{{}}}, \"heads\": [{}], \"period\": {}}}",
        jsonString(p.name), p.T, params, heads, period ? std::to_string(*period) : "null"));
  });
}

int sparta_pattern_check(const sparta_pattern *pattern, int layers, int interleaved, int tile,
                         char **json) {
  return guarded([&] {
    requireOut(json, "sparta_pattern_check");
    const sparta::ConcretePattern &p = patternOf(pattern);
    if (tile < 0 || tile == 1)
      throw sparta::Error(fmt::format("tile = {} must be 0 (the kernels' shapes) or at least 2", tile));
    sparta::ValidityOptions options;
    options.layers = layers;
    options.interleaved = interleaved != 0;
    const sparta::ValidityResult validity = sparta::checkValidity(p, options);
    // tile 0: the report counts the kernels' first shape and the plan is the
    // one the kernels run; else both use square tiles of that edge.
    const sparta::CostReport cost =
        sparta::costReport(p, tile > 0 ? tile : int(sparta::tiling::kKernelTileShapes[0].qRows));
    const sparta::WorkReport work = sparta::measureWork(sparta::planPattern(
        p, tile > 0 ? sparta::PlanOptions::square(tile) : sparta::PlanOptions{}));
    std::string heads;
    for (const sparta::MaskCost &c : cost.heads)
      heads += (heads.empty() ? "" : ", ") + costJson(c);
    *json = copyString(fmt::format(
        "{{\"valid\": {}, \"layers\": {}, \"mode\": \"{}\", \"counterexample\": {}, "
        "\"tile\": {}, \"heads\": [{}], \"overall\": {}, \"work_ratio\": {}, "
        "\"plan_tiles_full\": {}, \"plan_tiles_partial\": {}}}",
        validity.valid ? "true" : "false", layers, interleaved ? "interleaved" : "union",
        validity.valid ? std::string("null")
                       : fmt::format("{{\"query\": {}, \"key\": {}}}", validity.query, validity.key),
        cost.tile, heads, costJson(cost.overall), work.ratio(), work.fullTiles,
        work.partialTiles));
  });
}

int sparta_pattern_mask_bits(const sparta_pattern *pattern, int head, uint64_t *out,
                             int64_t out_words) {
  return guarded([&] {
    requireOut(out, "sparta_pattern_mask_bits");
    const sparta::ConcretePattern &p = patternOf(pattern);
    const int64_t heads = static_cast<int64_t>(p.heads.size());
    if (head < 0 || head >= heads)
      throw sparta::Error(fmt::format("head {} is out of range: pattern '{}' has {} head{} (0..{})",
                                      head, p.name, heads, heads == 1 ? "" : "s", heads - 1));
    const int64_t W = sparta::wordsFor(p.T);
    if (out_words != p.T * W)
      throw sparta::Error(fmt::format("mask buffer of {} words; T x ceil(T / 64) = {}", out_words,
                                      p.T * W));
    std::memset(out, 0, static_cast<size_t>(out_words) * sizeof(uint64_t));
    for (int64_t i = 0; i < p.T; ++i)
      sparta::fillMaskRow(p.heads[head], p.T, i, out + i * W, p.causal);
  });
}

int sparta_pattern_mask(const sparta_pattern *pattern, int head, uint8_t *out, int64_t out_bytes) {
  return guarded([&] {
    requireOut(out, "sparta_pattern_mask");
    const sparta::ConcretePattern &p = patternOf(pattern);
    if (out_bytes != p.T * p.T)
      throw sparta::Error(fmt::format("mask buffer of {} bytes; T x T = {}", out_bytes, p.T * p.T));
    const int64_t W = sparta::wordsFor(p.T);
    std::vector<uint64_t> bits(static_cast<size_t>(p.T * W));
    if (sparta_pattern_mask_bits(pattern, head, bits.data(), p.T * W) != 0)
      throw sparta::Error(lastError);
    for (int64_t i = 0; i < p.T; ++i)
      for (int64_t j = 0; j < p.T; ++j)
        out[i * p.T + j] = sparta::testBit(bits.data() + i * W, j) ? 1 : 0;
  });
}

int sparta_pattern_emit(const sparta_pattern *pattern, const char *stage, int head_dim,
                        const char *dtype, const char *arch, int use_cache, char **text) {
  return guarded([&] {
    requireOut(text, "sparta_pattern_emit");
    const sparta::ConcretePattern &p = patternOf(pattern);
    const std::string what = stage ? stage : "";
    sparta::CompileOptions options;
    options.kernel.headDim = head_dim;
    options.kernel.dtype = sparta::parseElementType(dtype ? dtype : "bf16");
    options.kernel.arch = arch && *arch ? arch : "sm_90a";
    options.useCache = use_cache != 0;
    options.wantCubin = false;
    if (what == "plan" || what == "cuda") {
      sparta::Plan plan;
      sparta::KernelSource source = sparta::generateForPattern(p, options, &plan);
      *text = copyString(what == "plan" ? sparta::printPlan(plan) : source.source);
    } else if (what == "ptx") {
      *text = copyString(sparta::compileKernels(p, options).module.ptx);
    } else {
      throw sparta::Error(fmt::format("unknown stage '{}' (expected plan, cuda or ptx)", what));
    }
  });
}

int sparta_cuda_available(char **why) {
  return guarded([&] {
    std::string reason;
    const bool available = sparta::rt::cudaAvailable(&reason);
    if (why)
      *why = available ? nullptr : copyString(reason);
    if (!available)
      throw sparta::Error("CUDA is not available: " + reason);
  });
}

int sparta_attention_create(const sparta_pattern *pattern, int head_dim, const char *dtype,
                            float scale, int device, int use_cache, const char *cache_dir,
                            sparta_attention **out) {
  return guarded([&] {
    requireOut(out, "sparta_attention_create");
    *out = nullptr;
    sparta::AttentionConfig config;
    config.headDim = head_dim;
    config.dtype = sparta::parseElementType(dtype ? dtype : "bf16");
    config.scale = scale;
    config.device = device < 0 ? 0 : device;
    config.useCache = use_cache != 0;
    config.cacheDir = cache_dir ? cache_dir : "";
    auto handle = std::make_unique<sparta_attention>();
    handle->attention = std::make_unique<sparta::SparseAttention>(patternOf(pattern), config);
    *out = handle.release();
  });
}

void sparta_attention_free(sparta_attention *attention) { delete attention; }

int sparta_attention_workspace_bytes(const sparta_attention *attention, int backward, int64_t B,
                                     int64_t H, int64_t Hkv, uint64_t *bytes) {
  return guarded([&] {
    requireOut(bytes, "sparta_attention_workspace_bytes");
    sparta::SparseAttention &a = attentionOf(const_cast<sparta_attention *>(attention));
    *bytes = backward ? a.backwardWorkspaceBytes(B, H, Hkv) : a.forwardWorkspaceBytes(B, H);
  });
}

int sparta_attention_forward(sparta_attention *attention, const sparta_tensor *q,
                             const sparta_tensor *k, const sparta_tensor *v,
                             const sparta_tensor *o, uint64_t lse, void *stream,
                             uint64_t workspace, uint64_t workspace_bytes, uint64_t cu_seqlens,
                             int64_t num_documents) {
  return guarded([&] {
    sparta::SparseAttention &a = attentionOf(attention);
    const sparta::rt::Stream s = sparta::rt::Stream::external(static_cast<CUstream_st *>(stream));
    const sparta::Workspace ws{workspace, workspace_bytes};
    const sparta::Documents docs{cu_seqlens, num_documents};
    a.forward(viewOf(q, "q"), viewOf(k, "k"), viewOf(v, "v"), viewOf(o, "o"), lse, s,
              workspace ? &ws : nullptr, cu_seqlens ? &docs : nullptr);
  });
}

int sparta_attention_backward(sparta_attention *attention, const sparta_tensor *q,
                              const sparta_tensor *k, const sparta_tensor *v,
                              const sparta_tensor *o, uint64_t lse, const sparta_tensor *dout,
                              const sparta_tensor *dq, const sparta_tensor *dk,
                              const sparta_tensor *dv, void *stream, uint64_t workspace,
                              uint64_t workspace_bytes, uint64_t cu_seqlens,
                              int64_t num_documents) {
  return guarded([&] {
    sparta::SparseAttention &a = attentionOf(attention);
    const sparta::rt::Stream s = sparta::rt::Stream::external(static_cast<CUstream_st *>(stream));
    const sparta::Workspace ws{workspace, workspace_bytes};
    const sparta::Documents docs{cu_seqlens, num_documents};
    a.backward(viewOf(q, "q"), viewOf(k, "k"), viewOf(v, "v"), viewOf(o, "o"), lse,
               viewOf(dout, "dout"), viewOf(dq, "dq"), viewOf(dk, "dk"), viewOf(dv, "dv"), s,
               workspace ? &ws : nullptr, cu_seqlens ? &docs : nullptr);
  });
}

} // extern "C"
