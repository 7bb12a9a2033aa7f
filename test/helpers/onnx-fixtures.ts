// Small ONNX models built with the project's own writer, for tests that need a graph with a
// particular property.
import { encodeOnnxModel, type OnnxGraph } from '../../src/train/onnx.js';

/** The bytes of a model holding `graph` (IR 7, opset 13). */
export function testModel(graph: OnnxGraph): Uint8Array {
  return encodeOnnxModel({ irVersion: 7, opsetImports: [{ domain: '', version: 13 }], producerName: 'sluice-test', producerVersion: '1', graph });
}

/** Relu(x) plus an initializer no node reads: ONNX Runtime removes it at load, with a warning. */
export function unusedInitializerModel(): Uint8Array {
  return testModel({
    name: 'unused',
    nodes: [{ name: 'relu', opType: 'Relu', inputs: ['x'], outputs: ['y'] }],
    initializers: [{ name: 'stale_weight', elemType: 'float32', dims: [2], data: [1, 2] }],
    inputs: [{ name: 'x', elemType: 'float32', shape: ['n', '', 3] }],
    outputs: [{ name: 'y', elemType: 'float32', shape: ['n', '', 3] }],
  });
}
