/**
 * After `tsc -p tsconfig.build.json`: writes the Queue's task schema validator as ajv's standalone
 * code beside the compiled src/decision/task-schema.js, which loads it rather than compiling the
 * schema at every start (about 60 ms of a CLI run: loading ajv and generating the code).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import standaloneCode from 'ajv/dist/standalone/index.js';
import { AJV_OPTIONS, createTaskRequest } from '../src/decision/task-schema.ts';

const ajv = new Ajv({ ...AJV_OPTIONS, code: { source: true, esm: true } });
addFormats.default(ajv);
const code = standaloneCode.default(ajv, ajv.compile(createTaskRequest));
// The standalone code names its runtime helpers (formats, ucs2length) with require().
const out = join(import.meta.dirname, '../dist/src/decision/task-schema.validate.js');
writeFileSync(out, `import { createRequire } from 'node:module';\nconst require = createRequire(import.meta.url);\n${code}\n`);
