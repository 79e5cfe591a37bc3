// A tiny protobuf walker over an ONNX ModelProto: ModelProto.graph (7) -> GraphProto.initializer (5) ->
// TensorProto {data_type (2), float_data (4), raw_data (9)}. It rewrites float bytes in place, so no length
// prefix changes and the rest of the file stays byte-identical.
import { ModelErrorCode, modelError } from './errors.ts';

const modelGraphField = 7;
const graphInitializerField = 5;
const tensorDataTypeField = 2;
const tensorFloatDataField = 4;
const tensorRawDataField = 9;
const onnxFloat = 1;

const wireVarint = 0;
const wireFixed64 = 1;
const wireLengthDelimited = 2;
const wireFixed32 = 5;

export interface DenormalReport {
  /** FLOAT initializers visited. */
  tensors: number;
  /** float32 values that were denormal and are now +0. */
  zeroed: number;
}

interface Field {
  field: number;
  wire: number;
  /** Varint value (wire 0) or start of the payload (other wires). */
  value: number;
  start: number;
  end: number;
}

function invalid(message: string, offset: number): never {
  throw modelError(ModelErrorCode.onnxInvalid, `not a valid ONNX protobuf: ${message} at byte ${offset}`, {
    offset,
  });
}

function readVarint(buf: Uint8Array, pos: number, limit: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= limit) invalid('varint runs past its message', pos);
    const byte = buf[pos++]!;
    // Values beyond 2^53 only occur in int64 fields we skip; precision loss there is harmless.
    value += (byte & 0x7f) * scale;
    scale *= 128;
    if ((byte & 0x80) === 0) return [value, pos];
  }
  return invalid('varint longer than 10 bytes', pos);
}

function* fields(buf: Uint8Array, start: number, end: number): Generator<Field> {
  let pos = start;
  while (pos < end) {
    const [tag, afterTag] = readVarint(buf, pos, end);
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    pos = afterTag;
    if (wire === wireVarint) {
      const [value, next] = readVarint(buf, pos, end);
      yield { field, wire, value, start: pos, end: next };
      pos = next;
    } else if (wire === wireLengthDelimited) {
      const [length, payload] = readVarint(buf, pos, end);
      if (payload + length > end) invalid(`field ${field} longer than its message`, pos);
      yield { field, wire, value: payload, start: payload, end: payload + length };
      pos = payload + length;
    } else if (wire === wireFixed32 || wire === wireFixed64) {
      const size = wire === wireFixed32 ? 4 : 8;
      if (pos + size > end) invalid(`field ${field} longer than its message`, pos);
      yield { field, wire, value: pos, start: pos, end: pos + size };
      pos += size;
    } else {
      invalid(`unsupported wire type ${wire}`, pos);
    }
  }
}

/** Zeroes denormal float32 values in [start, end) (a multiple of 4 bytes, little-endian). */
function zeroDenormals(view: DataView, start: number, end: number): number {
  if ((end - start) % 4 !== 0) invalid('float data length is not a multiple of 4', start);
  let zeroed = 0;
  for (let at = start; at < end; at += 4) {
    const bits = view.getUint32(at, true);
    if ((bits & 0x7f800000) === 0 && (bits & 0x007fffff) !== 0) {
      view.setUint32(at, 0, true);
      zeroed++;
    }
  }
  return zeroed;
}

/**
 * Sets every denormal float32 weight of the graph's FLOAT initializers to +0, in place. Denormal weights
 * make CPU inference several times slower and contribute nothing measurable to the result.
 */
export function zeroDenormalInitializers(model: Uint8Array): DenormalReport {
  const view = new DataView(model.buffer, model.byteOffset, model.byteLength);
  const report: DenormalReport = { tensors: 0, zeroed: 0 };
  let sawGraph = false;
  for (const graph of fields(model, 0, model.length)) {
    if (graph.field !== modelGraphField || graph.wire !== wireLengthDelimited) continue;
    sawGraph = true;
    for (const init of fields(model, graph.start, graph.end)) {
      if (init.field !== graphInitializerField || init.wire !== wireLengthDelimited) continue;
      let dataType = 0;
      const data: Array<[number, number]> = [];
      for (const part of fields(model, init.start, init.end)) {
        if (part.field === tensorDataTypeField && part.wire === wireVarint) dataType = part.value;
        else if (part.field === tensorRawDataField && part.wire === wireLengthDelimited)
          data.push([part.start, part.end]);
        else if (part.field === tensorFloatDataField && part.wire !== wireVarint)
          data.push([part.start, part.end]);
      }
      if (dataType !== onnxFloat) continue;
      report.tensors++;
      for (const [start, end] of data) report.zeroed += zeroDenormals(view, start, end);
    }
  }
  if (!sawGraph) invalid('no graph (field 7) in the model', 0);
  return report;
}
