// Output tensor data as JSON text (native/README.md, "encode").
#pragma once
#include <cstddef>
#include <cstdint>

namespace sluice {

// Datatype codes shared with src/native/kinds.ts (its Kind enum).
enum class Kind : int { BOOL = 0, UINT8 = 1, INT8 = 2, INT16 = 3, INT32 = 4, INT64 = 5, FP32 = 6, FP64 = 7 };

// Writes the elements of `data` (count elements of `kind`, host byte order) at `out`, comma
// separated: integers as digits, BOOL as true/false, floats as the shortest text that round-trips
// in the tensor's own type, printed the way ECMAScript's Number::toString prints that decimal;
// -0 as 0 and non-finite values as null. `out` must hold maxEncodedBytes(count, kind) bytes;
// returns the end of the text.
char* encodeData(const void* data, size_t count, Kind kind, char* out);

size_t maxEncodedBytes(size_t count, Kind kind);

}  // namespace sluice
