/**
 * Runs a bench file's `main` when that file is the script node was started with (`node dist/bench/<name>.js`), not
 * when `npm run bench` imports it; a failure prints its stack and sets the exit code.
 */
import { fileURLToPath } from 'node:url';

export function runStandalone(moduleUrl: string, name: string, main: () => Promise<void>): void {
  if (process.argv[1] !== fileURLToPath(moduleUrl)) return;
  main().catch((error: unknown) => {
    process.stderr.write(`${name} failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  });
}
