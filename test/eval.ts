// `npm run -s eval -- --data DIR [--json] [--only a,b] [--gate]`: accuracy on a labelled data folder
// (the layout of ../shared/data). Each workspace contributes a section; --gate fails on missed targets.
import { evalSection } from '@truepresence/model-pack';
import { parseReportArgs, runSections, type Section } from './report.ts';
import { walkbyEvalSection } from './walkby/eval.ts';

export interface EvalContext {
  dataDir: string;
}

const sections: Array<Section<EvalContext>> = [evalSection, walkbyEvalSection];

const options = parseReportArgs(process.argv.slice(2));
if (!options.data) {
  console.error('usage: npm run -s eval -- --data DIR [--json] [--only SECTION,...] [--gate]');
  process.exit(2);
}
process.exitCode = await runSections(sections, { dataDir: options.data }, options);
