#!/usr/bin/env tsx
import { run } from '../src/cli.ts';

// npm passes `--offline` of `npm install --offline` to its scripts as npm_config_offline.
process.exitCode = await run(process.argv.slice(2), {
  npmOffline: process.env.npm_config_offline === 'true',
});
