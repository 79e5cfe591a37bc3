import { z } from 'zod';

export const vectorCacheConfigSchema = z
  .strictObject({
    path: z
      .string()
      .min(1)
      .default('/var/lib/truepresence/vector-cache.db')
      .describe('Encrypted SQLite file of the enrolled templates this agent matches faces against.'),
    pageCacheMiB: z
      .int()
      .min(4)
      .max(4096)
      .default(64)
      .describe(
        'Decrypted pages kept in memory, filled when the cache opens. A search scans every binary code (64 bytes per template) and reads a few templates; with the whole file in memory (about 2.9 KiB per template: 64 MiB holds ~22,000) no search decrypts from disk. Keep at least templates x 100 bytes.',
      ),
  })
  .describe('Vector cache: the roster templates, encrypted at rest with the provisioned storage key.');
export type VectorCacheConfig = z.output<typeof vectorCacheConfigSchema>;
