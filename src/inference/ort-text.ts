// Text that ONNX Runtime writes: its error messages and its log lines. Pure; no onnxruntime
// import, so the main thread, workers and the inspection child can all use it.
//
// ORT's messages carry its build's source locations and C++ signatures
// ("/onnxruntime_src/onnxruntime/core/providers/cpu/math/element_wise_ops.h:583 void
// onnxruntime::BroadcastIterator::Append(ptrdiff_t, ptrdiff_t) axis == 1 ..."); clients
// must see only the useful part. Its log has no callback in onnxruntime-node: it goes
// straight to fd 2 as coloured text, which the inspection child's parent parses here.

/** ORT's severities, indexed by their numeric level (logSeverityLevel 0..4). */
export const ORT_SEVERITIES = ['verbose', 'info', 'warning', 'error', 'fatal'] as const;
export type OrtSeverity = (typeof ORT_SEVERITIES)[number];
export type OrtSeverityLevel = 0 | 1 | 2 | 3 | 4;

export const ORT_SEVERITY_LEVEL: Readonly<Record<OrtSeverity, OrtSeverityLevel>> = Object.freeze({
  verbose: 0,
  info: 1,
  warning: 2,
  error: 3,
  fatal: 4,
});

/** One line of ORT's log. */
export interface OrtLogLine {
  severity: OrtSeverity;
  /** `<file>:<line> <function>` as ORT prints it, e.g. "graph.cc:5607 CleanUnusedInitializersAndNodeArgs". */
  source?: string;
  /** The text after the bracket, ANSI escapes removed; as ORT wrote it otherwise. */
  message: string;
}

/** Longest cleaned message, ellipsis included. */
export const MAX_ORT_MESSAGE_CHARS = 500;

// CSI sequences (colours: "\x1b[0;93m", "\x1b[m") and the two-byte escapes.
const ANSI = /\x1b(?:\[[0-?]*[ -/]*[@-~]|[@-Z\\-_])/g;
// C0 controls and DEL other than whitespace; whitespace itself is collapsed later.
const CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g;

// A C/C++/CUDA source file, optionally with a directory (POSIX or Windows, drive letter
// allowed) and a line number (":583", or MSVC's "(583)"). The lookbehind makes a match
// start where the path starts, never inside a longer token.
const SOURCE_LOCATION =
  /(?<![\w.\-+@$~\\/])(?:[A-Za-z]:)?[\\/]?(?:[\w.\-+@$~]+[\\/])*[\w\-+@$~][\w.\-+@$~]*\.(?:h|hh|hpp|hxx|inl|inc|ipp|c|cc|cpp|cxx|cu|cuh)(?![\w.])(?::\d+|\(\d+\))?/g;

// A path to a model or library file: reduced to its file name (the server's directory
// layout is nobody else's business). Only these extensions, because ORT also prints node
// names such as "/encoder/layer.0/Add", which are useful and must stay.
// Spaces are allowed in Windows directories ("C:\Program Files\...") only: in a POSIX
// path they would let "/enc/Add failed at /m/model.onnx" swallow the node name.
const FILE_PATH =
  /(?<![\w.\-+@$~\\/])(?:[A-Za-z]:[\\/](?:[\w.\-+@$~ ]+[\\/])*|[\\/](?:[\w.\-+@$~]+[\\/])*)([\w.\-+@$~]+\.(?:onnx|ort|data|bin|pb|so|dll|dylib|json))(?![\w.])/g;

// The C++ signature that follows a source location: up to a few return-type words, then a
// qualified name (at least one "::"), then its parameter list. gcc's __PRETTY_FUNCTION__
// ("void onnxruntime::X::Append(ptrdiff_t, ptrdiff_t)") and MSVC's __FUNCSIG__ ("void
// __cdecl onnxruntime::X::Append(__int64,__int64)") both fit.
const SIGNATURE_HEAD =
  /^\s*(?:(?:[\w~*&,<>\[\]]+(?:::[\w~*&,<>\[\]]+)*)\s+){0,5}[\w~<>]+(?:::(?:operator\(\)|operator[^\s(]+|[\w~<>]+))+(?=\()/;
const SIGNATURE_TRAILER = /^(?:\s*(?:const|noexcept|volatile|&&?)(?![\w]))/;

// Any ORT qualifier left elsewhere in the text: "onnxruntime::common::Status" → "Status".
const ORT_QUALIFIER = /\bonnxruntime::(?:[\w~]+::)*/g;

/**
 * The part of an ORT error message fit for a client: no ANSI or control characters, no
 * source locations or C++ signatures, model/library paths cut to their file name,
 * whitespace collapsed, at most MAX_ORT_MESSAGE_CHARS characters (ending in "…" when cut).
 * Never throws; an empty result becomes "ONNX Runtime error".
 */
export function cleanOrtMessage(message: string): string {
  let text = String(message).replace(ANSI, '').replace(CONTROL, ' ');
  text = stripSourceLocations(text);
  text = text.replace(ORT_QUALIFIER, '').replace(FILE_PATH, '$1');
  text = text.replace(/\s+/g, ' ').trim();
  if (text === '') return 'ONNX Runtime error';
  return truncate(text, MAX_ORT_MESSAGE_CHARS);
}

function stripSourceLocations(text: string): string {
  let out = '';
  let from = 0;
  SOURCE_LOCATION.lastIndex = 0;
  for (let m = SOURCE_LOCATION.exec(text); m !== null; m = SOURCE_LOCATION.exec(text)) {
    const loc = m[0];
    // A bare "model.cc" is a word, not a location: require a directory or a line number.
    if (!/[\\/]/.test(loc) && !/(?::\d+|\(\d+\))$/.test(loc)) continue;
    const end = m.index + loc.length;
    out += text.slice(from, m.index) + ' ';
    from = end + signatureLength(text.slice(end));
    SOURCE_LOCATION.lastIndex = from;
  }
  return out + text.slice(from);
}

/** Length of the C++ signature at the start of `rest`, or 0 when there is none. */
function signatureLength(rest: string): number {
  const head = SIGNATURE_HEAD.exec(rest);
  if (head === null) return 0;
  let i = closeOf(rest, head[0].length, '(', ')');
  if (i < 0) return 0;
  for (;;) {
    const tail = rest.slice(i);
    const qualifier = SIGNATURE_TRAILER.exec(tail);
    if (qualifier !== null) {
      i += qualifier[0].length;
    } else if (tail.startsWith('::<lambda')) {
      // gcc names a lambda "outer(args)::<lambda(args)>".
      const close = closeOf(rest, i + 2, '<', '>');
      if (close < 0) return i;
      i = close;
    } else if (/^ \[with /.test(tail)) {
      // gcc's template arguments: "f(T) [with T = float; U = int]".
      const close = closeOf(rest, i + 1, '[', ']');
      if (close < 0) return i;
      i = close;
    } else {
      return i;
    }
  }
}

/** Index just past the bracket that closes the one at `open`, or -1 when unbalanced. */
function closeOf(text: string, open: number, opener: string, closer: string): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === opener) depth++;
    else if (c === closer && --depth === 0) return i + 1;
  }
  return -1;
}

function truncate(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  let cut = text.slice(0, maxChars - 1);
  // Never leave half of a surrogate pair before the ellipsis.
  if (/[\ud800-\udbff]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut.trimEnd()}…`;
}

const SEVERITY_BY_LETTER: Readonly<Record<string, OrtSeverity>> = {
  V: 'verbose',
  I: 'info',
  W: 'warning',
  E: 'error',
  F: 'fatal',
};

// "<date> <time> [<V|I|W|E|F>:onnxruntime:<logid>, <file>:<line> <function>] <message>".
// The source is matched lazily up to the first "] " so that "operator[]" survives.
const LOG_LINE =
  /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)? \[([VIWEF]):onnxruntime:[^,\]]*, (\S+:\d+(?: \S*?)?)\](?: (.*)|)$/s;

/**
 * One line of ORT's log (without its newline). Undefined for an empty or blank line; a line
 * in ORT's format gives its severity, source and message; any other line (a continuation of
 * a multi-line message, Node's own warnings) gives severity 'warning' and the line as message.
 */
export function parseOrtLogLine(line: string): OrtLogLine | undefined {
  const text = line.replace(ANSI, '').replace(/\r$/, '');
  if (text.trim() === '') return undefined;
  const m = LOG_LINE.exec(text);
  if (m === null) return { severity: 'warning', message: text };
  return { severity: SEVERITY_BY_LETTER[m[1]!]!, source: m[2]!, message: m[3] ?? '' };
}
