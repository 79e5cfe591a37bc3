// The worker thread behind OnnxRuntimeBackend: holds one onnxruntime session and runs it, so that
// inference (synchronous inside onnxruntime-node) never blocks the main thread. Plain JavaScript: Node 20
// does not apply the TypeScript loader (`--import tsx`) inside worker threads. Messages: see
// session-thread.ts.
import { parentPort } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';

const metadata = (meta) => meta.map((m) => ({ name: m.name, shape: m.isTensor ? [...m.shape] : [] }));

let session;

async function handle(request) {
  if (request.kind === 'load') {
    session = await ort.InferenceSession.create(request.model, request.options);
    return {
      id: request.id,
      ok: true,
      metadata: { inputs: metadata(session.inputMetadata), outputs: metadata(session.outputMetadata) },
    };
  }
  if (request.kind === 'release') {
    await session?.release();
    session = undefined;
    return { id: request.id, ok: true };
  }
  if (!session) throw new Error('model is not loaded');
  const feeds = {};
  for (const [name, tensor] of Object.entries(request.feeds)) {
    feeds[name] = new ort.Tensor('float32', tensor.data, tensor.dims);
  }
  const results = await session.run(feeds);
  const outputs = {};
  for (const [name, value] of Object.entries(results)) {
    outputs[name] = { type: value.type, data: value.data, dims: value.dims };
  }
  return { id: request.id, ok: true, outputs };
}

parentPort.on('message', (request) => {
  handle(request).then(
    (reply) => parentPort.postMessage(reply),
    (error) =>
      parentPort.postMessage({
        id: request.id,
        ok: false,
        error: error instanceof Error ? error.message : String(error),
      }),
  );
});
