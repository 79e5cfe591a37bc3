// `npm run -s bench -- [--json] [--only a,b] [--data DIR]`: speed and memory figures. Each workspace
// contributes a section; benchmarks never run inside the tests.
import { benchSection } from '@truepresence/model-pack';
import { hubBenchSection } from './hub/bench.ts';
import { parseReportArgs, runSections, type Section } from './report.ts';
import { storeBenchSection } from './store-sync/bench.ts';
import { pipelineBenchSection } from './walkby/bench.ts';

export interface BenchContext {
  /** Optional labelled data folder for benchmarks that want real faces beyond the npm-shipped photos. */
  dataDir: string | undefined;
}

const sections: Array<Section<BenchContext>> = [
  benchSection,
  hubBenchSection,
  storeBenchSection,
  pipelineBenchSection,
];

const options = parseReportArgs(process.argv.slice(2));
process.exitCode = await runSections(sections, { dataDir: options.data }, options);
