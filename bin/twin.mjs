#!/usr/bin/env node
// Launcher for the `twin` CLI: registers tsx so the TypeScript sources run as they are, then hands over.
// `npx twin ...` and `npm run twin -- ...` both end up in src/cli/main.ts.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../src/cli/main.ts');
await runCli(process.argv);
