// sluice_native: the N-API entry points (native/README.md). Every argument is checked here; a
// call with arguments of the wrong kind throws a TypeError and never reads out of bounds.
#include <napi.h>

#include <cmath>
#include <memory>
#include <string>

#include "encode.h"
#include "lift.h"

namespace {

using sluice::Kind;

bool kindMatches(Kind kind, napi_typedarray_type t) {
  switch (kind) {
    case Kind::BOOL:
    case Kind::UINT8: return t == napi_uint8_array;
    case Kind::INT8: return t == napi_int8_array;
    case Kind::INT16: return t == napi_int16_array;
    case Kind::INT32: return t == napi_int32_array;
    case Kind::INT64: return t == napi_bigint64_array;
    case Kind::FP32: return t == napi_float32_array;
    case Kind::FP64: return t == napi_float64_array;
  }
  return false;
}

// One napi_get_typedarray_info per array: node-addon-api's accessors ask again for each field,
// which cost more than encoding a small tensor.
struct View {
  napi_typedarray_type type;
  size_t length;
  uint8_t* data;
};

bool viewOf(napi_env env, napi_value v, View* out) {
  bool is = false;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return false;
  void* data = nullptr;
  if (napi_get_typedarray_info(env, v, &out->type, &out->length, &data, nullptr, nullptr) != napi_ok) return false;
  out->data = static_cast<uint8_t*>(data);
  return true;
}

// The data array and kind code of arguments 0 and 1, checked against each other.
bool dataAndKind(napi_env env, const Napi::CallbackInfo& info, View* data, Kind* kind) {
  if (!viewOf(env, info[0], data) || !info[1].IsNumber()) return false;
  const int code = info[1].As<Napi::Number>().Int32Value();
  if (code < 0 || code > static_cast<int>(Kind::FP64)) return false;
  *kind = static_cast<Kind>(code);
  return kindMatches(*kind, data->type);
}

// encodeData(data: TypedArray, kind: number): string — the JSON text between a data array's brackets.
Napi::Value EncodeData(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  View data;
  Kind kind;
  if (info.Length() < 2 || !dataAndKind(env, info, &data, &kind)) {
    Napi::TypeError::New(env, "encodeData(data: TypedArray, kind: number): the typed array must match kind").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  // Small tensors (every classifier answer) are written on the stack; big ones in one heap block.
  char stackBuf[4096];
  std::unique_ptr<char[]> heap;
  const size_t cap = sluice::maxEncodedBytes(data.length, kind);
  char* buf = stackBuf;
  if (cap > sizeof stackBuf) {
    heap.reset(new char[cap]);
    buf = heap.get();
  }
  char* end = sluice::encodeData(data.data, data.length, kind, buf);
  // The text is ASCII: latin1 skips V8's UTF-8 decoding and makes a one-byte string.
  napi_value s;
  napi_create_string_latin1(env, buf, static_cast<size_t>(end - buf), &s);
  return Napi::Value(env, s);
}

constexpr int32_t kLinearEdges = 16;

template <typename F>
int64_t binTyped(const F* data, size_t length, int64_t rows, int64_t cols, const int32_t* column, size_t features,
                 const double* edges, const int32_t* start, int32_t* out) {
  int64_t skipped = 0;
  for (int64_t r = 0; r < rows; r++) {
    const int64_t base = r * cols;
    int32_t* row = out + r * features;
    for (size_t f = 0; f < features; f++) {
      const int64_t idx = column[f];
      const size_t at = static_cast<size_t>(base + idx);
      const double v = idx >= 0 && idx < cols && at < length ? static_cast<double>(data[at]) : NAN;
      if (!std::isfinite(v)) {
        row[f] = -1;
        skipped++;
        continue;
      }
      int32_t lo = start[f], hi = start[f + 1];
      const int32_t first = lo;
      if (hi - lo <= kLinearEdges) {
        // Edges ascend, so the bin is the count of edges <= v: for a short list a branch-free
        // count beats a binary search's mispredicted branches (most drift features have ~10 edges).
        int32_t n = 0;
        for (int32_t k = lo; k < hi; k++) n += edges[k] <= v;
        row[f] = n;
        continue;
      }
      while (lo < hi) {
        const int32_t mid = static_cast<int32_t>((static_cast<uint32_t>(lo) + static_cast<uint32_t>(hi)) >> 1);
        if (edges[mid] <= v) lo = mid + 1;
        else hi = mid;
      }
      row[f] = lo - first;
    }
  }
  return skipped;
}

// binRows(data: Float32Array|Float64Array, rows, cols, featureColumn: Int32Array,
//         edges: Float64Array, edgeStart: Int32Array, out: Int32Array): number (values skipped)
Napi::Value BinRows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto fail = [&](const char* why) {
    Napi::TypeError::New(env, std::string("binRows: ") + why).ThrowAsJavaScriptException();
    return env.Undefined();
  };
  View data, column, edges, start, out;
  if (info.Length() < 7 || !viewOf(env, info[0], &data) || !info[1].IsNumber() || !info[2].IsNumber() || !viewOf(env, info[3], &column) ||
      !viewOf(env, info[4], &edges) || !viewOf(env, info[5], &start) || !viewOf(env, info[6], &out)) {
    return fail("bad arguments");
  }
  const double rowsD = info[1].As<Napi::Number>().DoubleValue();
  const double colsD = info[2].As<Napi::Number>().DoubleValue();
  if (column.type != napi_int32_array || edges.type != napi_float64_array || start.type != napi_int32_array || out.type != napi_int32_array) {
    return fail("featureColumn, edgeStart and out must be Int32Array, edges a Float64Array");
  }
  if (!(rowsD >= 0 && rowsD <= 1e9 && colsD >= 0 && colsD <= 1e9) || rowsD != std::floor(rowsD) || colsD != std::floor(colsD)) {
    return fail("rows and cols must be non-negative integers");
  }
  const int64_t rows = static_cast<int64_t>(rowsD), cols = static_cast<int64_t>(colsD);
  const size_t features = column.length;
  if (start.length != features + 1 || out.length < static_cast<size_t>(rows) * features) {
    return fail("edgeStart must hold features + 1 entries and out rows x features");
  }
  const int32_t* s = reinterpret_cast<const int32_t*>(start.data);
  for (size_t f = 0; f < features; f++) {
    if (s[f] < 0 || s[f] > s[f + 1] || static_cast<size_t>(s[f + 1]) > edges.length) return fail("edgeStart out of range");
  }
  const int32_t* col = reinterpret_cast<const int32_t*>(column.data);
  const double* e = reinterpret_cast<const double*>(edges.data);
  int32_t* o = reinterpret_cast<int32_t*>(out.data);
  int64_t skipped;
  if (data.type == napi_float32_array) {
    skipped = binTyped(reinterpret_cast<const float*>(data.data), data.length, rows, cols, col, features, e, s, o);
  } else if (data.type == napi_float64_array) {
    skipped = binTyped(reinterpret_cast<const double*>(data.data), data.length, rows, cols, col, features, e, s, o);
  } else {
    return fail("data must be a Float32Array or Float64Array");
  }
  return Napi::Number::New(env, static_cast<double>(skipped));
}

constexpr size_t kKeepScratchNumbers = 1 << 20;  // a larger scratch is released after use
constexpr size_t kKeepSkeletonBytes = 1 << 20;   // likewise the skeleton's

// Writes the plain body's tree into meta (BodyScan::plain; the layout is src/native/kinds.ts's,
// LiftData); false when some element is one its datatype refuses or meta is too small.
bool writePlain(const sluice::BodyScan& scan, uint8_t* values, double* m, size_t metaCap) {
  size_t at = 5;
  for (size_t k = 0; k < scan.spans.size(); k++) {
    const sluice::DataSpan& span = scan.spans[k];
    const sluice::PlainInput& in = scan.inputs[k];
    if (at + 7 + in.rank > metaCap) return false;
    if (sluice::narrow(scan.numbers.data() + span.first, span.count, span.kind, values + span.first * 8) != -1) return false;
    const double fixed[] = {static_cast<double>(span.kind), static_cast<double>(span.first), static_cast<double>(span.count),
                            static_cast<double>(in.nameStart), static_cast<double>(in.nameEnd), static_cast<double>(in.keyOrder),
                            static_cast<double>(in.rank)};
    for (double f : fixed) m[at++] = f;
    for (size_t i = 0; i < in.rank; i++) m[at++] = scan.shapes[in.shapeFirst + i];
  }
  m[0] = static_cast<double>(scan.spans.size());
  m[1] = 0;
  m[2] = scan.idEnd == 0 ? -1 : static_cast<double>(scan.idStart);
  m[3] = static_cast<double>(scan.idEnd);
  m[4] = scan.idFirst ? 1 : 0;
  return true;
}

// liftData(body: Uint8Array, maxDepth: number, values: Uint8Array, meta: Float64Array, plainOnly: boolean)
//   : string | number | true | undefined  (src/native/kinds.ts, LiftData)
// The body must be valid UTF-8 unless the answer is `true`: the caller checks it otherwise. Lifted
// elements are stored in `values`, each span from byte first*8 on in its datatype. For a plain
// body `meta` describes the whole tree and the answer is true. Otherwise (unless plainOnly) `meta`
// gets the span count, then 1 when some key is escaped or forbidden (else 0), then per span
// [input, kind, first, count, start, end, rank, dims...], and the answer is the skeleton. A number
// is the byte size `values` must have (call again with one that large); undefined: nothing lifted.
Napi::Value LiftData(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  View body, values, meta;
  if (info.Length() < 5 || !viewOf(env, info[0], &body) || !info[1].IsNumber() || !viewOf(env, info[2], &values) ||
      !viewOf(env, info[3], &meta) || !info[4].IsBoolean() || body.type != napi_uint8_array || values.type != napi_uint8_array ||
      meta.type != napi_float64_array) {
    Napi::TypeError::New(env, "liftData(body: Uint8Array, maxDepth: number, values: Uint8Array, meta: Float64Array, plainOnly: boolean)")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const double depth = info[1].As<Napi::Number>().DoubleValue();
  const int maxDepth = depth >= 1 && depth <= 1000 ? static_cast<int>(depth) : 0;
  const bool plainOnly = info[4].As<Napi::Boolean>().Value();
  // One scratch per thread, kept between requests unless a huge body grew it.
  thread_local sluice::BodyScan scan;
  thread_local std::string skeleton;
  struct Release {
    ~Release() {
      if (scan.numbers.capacity() > kKeepScratchNumbers) std::vector<double>().swap(scan.numbers);
      if (skeleton.capacity() > kKeepSkeletonBytes) std::string().swap(skeleton);
    }
  } release;
  const uint8_t* bytes = body.data;
  const size_t length = body.length;
  if (meta.length < 5) return env.Undefined();
  if (!sluice::scanBody(bytes, length, maxDepth, plainOnly, scan) || scan.spans.empty()) return env.Undefined();
  if (values.length < scan.numbers.size() * 8) return Napi::Number::New(env, static_cast<double>(scan.numbers.size() * 8));
  uint8_t* out = values.data;
  double* m = reinterpret_cast<double*>(meta.data);
  const size_t metaCap = meta.length;
  if (scan.plain && writePlain(scan, out, m, metaCap)) return Napi::Boolean::New(env, true);
  if (plainOnly) return env.Undefined();
  size_t at = 2, lifted = 0, copied = 0;
  skeleton.clear();
  for (const sluice::DataSpan& span : scan.spans) {
    if (at + 7 + span.rank > metaCap) break;  // the rest stay in the text, for JSON.parse
    void* dst = out + span.first * 8;
    // An element its datatype refuses: the span stays in the text; JSON.parse's path says which.
    if (sluice::narrow(scan.numbers.data() + span.first, span.count, span.kind, dst) != -1) continue;
    skeleton.append(reinterpret_cast<const char*>(bytes) + copied, span.start - copied);
    skeleton.push_back('0');
    copied = span.end;
    const double fixed[] = {static_cast<double>(span.input), static_cast<double>(span.kind), static_cast<double>(span.first),
                            static_cast<double>(span.count), static_cast<double>(span.start), static_cast<double>(span.end),
                            static_cast<double>(span.rank)};
    for (double f : fixed) m[at++] = f;
    for (size_t i = 0; i < span.rank; i++) m[at++] = scan.dims[span.dimsFirst + i];
    lifted++;
  }
  if (lifted == 0) return env.Undefined();
  m[0] = static_cast<double>(lifted);
  m[1] = scan.suspectKeys ? 1 : 0;
  skeleton.append(reinterpret_cast<const char*>(bytes) + copied, length - copied);
  return Napi::String::New(env, skeleton.data(), skeleton.size());
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("encodeData", Napi::Function::New(env, EncodeData, "encodeData"));
  exports.Set("binRows", Napi::Function::New(env, BinRows, "binRows"));
  exports.Set("liftData", Napi::Function::New(env, LiftData, "liftData"));
  exports.Set("abi", Napi::Number::New(env, 4));
  return exports;
}

}  // namespace

NODE_API_MODULE(sluice_native, Init)
