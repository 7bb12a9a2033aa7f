#include "encode.h"

#include <charconv>
#include <cmath>
#include <cstring>

namespace sluice {
namespace {

// Rewrites to_chars' scientific text ("d.ddde±XX", sign already stripped) in Number::toString's
// layout: value = digits x 10^(n - k), k significant digits.
void appendJsStyle(const char* sci, size_t len, std::string& out) {
  char digits[32];
  int k = 0;
  size_t i = 0;
  for (; i < len && sci[i] != 'e'; i++) {
    if (sci[i] != '.') digits[k++] = sci[i];
  }
  int exp10 = 0;
  std::from_chars(sci + i + 1 + (sci[i + 1] == '+' ? 1 : 0), sci + len, exp10);
  const int n = exp10 + 1;
  if (k <= n && n <= 21) {
    out.append(digits, k);
    out.append(n - k, '0');
  } else if (0 < n && n <= 21) {
    out.append(digits, n);
    out.push_back('.');
    out.append(digits + n, k - n);
  } else if (-6 < n && n <= 0) {
    out.append("0.");
    out.append(-n, '0');
    out.append(digits, k);
  } else {
    out.push_back(digits[0]);
    if (k > 1) {
      out.push_back('.');
      out.append(digits + 1, k - 1);
    }
    out.push_back('e');
    out.push_back(n - 1 >= 0 ? '+' : '-');
    char e[8];
    auto r = std::to_chars(e, e + sizeof e, n - 1 >= 0 ? n - 1 : 1 - n);
    out.append(e, r.ptr - e);
  }
}

template <typename F>
void appendFloat(F v, std::string& out) {
  if (!std::isfinite(v)) {
    out.append("null");
    return;
  }
  if (v == 0) {  // -0 too: JSON.stringify(-0) is "0"
    out.push_back('0');
    return;
  }
  if (v < 0) {
    out.push_back('-');
    v = -v;
  }
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  appendJsStyle(buf, r.ptr - buf, out);
}

template <typename I>
void appendInts(const I* p, size_t count, std::string& out) {
  char buf[24];
  for (size_t i = 0; i < count; i++) {
    if (i) out.push_back(',');
    auto r = std::to_chars(buf, buf + sizeof buf, p[i]);
    out.append(buf, r.ptr - buf);
  }
}

template <typename F>
void appendFloats(const F* p, size_t count, std::string& out) {
  for (size_t i = 0; i < count; i++) {
    if (i) out.push_back(',');
    appendFloat(p[i], out);
  }
}

}  // namespace

void encodeData(const void* data, size_t count, Kind kind, std::string& out) {
  switch (kind) {
    case Kind::BOOL: {
      const uint8_t* p = static_cast<const uint8_t*>(data);
      for (size_t i = 0; i < count; i++) {
        if (i) out.push_back(',');
        out.append(p[i] ? "true" : "false");
      }
      return;
    }
    case Kind::UINT8: return appendInts(static_cast<const uint8_t*>(data), count, out);
    case Kind::INT8: return appendInts(static_cast<const int8_t*>(data), count, out);
    case Kind::INT16: return appendInts(static_cast<const int16_t*>(data), count, out);
    case Kind::INT32: return appendInts(static_cast<const int32_t*>(data), count, out);
    case Kind::INT64: return appendInts(static_cast<const int64_t*>(data), count, out);
    case Kind::FP32: return appendFloats(static_cast<const float*>(data), count, out);
    case Kind::FP64: return appendFloats(static_cast<const double*>(data), count, out);
  }
}

}  // namespace sluice
