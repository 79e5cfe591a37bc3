// The `models` section of the agent's and the hub's config: which pack, where its cache lives, and how it
// runs. Device profiles fill `providers` and the thread counts.
import { z } from 'zod';
import { executionProviders } from './backends/backend.ts';
import { defaultCacheDir } from './fetch.ts';
import { defaultManifestPath } from './manifest.ts';

export const modelPackConfigSchema = z
  .strictObject({
    manifest: z
      .string()
      .min(1)
      .default(defaultManifestPath)
      .describe('Path of the model pack manifest.json; the bundled default pack when absent.'),
    cacheDir: z
      .string()
      .min(1)
      .default(defaultCacheDir)
      .describe(
        'Directory of the prepared model files that `cache:` paths point into (truepresence-models fetch --cache).',
      ),
    backend: z.enum(['onnxruntime']).default('onnxruntime').describe('Inference backend.'),
    providers: z
      .array(z.enum(executionProviders))
      .min(1)
      .default(['cpu'])
      .describe('Execution providers, best first; a missing one falls back to CPU with one log line.'),
    intraOpThreads: z.number().int().min(1).max(64).default(1).describe('Threads inside one model run.'),
    interOpThreads: z
      .number()
      .int()
      .min(1)
      .max(64)
      .default(1)
      .describe('Threads across independent graph nodes.'),
  })
  .describe('Face models: the pack and how it runs.');

export type ModelPackConfig = z.infer<typeof modelPackConfigSchema>;
