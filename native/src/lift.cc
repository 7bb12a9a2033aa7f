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
// Its dims go straight to the end of BodyScan::dims (kept there when the span is recorded).
struct Capture {
  Capture(std::vector<uint32_t>& d, std::vector<int8_t>& n) : dims(d), nests(n), dimsFirst(d.size()) { nests.clear(); }
  bool alive = true;  // still liftable
  bool sawNumber = false, sawBool = false;
  std::vector<uint32_t>& dims;  // from dimsFirst, per nesting level; 0 until the first array at that level closes
  std::vector<int8_t>& nests;   // per level: 1 when its arrays hold arrays, 0 when they hold leaves
  const size_t dimsFirst;
  size_t rank() const { return dims.size() - dimsFirst; }
  uint32_t& dim(size_t level) { return dims[dimsFirst + level]; }
};

class Scanner {
 public:
  Scanner(const uint8_t* body, size_t length, int maxDepth, bool plainOnly, BodyScan& out)
      : base_(body), p_(body), end_(body + length), maxDepth_(maxDepth), plainOnly_(plainOnly), out_(out) {}

  bool run() {
    out_.plain = true;
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
  const bool plainOnly_;
  BodyScan& out_;
  bool ascii_ = true;  // the last string() held no byte >= 0x80
  static constexpr int kSkipShortPath = 64;
  int skipShortPath_ = 0;     // numbers left to read with from_chars alone (number())
  bool longMantissa_ = false; // the last simpleNumber() gave up for having over 15 digits

  // The body cannot be plain; false when the scan should stop there (plainOnly).
  bool notPlain() {
    out_.plain = false;
    return !plainOnly_;
  }
  size_t offset() const { return static_cast<size_t>(p_ - base_); }

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
    uint8_t high = 0;
    while (p_ < end_) {
      const uint8_t c = *p_;
      high |= c;
      if (c == '"') {
        e = p_++;
        ascii_ = high < 0x80;
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
    // Arrays are uniform in practice: after a mantissa too long for the short path (a float32
    // printed as a double has 16-17 digits), the next kSkipShortPath numbers go straight to
    // from_chars, so such an array pays for one failed attempt in 65, not for every number.
    if (skipShortPath_ > 0) {
      --skipShortPath_;
    } else if (simpleNumber(v)) {
      exact = true;
      return true;
    } else if (longMantissa_) {
      skipShortPath_ = kSkipShortPath;
    }
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

  // The common number, without from_chars: at most 15 significant digits and a decimal exponent
  // within ±22 make the value one exact integer times or divided by an exact power of ten, so one
  // IEEE multiply or divide rounds it correctly (Clinger's fast path), as from_chars would. Anything
  // else (more digits, a bigger exponent, text JSON refuses) returns false with p_ unmoved.
  bool simpleNumber(double& v) {
    static constexpr double kPow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    longMantissa_ = false;
    const uint8_t* q = p_;
    const bool negative = q < end_ && *q == '-';
    if (negative) ++q;
    if (q == end_ || !isDigit(*q)) return false;
    // The integer part is read as it is scanned (it is short in practice); a longer fraction is
    // scanned first, so a long mantissa gives up before any arithmetic on it.
    const uint8_t* intStart = q;
    uint64_t mantissa = 0;
    while (q < end_ && isDigit(*q)) mantissa = mantissa * 10 + (*q++ - '0');
    const long intDigits = q - intStart;
    if (*intStart == '0' && intDigits > 1) return false;
    if (intDigits > 15) return longMantissa_ = true, false;
    const uint8_t *fracStart = q, *fracEnd = q;
    if (q < end_ && *q == '.') {
      fracStart = ++q;
      while (q < end_ && isDigit(*q)) ++q;
      fracEnd = q;
      if (fracEnd == fracStart) return false;
      // Significant digits: the integer part's unless it is 0, then the fraction's after its leading zeros.
      long significant = mantissa == 0 ? 0 : intDigits;
      const uint8_t* lead = fracStart;
      if (mantissa == 0) {
        while (lead < fracEnd && *lead == '0') ++lead;
      }
      significant += fracEnd - lead;
      if (significant > 15) return longMantissa_ = true, false;
      for (const uint8_t* c = fracStart; c < fracEnd; ++c) mantissa = mantissa * 10 + (*c - '0');
    }
    int exp10 = -static_cast<int>(fracEnd - fracStart);
    if (q < end_ && (*q == 'e' || *q == 'E')) {
      ++q;
      const bool down = q < end_ && *q == '-';
      if (q < end_ && (*q == '-' || *q == '+')) ++q;
      if (q == end_ || !isDigit(*q)) return false;
      int e = 0;
      while (q < end_ && isDigit(*q) && e < 1000) e = e * 10 + (*q++ - '0');
      if (q < end_ && isDigit(*q)) return false;
      exp10 += down ? -e : e;
    }
    double x;
    if (mantissa == 0) x = 0;
    else if (exp10 >= 0 && exp10 <= 22) x = static_cast<double>(mantissa) * kPow10[exp10];
    else if (exp10 < 0 && exp10 >= -22) x = static_cast<double>(mantissa) / kPow10[-exp10];
    else return false;
    v = negative ? -x : x;
    p_ = q;
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
    if (eat('}')) return notPlain();
    bool sawInputs = false, sawId = false;
    do {
      const uint8_t *s, *e;
      bool escaped;
      if (!key(s, e, escaped) || escaped) return false;
      if (same(s, e, "inputs")) {
        if (sawInputs) return false;
        sawInputs = true;
        if (at('[')) {
          if (!inputs(2)) return false;
        } else if (!notPlain() || !value(1)) {
          return false;
        }
      } else if (same(s, e, "id") && !sawId && at('"')) {
        sawId = true;
        out_.idFirst = !sawInputs;
        if (!plainString(out_.idStart, out_.idEnd)) return false;
      } else if (!notPlain() || !value(1)) {
        return false;
      }
    } while (eat(','));
    if (!sawInputs && !notPlain()) return false;
    return eat('}');
  }

  bool inputs(int depth) {
    if (depth > maxDepth_) return false;
    ++p_;
    if (eat(']')) return notPlain();
    uint32_t index = 0;
    do {
      if (at('{')) {
        if (!input(depth + 1, index)) return false;
      } else if (!notPlain() || !value(depth)) {
        return false;
      }
      ++index;
    } while (eat(','));
    return eat(']');
  }

  bool input(int depth, uint32_t index) {
    if (depth > maxDepth_) return false;
    ++p_;
    if (eat('}')) return notPlain();
    bool knownType = false;
    Kind kind = Kind::FP32;
    Capture cap(out_.dims, out_.nests);
    cap.alive = false;
    const size_t first = out_.numbers.size();
    size_t start = 0, stop = 0;
    // The plain form's part of this input (BodyScan::plain).
    PlainInput plain{0, 0, 0, out_.shapes.size(), 0};
    uint32_t keys = 0;  // keys seen, one bit per plain key
    do {
      const uint8_t *s, *e;
      bool escaped;
      if (!key(s, e, escaped) || escaped) return false;
      const int k = plainKey(s, e);
      const bool repeated = k >= 0 && (keys & (1u << k)) != 0;
      if (k < 0 || repeated) {
        if (!notPlain()) return false;
      } else {
        keys |= 1u << k;
        plain.keyOrder = plain.keyOrder * 4 + static_cast<uint32_t>(k);
      }
      if (k == kData) {
        if (repeated) return false;
        if (at('[')) {
          cap.alive = true;
          start = offset();
          if (!dataArray(depth + 1, 0, cap)) return false;
          stop = offset();
        } else if (!notPlain() || !value(depth)) {
          return false;
        }
      } else if (k == kDatatype) {
        if (repeated) return false;
        if (at('"')) {
          const uint8_t *ts, *te;
          bool typeEscaped;
          if (!string(ts, te, typeEscaped)) return false;
          knownType = !typeEscaped && kindNamed(ts, te, kind);
        } else if (!notPlain() || !value(depth)) {
          return false;
        }
      } else if (k == kName && at('"')) {
        if (!plainString(plain.nameStart, plain.nameEnd)) return false;
      } else if (k == kShape && at('[')) {
        if (!shape(depth + 1)) return false;
      } else {
        // Any other key (already not plain), or a name or shape that is not a string or an array.
        if ((k == kName || k == kShape) && !notPlain()) return false;
        if (!value(depth)) return false;
      }
    } while (eat(','));
    if (!eat('}')) return false;
    const bool fits = kind == Kind::BOOL ? !cap.sawNumber : !cap.sawBool;
    size_t count = 1;
    for (size_t l = 0; l < cap.rank(); l++) count *= cap.dim(l);
    if (cap.alive && knownType && fits && count == out_.numbers.size() - first) {
      plain.rank = out_.shapes.size() - plain.shapeFirst;
      if (out_.plain && (keys != 0xf || !takesAsIs(cap, count, plain)) && !notPlain()) return false;
      out_.spans.push_back(DataSpan{index, kind, start, stop, cap.dimsFirst, cap.rank(), first, count});
      if (out_.plain) out_.inputs.push_back(plain);
    } else {
      out_.numbers.resize(first);
      out_.dims.resize(cap.dimsFirst);
      if (!notPlain()) return false;
    }
    return true;
  }

  // At the opening quote of a string the plain form keeps (an id, a name): its bytes, quotes
  // excluded, go to [start, end); an escaped or non-ASCII one makes the body not plain.
  bool plainString(size_t& start, size_t& end) {
    const uint8_t *s, *e;
    bool escaped;
    if (!string(s, e, escaped)) return false;
    if ((escaped || !ascii_) && !notPlain()) return false;
    start = static_cast<size_t>(s - base_);
    end = static_cast<size_t>(e - base_);
    return true;
  }

  enum PlainKey { kName = 0, kShape = 1, kDatatype = 2, kData = 3 };

  static int plainKey(const uint8_t* s, const uint8_t* e) {
    if (same(s, e, "name")) return kName;
    if (same(s, e, "shape")) return kShape;
    if (same(s, e, "datatype")) return kDatatype;
    if (same(s, e, "data")) return kData;
    return -1;
  }

  // A shape array at `depth`: its numbers go to BodyScan::shapes while the body can be plain.
  bool shape(int depth) {
    if (depth > maxDepth_) return false;
    ++p_;
    if (eat(']')) return true;
    do {
      skipWs();
      if (p_ == end_) return false;
      const uint8_t c = *p_;
      if (c == '-' || isDigit(c)) {
        double v;
        bool exact;
        if (!number(v, exact)) return false;
        if (!exact && !notPlain()) return false;
        if (out_.plain) out_.shapes.push_back(v);
      } else if (!notPlain() || !value(depth)) {
        return false;
      }
    } while (eat(','));
    return eat(']');
  }

  // Whether the validator takes a lifted array of these dims for the plain input's shape as is
  // (json-lift.ts, takesAsIs): flat with product(shape) elements, or nested exactly as the shape.
  bool takesAsIs(Capture& cap, size_t count, const PlainInput& in) const {
    const double* shp = out_.shapes.data() + in.shapeFirst;
    if (cap.rank() == 1) {
      double n = 1;
      for (size_t i = 0; i < in.rank; i++) {
        const double d = shp[i];
        if (!(d >= 0 && d <= kMaxSafeInteger) || d != std::trunc(d)) return false;
        n *= d;
      }
      return n == static_cast<double>(count);
    }
    if (cap.rank() != in.rank) return false;
    for (size_t i = 0; i < in.rank; i++) {
      if (shp[i] != cap.dim(i)) return false;
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
    if (cap.rank() <= level) {
      cap.dims.resize(cap.dimsFirst + level + 1, 0);
      cap.nests.resize(level + 1, -1);
    }
    if (cap.dim(level) == 0) {
      cap.dim(level) = n;
      cap.nests[level] = nests;
    } else if (cap.dim(level) != n || cap.nests[level] != nests) {
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

bool scanBody(const uint8_t* body, size_t length, int maxDepth, bool plainOnly, BodyScan& out) {
  out.spans.clear();
  out.numbers.clear();
  out.dims.clear();
  out.suspectKeys = false;
  out.idFirst = false;
  out.idStart = out.idEnd = 0;
  out.inputs.clear();
  out.shapes.clear();
  return Scanner(body, length, maxDepth, plainOnly, out).run();
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
