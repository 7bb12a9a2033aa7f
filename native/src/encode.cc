#include "encode.h"

#include <charconv>
#include <cmath>
#include <cstring>

namespace sluice {
namespace {

// Writes to_chars' scientific text ("d.ddde±XX", sign already written) at `p` in Number::toString's
// layout: value = digits x 10^(n - k), k significant digits. Returns the end. Works in place: the
// digits are copied out first.
char* jsStyle(char* p, char* sciEnd) {
  char digits[24];
  int k = 0;
  const char* q = p;
  for (; q < sciEnd && *q != 'e'; q++) {
    if (*q != '.') digits[k++] = *q;
  }
  int exp10 = 0;
  std::from_chars(q + 1 + (q[1] == '+' ? 1 : 0), sciEnd, exp10);
  const int n = exp10 + 1;
  if (k <= n && n <= 21) {
    std::memcpy(p, digits, k);
    p += k;
    std::memset(p, '0', n - k);
    return p + (n - k);
  }
  if (0 < n && n <= 21) {
    std::memcpy(p, digits, n);
    p += n;
    *p++ = '.';
    std::memcpy(p, digits + n, k - n);
    return p + (k - n);
  }
  if (-6 < n && n <= 0) {
    *p++ = '0';
    *p++ = '.';
    std::memset(p, '0', -n);
    p += -n;
    std::memcpy(p, digits, k);
    return p + k;
  }
  *p++ = digits[0];
  if (k > 1) {
    *p++ = '.';
    std::memcpy(p, digits + 1, k - 1);
    p += k - 1;
  }
  *p++ = 'e';
  *p++ = n - 1 >= 0 ? '+' : '-';
  return std::to_chars(p, p + 8, n - 1 >= 0 ? n - 1 : 1 - n).ptr;
}

template <typename F>
char* writeFloat(char* p, F v) {
  if (!std::isfinite(v)) {
    std::memcpy(p, "null", 4);
    return p + 4;
  }
  if (v == 0) {  // -0 too: JSON.stringify(-0) is "0"
    *p = '0';
    return p + 1;
  }
  if (v < 0) {
    *p++ = '-';
    v = -v;
  }
  // An integer the type holds exactly (below 2^24 for float, 2^53 for double) prints as its digits
  // in both to_chars' shortest text and Number::toString: the digit loop is ~10x cheaper than the
  // shortest search (pixel counts, class indices, token ids). Tested from 1 up, so a probability
  // (the common case below 1, and zero is done) pays one compare, not a floor.
  constexpr F exactIntegers = static_cast<F>(sizeof(F) == 4 ? 16777216.0 : 9007199254740992.0);
  if (v >= 1 && v < exactIntegers && v == std::floor(v)) return std::to_chars(p, p + 24, static_cast<uint64_t>(v)).ptr;
  // Below 2^24 (every integer there is exact, so no fixed text pads digits), to_chars' plain
  // shortest text is already Number::toString's whenever it chose the fixed layout: it does so
  // only for 10^-3 <= v (then "0.00ddd" is JS's too) or for fewer characters than the
  // scientific one, where JS is fixed as well (v < 10^21). Otherwise it is scientific, re-laid
  // out by jsStyle. This skips jsStyle for most values (a probability, a logit).
  if (v < static_cast<F>(16777216)) {
    char* end = std::to_chars(p, p + 32, v).ptr;
    return std::memchr(p, 'e', static_cast<size_t>(end - p)) == nullptr ? end : jsStyle(p, end);
  }
  char* end = std::to_chars(p, p + 32, v, std::chars_format::scientific).ptr;
  return jsStyle(p, end);
}

template <typename I>
char* writeInts(char* p, const I* src, size_t count) {
  for (size_t i = 0; i < count; i++) {
    if (i) *p++ = ',';
    p = std::to_chars(p, p + 24, src[i]).ptr;
  }
  return p;
}

template <typename F>
char* writeFloats(char* p, const F* src, size_t count) {
  for (size_t i = 0; i < count; i++) {
    if (i) *p++ = ',';
    p = writeFloat(p, src[i]);
  }
  return p;
}

}  // namespace

size_t maxEncodedBytes(size_t count, Kind kind) {
  // Longest element text plus its comma. FP32: "-123456790000000000000" (22, fixed layout up to
  // 21 digits) or "-0.0000012345678" (16); FP64: "-0.0000012345678901234567" (25); INT64:
  // "-9223372036854775808" (20); BOOL: "false" (5).
  static const size_t perElement[] = {6, 4, 5, 7, 12, 21, 23, 26};
  return count * perElement[static_cast<int>(kind)] + 32;
}

char* encodeData(const void* data, size_t count, Kind kind, char* out) {
  switch (kind) {
    case Kind::BOOL: {
      const uint8_t* src = static_cast<const uint8_t*>(data);
      for (size_t i = 0; i < count; i++) {
        if (i) *out++ = ',';
        if (src[i]) {
          std::memcpy(out, "true", 4);
          out += 4;
        } else {
          std::memcpy(out, "false", 5);
          out += 5;
        }
      }
      return out;
    }
    case Kind::UINT8: return writeInts(out, static_cast<const uint8_t*>(data), count);
    case Kind::INT8: return writeInts(out, static_cast<const int8_t*>(data), count);
    case Kind::INT16: return writeInts(out, static_cast<const int16_t*>(data), count);
    case Kind::INT32: return writeInts(out, static_cast<const int32_t*>(data), count);
    case Kind::INT64: return writeInts(out, static_cast<const int64_t*>(data), count);
    case Kind::FP32: return writeFloats(out, static_cast<const float*>(data), count);
    case Kind::FP64: return writeFloats(out, static_cast<const double*>(data), count);
  }
  return out;
}

}  // namespace sluice
