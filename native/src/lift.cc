// A strict JSON scanner that records the tensor data arrays of an OIP request body (lift.h).
// One pass, recursive descent bounded by maxDepth; numbers are read with std::from_chars, which
// rounds correctly as JSON.parse does. Anything the scanner is unsure of makes it give up
// (return false) rather than guess: the caller's JSON.parse path then decides, with its errors.
#include "lift.h"

#include <charconv>
#include <cmath>
#include <cstring>

namespace sluice {
namespace {

// Smallest double that rounds to +Infinity when stored in a float32 (2^128 - 2^103, exact).
constexpr double kF32Overflow = 340282356779733661637539395458142568448.0;
constexpr double kMaxSafeInteger = 9007199254740991.0;

bool isDigit(uint8_t c) { return c >= '0' && c <= '9'; }

bool isHex(uint8_t c) { return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

bool same(const uint8_t* s, const uint8_t* e, const char* word) {
  const size_t n = std::strlen(word);
  return static_cast<size_t>(e - s) == n && std::memcmp(s, word, n) == 0;
}

bool kindNamed(const uint8_t* s, const uint8_t* e, Kind& kind) {
  static const struct { const char* name; Kind kind; } kTable[] = {
      {"BOOL", Kind::BOOL},   {"UINT8", Kind::UINT8}, {"INT8", Kind::INT8}, {"INT16", Kind::INT16},
      {"INT32", Kind::INT32}, {"INT64", Kind::INT64}, {"FP32", Kind::FP32}, {"FP64", Kind::FP64},
  };
  for (const auto& t : kTable) {
    if (same(s, e, t.name)) {
      kind = t.kind;
      return true;
    }
  }
  return false;
}

// What one data array's scan has found so far.
struct Capture {
  bool alive = true;  // still liftable
  bool sawNumber = false, sawBool = false;
  std::vector<uint32_t> dims;  // per nesting level; 0 until the first array at that level closes
  std::vector<int8_t> nests;   // per level: 1 when its arrays hold arrays, 0 when they hold leaves
};

class Scanner {
 public:
  Scanner(const uint8_t* body, size_t length, int maxDepth, BodyScan& out)
      : base_(body), p_(body), end_(body + length), maxDepth_(maxDepth), out_(out) {}

  bool run() {
    skipWs();
    if (p_ == end_ || *p_ != '{' || !topObject()) return false;
    skipWs();
    return p_ == end_;
  }

 private:
  const uint8_t* const base_;
  const uint8_t* p_;
  const uint8_t* const end_;
  const int maxDepth_;
  BodyScan& out_;

  void skipWs() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }
  bool eat(uint8_t c) {
    skipWs();
    if (p_ < end_ && *p_ == c) {
      ++p_;
      return true;
    }
    return false;
  }
  bool at(uint8_t c) {
    skipWs();
    return p_ < end_ && *p_ == c;
  }
  bool literal(const char* word, size_t n) {
    if (static_cast<size_t>(end_ - p_) < n || std::memcmp(p_, word, n) != 0) return false;
    p_ += n;
    return true;
  }

  // At the opening quote; [s, e) is the raw content; `escaped` when it holds a backslash.
  bool string(const uint8_t*& s, const uint8_t*& e, bool& escaped) {
    s = ++p_;
    escaped = false;
    while (p_ < end_) {
      const uint8_t c = *p_;
      if (c == '"') {
        e = p_++;
        return true;
      }
      if (c < 0x20) return false;
      if (c == '\\') {
        escaped = true;
        if (++p_ == end_) return false;
        const uint8_t x = *p_;
        if (x == 'u') {
          if (end_ - p_ < 5 || !isHex(p_[1]) || !isHex(p_[2]) || !isHex(p_[3]) || !isHex(p_[4])) return false;
          p_ += 4;
        } else if (!(x == '"' || x == '\\' || x == '/' || x == 'b' || x == 'f' || x == 'n' || x == 'r' || x == 't')) {
          return false;
        }
      }
      ++p_;
    }
    return false;
  }

  // Any key at any depth; an escaped one, or one a parsed tree must not hold, marks the body
  // (BodyScan::suspectKeys).
  bool key(const uint8_t*& s, const uint8_t*& e, bool& escaped) {
    if (!at('"') || !string(s, e, escaped)) return false;
    if (escaped || same(s, e, "__proto__") || same(s, e, "constructor") || same(s, e, "prototype")) out_.suspectKeys = true;
    return eat(':');
  }

  // RFC 8259 number grammar; `exact` when from_chars read it to a finite, in-range double.
  // from_chars finds the end (its grammar is looser: leading zeros, `1.`, `-.5`, `-inf`), then the
  // consumed text is held to JSON's rules; an `e` without digits is left unconsumed, so the next
  // token check refuses it.
  bool number(double& v, bool& exact) {
    const char* s = reinterpret_cast<const char*>(p_);
    const auto r = std::from_chars(s, reinterpret_cast<const char*>(end_), v);
    const char* q = s + (*s == '-');
    if (r.ptr <= q || !isDigit(static_cast<uint8_t>(*q))) return false;
    if (*q == '0' && q + 1 < r.ptr && isDigit(static_cast<uint8_t>(q[1]))) return false;
    for (const char* c = q + 1; c < r.ptr; ++c) {
      if (*c == '.') {
        if (c + 1 == r.ptr || !isDigit(static_cast<uint8_t>(c[1]))) return false;
        break;
      }
      if (*c == 'e' || *c == 'E') break;
    }
    p_ = reinterpret_cast<const uint8_t*>(r.ptr);
    exact = r.ec == std::errc();
    return true;
  }

  // Any value inside a container at `depth`; nothing recorded.
  bool value(int depth) {
    skipWs();
    if (p_ == end_) return false;
    switch (*p_) {
      case '{': return object(depth + 1);
      case '[': return array(depth + 1);
      case '"': {
        const uint8_t *s, *e;
        bool escaped;
        return string(s, e, escaped);
      }
      case 't': return literal("true", 4);
      case 'f': return literal("false", 5);
      case 'n': return literal("null", 4);
      default: {
        double v;
        bool exact;
        return number(v, exact);
      }
    }
  }

  bool object(int depth) {
    if (depth > maxDepth_) return false;
    ++p_;
    if (eat('}')) return true;
    do {
      const uint8_t *s, *e;
      bool escaped;
      if (!key(s, e, escaped) || !value(depth)) return false;
    } while (eat(','));
    return eat('}');
  }

  bool array(int depth) {
    if (depth > maxDepth_) return false;
    ++p_;
    if (eat(']')) return true;
    do {
      if (!value(depth)) return false;
    } while (eat(','));
    return eat(']');
  }

  bool topObject() {
    if (maxDepth_ < 1) return false;
    ++p_;
    if (eat('}')) return true;
    bool sawInputs = false;
    do {
      const uint8_t *s, *e;
      bool escaped;
      if (!key(s, e, escaped) || escaped) return false;
      if (same(s, e, "inputs")) {
        if (sawInputs) return false;
        sawInputs = true;
        if (at('[') ? !inputs(2) : !value(1)) return false;
      } else if (!value(1)) {
        return false;
      }
    } while (eat(','));
    return eat('}');
  }

  bool inputs(int depth) {
    if (depth > maxDepth_) return false;
    ++p_;
    if (eat(']')) return true;
    uint32_t index = 0;
    do {
      if (at('{') ? !input(depth + 1, index) : !value(depth)) return false;
      ++index;
    } while (eat(','));
    return eat(']');
  }

  bool input(int depth, uint32_t index) {
    if (depth > maxDepth_) return false;
    ++p_;
    if (eat('}')) return true;
    bool sawData = false, sawType = false, knownType = false;
    Kind kind = Kind::FP32;
    Capture cap;
    cap.alive = false;
    const size_t first = out_.numbers.size();
    size_t start = 0, stop = 0;
    do {
      const uint8_t *s, *e;
      bool escaped;
      if (!key(s, e, escaped) || escaped) return false;
      if (same(s, e, "data")) {
        if (sawData) return false;
        sawData = true;
        if (at('[')) {
          cap.alive = true;
          start = static_cast<size_t>(p_ - base_);
          if (!dataArray(depth + 1, 0, cap)) return false;
          stop = static_cast<size_t>(p_ - base_);
        } else if (!value(depth)) {
          return false;
        }
      } else if (same(s, e, "datatype")) {
        if (sawType) return false;
        sawType = true;
        if (at('"')) {
          const uint8_t *ts, *te;
          bool typeEscaped;
          if (!string(ts, te, typeEscaped)) return false;
          knownType = !typeEscaped && kindNamed(ts, te, kind);
        } else if (!value(depth)) {
          return false;
        }
      } else if (!value(depth)) {
        return false;
      }
    } while (eat(','));
    if (!eat('}')) return false;
    const bool fits = kind == Kind::BOOL ? !cap.sawNumber : !cap.sawBool;
    size_t count = 1;
    for (uint32_t d : cap.dims) count *= d;
    if (cap.alive && knownType && fits && count == out_.numbers.size() - first) {
      out_.spans.push_back(DataSpan{index, kind, start, stop, std::move(cap.dims), first, count});
    } else {
      out_.numbers.resize(first);
    }
    return true;
  }

  // A data array at nesting `level` (0: the data array itself), at `depth` in the document.
  bool dataArray(int depth, size_t level, Capture& cap) {
    if (depth > maxDepth_) return false;
    ++p_;
    uint32_t n = 0;
    int8_t nests = -1;
    if (!eat(']')) {
      do {
        skipWs();
        if (p_ == end_) return false;
        if (*p_ == '[') {
          if (nests == 0) cap.alive = false;
          nests = 1;
          if (!dataArray(depth + 1, level + 1, cap)) return false;
        } else {
          if (nests == 1) cap.alive = false;
          nests = 0;
          if (!leaf(depth, cap)) return false;
        }
        ++n;
      } while (eat(','));
      if (!eat(']')) return false;
    }
    if (!cap.alive) return true;
    if (n == 0) {
      cap.alive = false;
      return true;
    }
    if (cap.dims.size() <= level) {
      cap.dims.resize(level + 1, 0);
      cap.nests.resize(level + 1, -1);
    }
    if (cap.dims[level] == 0) {
      cap.dims[level] = n;
      cap.nests[level] = nests;
    } else if (cap.dims[level] != n || cap.nests[level] != nests) {
      cap.alive = false;
    }
    return true;
  }

  bool leaf(int depth, Capture& cap) {
    const uint8_t c = *p_;
    if (c == 't' || c == 'f') {
      const bool yes = c == 't';
      if (!(yes ? literal("true", 4) : literal("false", 5))) return false;
      cap.sawBool = true;
      if (cap.alive) out_.numbers.push_back(yes ? 1.0 : 0.0);
      return true;
    }
    if (c == '-' || isDigit(c)) {
      double v;
      bool exact;
      if (!number(v, exact)) return false;
      cap.sawNumber = true;
      if (!exact) cap.alive = false;
      else if (cap.alive) out_.numbers.push_back(v);
      return true;
    }
    cap.alive = false;
    return value(depth);
  }
};

template <typename T>
int64_t narrowInt(const double* src, size_t count, double lo, double hi, T* dst) {
  for (size_t i = 0; i < count; i++) {
    const double v = src[i];
    if (!(v >= lo && v <= hi) || v != std::trunc(v)) return static_cast<int64_t>(i);
    dst[i] = static_cast<T>(v);
  }
  return -1;
}

}  // namespace

bool scanBody(const uint8_t* body, size_t length, int maxDepth, BodyScan& out) {
  out.spans.clear();
  out.numbers.clear();
  out.suspectKeys = false;
  return Scanner(body, length, maxDepth, out).run();
}

int64_t narrow(const double* src, size_t count, Kind kind, void* dst) {
  switch (kind) {
    case Kind::FP32: {
      float* o = static_cast<float*>(dst);
      for (size_t i = 0; i < count; i++) {
        const double v = src[i];
        if (!(v > -kF32Overflow && v < kF32Overflow)) return static_cast<int64_t>(i);
        o[i] = static_cast<float>(v);
      }
      return -1;
    }
    case Kind::FP64: {
      double* o = static_cast<double*>(dst);
      for (size_t i = 0; i < count; i++) {
        if (!std::isfinite(src[i])) return static_cast<int64_t>(i);
        o[i] = src[i];
      }
      return -1;
    }
    case Kind::INT64: return narrowInt(src, count, -kMaxSafeInteger, kMaxSafeInteger, static_cast<int64_t*>(dst));
    case Kind::INT32: return narrowInt(src, count, -2147483648.0, 2147483647.0, static_cast<int32_t*>(dst));
    case Kind::INT16: return narrowInt(src, count, -32768.0, 32767.0, static_cast<int16_t*>(dst));
    case Kind::INT8: return narrowInt(src, count, -128.0, 127.0, static_cast<int8_t*>(dst));
    case Kind::UINT8:
    case Kind::BOOL: return narrowInt(src, count, 0.0, Kind::BOOL == kind ? 1.0 : 255.0, static_cast<uint8_t*>(dst));
  }
  return 0;
}

}  // namespace sluice
