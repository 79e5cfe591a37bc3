import { z } from 'zod';

export const installerConfigSchema = z
  .strictObject({
    enabled: z.boolean().default(true).describe('Serve the installer view (camera aiming page and JSON).'),
    host: z
      .string()
      .min(1)
      .default('127.0.0.1')
      .describe(
        'Address to listen on. Keep 127.0.0.1 (reach it over an SSH tunnel) unless the network is trusted: the page shows camera images.',
      ),
    port: z
      .int()
      .min(0)
      .max(65_535)
      .default(8089)
      .describe('TCP port of the installer view (0: any free port).'),
    refreshMs: z
      .int()
      .min(200)
      .max(60_000)
      .default(1000)
      .describe('How often the page reloads each camera image and its figures.'),
    jpegQuality: z.int().min(30).max(95).default(75).describe('JPEG quality of the annotated camera images.'),
  })
  .describe('The local installer view: what each camera sees, with face sizes, sharpness and gate verdicts.');
export type InstallerConfig = z.output<typeof installerConfigSchema>;
