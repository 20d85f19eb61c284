/**
 * Entry point of the worker threads that run modules of this code base (the parse workers, the SQLite
 * writer thread). Node does not load TypeScript in a worker by itself, so when the module to run is a .ts
 * file (development, tests, `npm start` through tsx) the tsx loader is registered first; a compiled build
 * runs its .js module directly.
 */
import { workerData } from 'node:worker_threads';

if (workerData.module.endsWith('.ts')) {
  const { register } = await import('tsx/esm/api');
  register();
}
await import(workerData.module);
