// A small ONNX model writer: ModelProto, GraphProto, NodeProto, AttributeProto,
// TensorProto and ValueInfoProto, with only the fields a feed-forward inference graph
// needs. Field numbers are those of onnx/onnx.proto (proto2). Initializers are stored as
// little-endian raw_data. The graph is checked before encoding (every node input defined,
// tensor sizes consistent) so a wrong graph fails here rather than in onnxruntime.

import { ProtoWriter } from './protobuf.js';

/** TensorProto.DataType values for the element types the writer supports. */
export const ONNX_ELEM_TYPE = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int32: 6,
  int64: 7,
  bool: 9,
  float64: 11,
} as const;
export type OnnxElemType = keyof typeof ONNX_ELEM_TYPE;

/** Bytes per element and how to store one, for raw_data. */
const ELEM_WRITERS: Record<OnnxElemType, [number, (v: DataView, at: number, x: number | bigint) => void]> = {
  float32: [4, (v, at, x) => v.setFloat32(at, Number(x), true)],
  uint8: [1, (v, at, x) => v.setUint8(at, Number(x))],
  int8: [1, (v, at, x) => v.setInt8(at, Number(x))],
  int32: [4, (v, at, x) => v.setInt32(at, Number(x), true)],
  int64: [8, (v, at, x) => v.setBigInt64(at, BigInt(x), true)],
  bool: [1, (v, at, x) => v.setUint8(at, x ? 1 : 0)],
  float64: [8, (v, at, x) => v.setFloat64(at, Number(x), true)],
};

/** A constant tensor (graph initializer or tensor attribute). Row-major data. */
export interface OnnxTensor {
  name: string;
  elemType: OnnxElemType;
  dims: readonly number[];
  data: ArrayLike<number> | ArrayLike<bigint>;
}

/** A graph input or output: numbers are fixed dims, strings symbolic ones (dim_param). */
export interface OnnxValueInfo {
  name: string;
  elemType: OnnxElemType;
  shape: readonly (number | string)[];
  docString?: string;
}

export type OnnxAttribute =
  | { name: string; type: 'float'; value: number }
  | { name: string; type: 'int'; value: number | bigint }
  | { name: string; type: 'string'; value: string }
  | { name: string; type: 'tensor'; value: OnnxTensor }
  | { name: string; type: 'floats'; value: readonly number[] }
  | { name: string; type: 'ints'; value: readonly (number | bigint)[] }
  | { name: string; type: 'strings'; value: readonly string[] };

/** AttributeProto.AttributeType values. */
const ATTRIBUTE_TYPE: Record<OnnxAttribute['type'], number> = {
  float: 1,
  int: 2,
  string: 3,
  tensor: 4,
  floats: 6,
  ints: 7,
  strings: 8,
};

export interface OnnxNode {
  name: string;
  opType: string;
  inputs: readonly string[];
  outputs: readonly string[];
  attributes?: readonly OnnxAttribute[];
  /** Operator set domain; '' (default) is ai.onnx. */
  domain?: string;
  docString?: string;
}

export interface OnnxGraph {
  name: string;
  /** Topologically sorted. */
  nodes: readonly OnnxNode[];
  initializers: readonly OnnxTensor[];
  inputs: readonly OnnxValueInfo[];
  outputs: readonly OnnxValueInfo[];
  docString?: string;
}

export interface OnnxModel {
  /** 7 goes with opset 12–13, 8 with 14–15. */
  irVersion: number;
  opsetImports: readonly { domain: string; version: number }[];
  producerName: string;
  producerVersion: string;
  domain?: string;
  modelVersion?: number;
  docString?: string;
  graph: OnnxGraph;
  /** metadata_props, written in the given order. */
  metadata?: readonly { key: string; value: string }[];
}

/** Serialises `model` to ONNX protobuf bytes; the same model always gives the same bytes. */
export function encodeOnnxModel(model: OnnxModel): Uint8Array {
  checkGraph(model.graph);
  const w = new ProtoWriter();
  w.varintField(1, model.irVersion);
  w.stringField(2, model.producerName);
  w.stringField(3, model.producerVersion);
  if (model.domain !== undefined) w.stringField(4, model.domain);
  if (model.modelVersion !== undefined) w.varintField(5, model.modelVersion);
  if (model.docString !== undefined) w.stringField(6, model.docString);
  w.messageField(7, (g) => writeGraph(g, model.graph));
  for (const opset of model.opsetImports) {
    w.messageField(8, (o) => o.stringField(1, opset.domain).varintField(2, opset.version));
  }
  for (const { key, value } of model.metadata ?? []) {
    w.messageField(14, (e) => e.stringField(1, key).stringField(2, value));
  }
  return w.finish();
}

function writeGraph(w: ProtoWriter, graph: OnnxGraph): void {
  for (const node of graph.nodes) w.messageField(1, (n) => writeNode(n, node));
  w.stringField(2, graph.name);
  for (const t of graph.initializers) w.messageField(5, (m) => writeTensor(m, t));
  if (graph.docString !== undefined) w.stringField(10, graph.docString);
  for (const v of graph.inputs) w.messageField(11, (m) => writeValueInfo(m, v));
  for (const v of graph.outputs) w.messageField(12, (m) => writeValueInfo(m, v));
}

function writeNode(w: ProtoWriter, node: OnnxNode): void {
  for (const name of node.inputs) w.stringField(1, name);
  for (const name of node.outputs) w.stringField(2, name);
  w.stringField(3, node.name);
  w.stringField(4, node.opType);
  for (const attr of node.attributes ?? []) w.messageField(5, (a) => writeAttribute(a, attr));
  if (node.docString !== undefined) w.stringField(6, node.docString);
  if (node.domain !== undefined && node.domain !== '') w.stringField(7, node.domain);
}

function writeAttribute(w: ProtoWriter, attr: OnnxAttribute): void {
  w.stringField(1, attr.name);
  switch (attr.type) {
    case 'float':
      w.floatField(2, attr.value);
      break;
    case 'int':
      w.varintField(3, attr.value);
      break;
    case 'string':
      w.stringField(4, attr.value);
      break;
    case 'tensor':
      w.messageField(5, (t) => writeTensor(t, attr.value));
      break;
    case 'floats':
      for (const v of attr.value) w.floatField(7, v);
      break;
    case 'ints':
      for (const v of attr.value) w.varintField(8, v);
      break;
    case 'strings':
      for (const v of attr.value) w.stringField(9, v);
      break;
  }
  w.varintField(20, ATTRIBUTE_TYPE[attr.type]);
}

function writeTensor(w: ProtoWriter, t: OnnxTensor): void {
  for (const d of t.dims) w.varintField(1, d);
  w.varintField(2, ONNX_ELEM_TYPE[t.elemType]);
  w.stringField(8, t.name);
  const [size, put] = ELEM_WRITERS[t.elemType];
  const raw = new Uint8Array(t.data.length * size);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < t.data.length; i++) put(view, i * size, t.data[i]!);
  w.bytesField(9, raw);
}

function writeValueInfo(w: ProtoWriter, v: OnnxValueInfo): void {
  w.stringField(1, v.name);
  // TypeProto { tensor_type = 1: Tensor { elem_type = 1, shape = 2: { dim = 1 } } }
  w.messageField(2, (type) =>
    type.messageField(1, (tensor) => {
      tensor.varintField(1, ONNX_ELEM_TYPE[v.elemType]);
      tensor.messageField(2, (shape) => {
        for (const dim of v.shape) {
          shape.messageField(1, (d) =>
            typeof dim === 'number' ? d.varintField(1, dim) : d.stringField(2, dim),
          );
        }
      });
    }),
  );
  if (v.docString !== undefined) w.stringField(3, v.docString);
}

/** Throws on what onnxruntime would reject later with a less direct message. */
function checkGraph(graph: OnnxGraph): void {
  const defined = new Set<string>();
  const define = (name: string, what: string): void => {
    if (name === '') throw new Error(`${what}: empty value name`);
    if (defined.has(name)) throw new Error(`${what}: value ${name} defined twice`);
    defined.add(name);
  };
  for (const v of graph.inputs) define(v.name, `graph input ${v.name}`);
  for (const t of graph.initializers) {
    define(t.name, `initializer ${t.name}`);
    const count = t.dims.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) {
      throw new Error(
        `initializer ${t.name}: dims [${t.dims.join(', ')}] need ${count} values, got ${t.data.length}`,
      );
    }
  }
  const nodeNames = new Set<string>();
  for (const node of graph.nodes) {
    if (nodeNames.has(node.name)) throw new Error(`node name ${node.name} used twice`);
    nodeNames.add(node.name);
    for (const input of node.inputs) {
      // '' marks an omitted optional input in ONNX.
      if (input !== '' && !defined.has(input)) {
        throw new Error(`node ${node.name}: input ${input} is not defined before it`);
      }
    }
    for (const output of node.outputs) define(output, `node ${node.name}`);
  }
  for (const v of graph.outputs) {
    if (!defined.has(v.name)) throw new Error(`graph output ${v.name} is produced by no node`);
  }
}
