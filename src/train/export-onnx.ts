// A DenseNet as an ONNX inference graph (opset 13):
//
//   <input> [batch, in] → Gemm fc1 → (Relu relu1 → Gemm fc2 …) → Softmax → probabilities
//                                                        probabilities → ArgMax → label
//
// Gemm uses transB = 1, so each weight initializer is [out, in] exactly as DenseLayer holds
// it. Node, value and initializer names depend only on the layer count, so a retrained
// version of the same architecture differs from its parent only in initializer bytes.

import { type DenseNet, inputDim, outputDim } from './dense.js';
import { type OnnxModel, type OnnxNode, type OnnxTensor, encodeOnnxModel } from './onnx.js';

export const ONNX_OPSET = 13;
export const ONNX_IR_VERSION = 7;
export const PROBABILITIES_OUTPUT = 'probabilities';
export const LABEL_OUTPUT = 'label';
/** The symbolic batch dimension of every input and output. */
export const BATCH_DIM = 'batch';

export interface DenseExportOptions {
  /** Name of the FP32 [batch, features] input, e.g. `features` or `pixels`. */
  inputName: string;
  graphName: string;
  producerName: string;
  producerVersion: string;
  docString?: string;
}

/** The graph for `net`; its parameters are rounded to float32 here. */
export function denseNetToOnnx(net: DenseNet, opts: DenseExportOptions): OnnxModel {
  const nodes: OnnxNode[] = [];
  const initializers: OnnxTensor[] = [];
  let current = opts.inputName;
  net.layers.forEach((layer, l) => {
    const id = `fc${l + 1}`;
    initializers.push(
      {
        name: `${id}.weight`,
        elemType: 'float32',
        dims: [layer.outDim, layer.inDim],
        data: Float32Array.from(layer.weight),
      },
      {
        name: `${id}.bias`,
        elemType: 'float32',
        dims: [layer.outDim],
        data: Float32Array.from(layer.bias),
      },
    );
    nodes.push({
      name: id,
      opType: 'Gemm',
      inputs: [current, `${id}.weight`, `${id}.bias`],
      outputs: [`${id}.out`],
      attributes: [{ name: 'transB', type: 'int', value: 1 }],
    });
    current = `${id}.out`;
    if (layer.activation === 'relu') {
      const relu = `relu${l + 1}`;
      nodes.push({ name: relu, opType: 'Relu', inputs: [current], outputs: [`${relu}.out`] });
      current = `${relu}.out`;
    }
  });
  nodes.push(
    {
      name: 'softmax',
      opType: 'Softmax',
      inputs: [current],
      outputs: [PROBABILITIES_OUTPUT],
      attributes: [{ name: 'axis', type: 'int', value: 1 }],
    },
    {
      name: 'argmax',
      opType: 'ArgMax',
      inputs: [PROBABILITIES_OUTPUT],
      outputs: [LABEL_OUTPUT],
      attributes: [
        { name: 'axis', type: 'int', value: 1 },
        { name: 'keepdims', type: 'int', value: 0 },
      ],
    },
  );
  return {
    irVersion: ONNX_IR_VERSION,
    opsetImports: [{ domain: '', version: ONNX_OPSET }],
    producerName: opts.producerName,
    producerVersion: opts.producerVersion,
    ...(opts.docString === undefined ? {} : { docString: opts.docString }),
    graph: {
      name: opts.graphName,
      nodes,
      initializers,
      inputs: [{ name: opts.inputName, elemType: 'float32', shape: [BATCH_DIM, inputDim(net)] }],
      outputs: [
        { name: PROBABILITIES_OUTPUT, elemType: 'float32', shape: [BATCH_DIM, outputDim(net)] },
        { name: LABEL_OUTPUT, elemType: 'int64', shape: [BATCH_DIM] },
      ],
    },
  };
}

export function encodeDenseNet(net: DenseNet, opts: DenseExportOptions): Uint8Array {
  return encodeOnnxModel(denseNetToOnnx(net, opts));
}
