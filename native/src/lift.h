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
  size_t dimsFirst, rank;     // its lengths per nesting level, outermost first (rectangular), in BodyScan::dims
  size_t first, count;        // its leaves in BodyScan::numbers
};

// One input object of a plain body (BodyScan::plain), beside its DataSpan of the same index.
struct PlainInput {
  size_t nameStart, nameEnd;  // the name's bytes, quotes excluded
  uint32_t keyOrder;          // its four keys in body order, base-4 digits, first key most significant:
                              // 0 name, 1 shape, 2 datatype, 3 data
  size_t shapeFirst, rank;    // its shape in BodyScan::shapes
};

struct BodyScan {
  std::vector<DataSpan> spans;
  std::vector<double> numbers; // every lifted leaf, span after span (BOOL leaves as 0 or 1)
  std::vector<uint32_t> dims;  // every span's dims, span after span
  std::vector<int8_t> nests;   // scratch of the data array being scanned (kept between calls)
  bool suspectKeys = false;     // some key is escaped or named __proto__, constructor or prototype
  // The body is plain: keys "inputs" and at most one "id" (a string) at the top level; inputs a
  // non-empty array of objects with exactly the keys name (a string), shape (a flat array of
  // numbers), datatype and data, each data array lifted as a span the validator takes as is (flat
  // with product(shape) elements, or nested exactly as the shape); every string ASCII with no
  // escape. Then the body is all ASCII, and its parsed tree is fully described by the spans, the
  // inputs below and the id, with no text left for JSON.parse.
  bool plain = false;
  bool idFirst = false;          // "id" came before "inputs"
  size_t idStart = 0, idEnd = 0; // the id's bytes, quotes excluded; idEnd == 0 when there is no id
  std::vector<PlainInput> inputs;
  std::vector<double> shapes;
};

// Scans a UTF-8 body that must be one strict JSON object (RFC 8259: no NaN/Infinity, no trailing
// text, no BOM) nested at most maxDepth deep (the top object is depth 1). Records each data array
// of an input object that is rectangular, non-empty at every level, whose leaves are all numbers
// (all true/false for BOOL) that from_chars reads exactly as JSON.parse does, and whose input's
// "datatype" is an unescaped known datatype. Returns false, with `out` unspecified, when the body
// is anything else, or holds an escaped or repeated key where the lifting would have to guess
// which one JSON.parse keeps (top-level keys, input object keys): the caller then parses it as
// usual. With plainOnly it also returns false as soon as the body cannot be plain (the caller
// wants nothing else from it). Recursion is bounded by maxDepth.
bool scanBody(const uint8_t* body, size_t length, int maxDepth, bool plainOnly, BodyScan& out);

// Stores src[0..count) as `kind` at dst; returns the index of the first element the kind's JSON
// rules refuse (src/validation/element-codecs.ts), or -1 when every element was stored.
int64_t narrow(const double* src, size_t count, Kind kind, void* dst);

}  // namespace sluice
