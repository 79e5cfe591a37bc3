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
        'Decrypted pages kept in memory, filled when the cache opens. A search scans the binary codes, which are held in memory apart from this (64 bytes per template), then reads the vectors of a few dozen templates from the file; pages not kept here are read and decrypted again (the file is about 2.9 KiB per template: 64 MiB keeps ~22,000).',
      ),
  })
  .describe('Vector cache: the roster templates, encrypted at rest with the provisioned storage key.');
export type VectorCacheConfig = z.output<typeof vectorCacheConfigSchema>;
