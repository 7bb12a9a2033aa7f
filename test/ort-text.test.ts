import { describe, expect, it } from 'vitest';
import {
  MAX_ORT_MESSAGE_CHARS,
  ORT_SEVERITIES,
  ORT_SEVERITY_LEVEL,
  cleanOrtMessage,
  parseOrtLogLine,
} from '../src/inference/ort-text.js';

// Real messages: a PaddleOCR run error (Linux build), the same kind of error as a Windows
// build prints it, Silero VAD's nested If/Pad error, a wrong fixed dim, and load errors.
const PADDLE =
  "Non-zero status code returned while running Add node. Name:'p2o.Add.248' Status Message: /onnxruntime_src/onnxruntime/core/providers/cpu/math/element_wise_ops.h:583 void onnxruntime::BroadcastIterator::Append(ptrdiff_t, ptrdiff_t) axis == 1 || axis == largest was false. Attempting to broadcast an axis by a dimension other than 1. 3 by 4";
const PADDLE_WINDOWS =
  "Non-zero status code returned while running Add node. Name:'p2o.Add.248' Status Message: D:\\a\\_work\\1\\s\\onnxruntime\\core\\providers\\cpu\\math\\element_wise_ops.h:583 void __cdecl onnxruntime::BroadcastIterator::Append(__int64,__int64) axis == 1 || axis == largest was false. Attempting to broadcast an axis by a dimension other than 1. 3 by 4";
const PADDLE_CLEAN =
  "Non-zero status code returned while running Add node. Name:'p2o.Add.248' Status Message: axis == 1 || axis == largest was false. Attempting to broadcast an axis by a dimension other than 1. 3 by 4";
const SILERO =
  "Non-zero status code returned while running If node. Name:'If_0' Status Message: Non-zero status code returned while running Pad node. Name:'If_0_then_branch__Inline_0__/stft/padding/Pad' Status Message: Pad reflect: post-pad (64) exceeds maximum allowed (63) for axis 1. Input shape:{1,64}";
const FIXED_DIM =
  'Got invalid dimensions for input: onnx::Flatten_0 for the following indices\n index: 0 Got: 2 Expected: 1\n Please fix either the inputs/outputs or the model.';
const IR_VERSION =
  'Load model from /srv/models/ocr/3/model.onnx failed:/onnxruntime_src/onnxruntime/core/graph/model.cc:180 onnxruntime::Model::Model(onnx::ModelProto&&, const PathString&, const IOnnxRuntimeOpSchemaRegistryList*, const onnxruntime::logging::Logger&, const onnxruntime::ModelOptions&) Unsupported model IR version: 13, max supported IR version: 11';
const LAMBDA =
  '/onnxruntime_src/onnxruntime/core/session/inference_session.cc:2401 onnxruntime::InferenceSession::Initialize()::<lambda()> Exception during initialization: /onnxruntime_src/onnxruntime/core/optimizer/optimizer_execution_frame.cc:92 onnxruntime::OptimizerExecutionFrame::Info::Info(const std::vector<const onnxruntime::Node*>&, const InitializedTensorSet&, const std::filesystem::__cxx11::path&, const onnxruntime::IExecutionProvider&, const std::function<bool(const std::__cxx11::basic_string<char>&)>&, const onnxruntime::logging::Logger&) [with T = float] weights not found';

function expectNoInternals(text: string): void {
  for (const leak of ['/onnxruntime_src', 'onnxruntime\\core', '.h:', '.cc:', 'onnxruntime::', '__cdecl', 'ptrdiff_t', '\n']) {
    expect(text).not.toContain(leak);
  }
}

describe('cleanOrtMessage', () => {
  it('drops the source location and C++ signature of an ORT_ENFORCE and keeps its text', () => {
    expect(cleanOrtMessage(PADDLE)).toBe(PADDLE_CLEAN);
    expectNoInternals(cleanOrtMessage(PADDLE));
  });

  it('drops a Windows build path and an MSVC signature the same way', () => {
    expect(cleanOrtMessage(PADDLE_WINDOWS)).toBe(PADDLE_CLEAN);
    expectNoInternals(cleanOrtMessage(PADDLE_WINDOWS));
  });

  it('leaves a message without internals as it is, node names with slashes included', () => {
    expect(cleanOrtMessage(SILERO)).toBe(SILERO);
    const gather =
      "Non-zero status code returned while running Gather node. Name:'/embed/Gather' Status Message: indices element out of data bounds, idx=9 must be within the inclusive range [-5,4]";
    expect(cleanOrtMessage(gather)).toBe(gather);
  });

  it('collapses whitespace and keeps onnx:: value names', () => {
    const cleaned = cleanOrtMessage(FIXED_DIM);
    expect(cleaned).toBe(
      'Got invalid dimensions for input: onnx::Flatten_0 for the following indices index: 0 Got: 2 Expected: 1 Please fix either the inputs/outputs or the model.',
    );
    expectNoInternals(cleaned);
  });

  it('cuts a model path to its file name and strips a long signature with nested parentheses', () => {
    const cleaned = cleanOrtMessage(IR_VERSION);
    expect(cleaned).toBe('Load model from model.onnx failed: Unsupported model IR version: 13, max supported IR version: 11');
    expectNoInternals(cleaned);
    expect(cleanOrtMessage('Load model from C:\\Program Files\\sluice\\m\\1\\model.onnx failed:Protobuf parsing failed.')).toBe(
      'Load model from model.onnx failed:Protobuf parsing failed.',
    );
  });

  it('strips nested locations, lambda and template suffixes', () => {
    const cleaned = cleanOrtMessage(LAMBDA);
    expect(cleaned).toBe('Exception during initialization: weights not found');
    expectNoInternals(cleaned);
  });

  it(`caps the text at ${MAX_ORT_MESSAGE_CHARS} characters with an ellipsis`, () => {
    const long = `${PADDLE_CLEAN} `.repeat(10);
    const cleaned = cleanOrtMessage(long);
    expect(cleaned).toHaveLength(MAX_ORT_MESSAGE_CHARS);
    expect(cleaned.endsWith('…')).toBe(true);
    expect(long.startsWith(cleaned.slice(0, -1))).toBe(true);
    expect(cleanOrtMessage('x'.repeat(MAX_ORT_MESSAGE_CHARS))).toBe('x'.repeat(MAX_ORT_MESSAGE_CHARS));
  });

  it('removes ANSI and control characters and never returns an empty text', () => {
    expect(cleanOrtMessage('\x1b[1;31mbad\x00 input\x1b[m')).toBe('bad input');
    expect(cleanOrtMessage('  \n ')).toBe('ONNX Runtime error');
  });
});

describe('parseOrtLogLine', () => {
  it('parses a coloured warning line into severity, source and message without ANSI', () => {
    const line =
      "\x1b[0;93m2026-12-02 13:39:36.255402807 [W:onnxruntime:, graph.cc:5607 CleanUnusedInitializersAndNodeArgs] Removing initializer 'val_7_2'. It is not used by any node and should be removed from the model.\x1b[m";
    expect(parseOrtLogLine(line)).toEqual({
      severity: 'warning',
      source: 'graph.cc:5607 CleanUnusedInitializersAndNodeArgs',
      message: "Removing initializer 'val_7_2'. It is not used by any node and should be removed from the model.",
    });
  });

  it.each([
    ['V', 'verbose'],
    ['I', 'info'],
    ['W', 'warning'],
    ['E', 'error'],
    ['F', 'fatal'],
  ] as const)('maps severity letter %s to %s', (letter, severity) => {
    const line = `2026-12-02 13:44:27.316840111 [${letter}:onnxruntime:onnxruntime-node, inference_session.cc:526 operator()] Flush-to-zero and denormal-as-zero are off\r`;
    expect(parseOrtLogLine(line)).toEqual({
      severity,
      source: 'inference_session.cc:526 operator()',
      message: 'Flush-to-zero and denormal-as-zero are off',
    });
  });

  it('keeps brackets inside the function name and the message', () => {
    expect(parseOrtLogLine('2026-12-02 13:44:27.3 [E:onnxruntime:sess, op.cc:7 operator[]] index [3] out of range')).toEqual({
      severity: 'error',
      source: 'op.cc:7 operator[]',
      message: 'index [3] out of range',
    });
  });

  it('gives a line not in ORT format as a warning, ANSI removed', () => {
    expect(parseOrtLogLine('\x1b[31m index: 0 Got: 2 Expected: 1\x1b[0m')).toEqual({
      severity: 'warning',
      message: ' index: 0 Got: 2 Expected: 1',
    });
  });

  it('gives undefined for an empty or blank line', () => {
    expect(parseOrtLogLine('')).toBeUndefined();
    expect(parseOrtLogLine('  \r')).toBeUndefined();
    expect(parseOrtLogLine('\x1b[m')).toBeUndefined();
  });
});

describe('ORT severities', () => {
  it('numbers each severity by its ORT level', () => {
    expect(ORT_SEVERITY_LEVEL).toEqual({ verbose: 0, info: 1, warning: 2, error: 3, fatal: 4 });
    for (const s of ORT_SEVERITIES) expect(ORT_SEVERITIES[ORT_SEVERITY_LEVEL[s]]).toBe(s);
  });
});
