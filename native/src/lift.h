// Lifting tensor data out of an OIP JSON request body (native/README.md, "lift").
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "encode.h"

namespace sluice {

// One /inputs/<input>/data array whose elements can all be stored in `kind`.
struct DataSpan {
  uint32_t input;             // index in the top-level "inputs" array
  Kind kind;                  // from the same input object's "datatype"
  size_t start, end;          // the array's bytes in the body, brackets included
  std::vector<uint32_t> dims; // lengths per nesting level, outermost first (rectangular)
  size_t first, count;        // its leaves in BodyScan::numbers
};

struct BodyScan {
  std::vector<DataSpan> spans;
  std::vector<double> numbers; // every lifted leaf, span after span (BOOL leaves as 0 or 1)
  bool suspectKeys = false;     // some key is escaped or named __proto__, constructor or prototype
};

// Scans a UTF-8 body that must be one strict JSON object (RFC 8259: no NaN/Infinity, no trailing
// text, no BOM) nested at most maxDepth deep (the top object is depth 1). Records each data array
// of an input object that is rectangular, non-empty at every level, whose leaves are all numbers
// (all true/false for BOOL) that from_chars reads exactly as JSON.parse does, and whose input's
// "datatype" is an unescaped known datatype. Returns false, with `out` unspecified, when the body
// is anything else, or holds an escaped or repeated key where the lifting would have to guess
// which one JSON.parse keeps (top-level keys, input object keys): the caller then parses it as
// usual. Recursion is bounded by maxDepth.
bool scanBody(const uint8_t* body, size_t length, int maxDepth, BodyScan& out);

// Stores src[0..count) as `kind` at dst; returns the index of the first element the kind's JSON
// rules refuse (src/validation/element-codecs.ts), or -1 when every element was stored.
int64_t narrow(const double* src, size_t count, Kind kind, void* dst);

}  // namespace sluice
