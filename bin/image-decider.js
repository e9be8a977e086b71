#!/usr/bin/env -S node --max-semi-space-size=4 --heap-growing-percent=10
// Runs the TypeScript sources directly through tsx, so the CLI works right after `npm ci`. The
// node flags are the service's (package.json `start`): a graph's garbage is short-lived, and
// V8's default young generation would hold tens of MB of it for nothing.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
