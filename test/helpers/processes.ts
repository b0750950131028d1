/** Running the project's own programs (CLI, examples) as child processes, as a user would. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { distDir } from './paths.js';

export const cliPath = join(distDir, 'bin', 'rpcx-ts.js');

export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node <script> ...args` to completion. */
export function run(script: string, args: string[], timeoutMs = 30_000): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} ${args.join(' ')} timed out; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Waits until `child` (spawned with its stdout piped) has printed `count` lines `listening <endpoint>`, as our servers,
 * examples, benchmark peers and Go peers do once they listen; resolves with the endpoints and what the child printed
 * up to then (the CLI prints its start lines in one write). Rejects when the child exits first or after `timeoutMs`
 * (the child is then killed); `stderrOf` adds what the child said to the error.
 */
export function listeningOutput(
  child: ChildProcess,
  name: string,
  count = 1,
  stderrOf: () => string = () => '',
  timeoutMs = 15_000,
): Promise<{ endpoints: string[]; stdout: string }> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no listening line from ${name} within ${timeoutMs} ms; stderr: ${stderrOf()}`));
    }, timeoutMs);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const found = [...out.matchAll(/^listening (\S+)$/gm)].map((m) => m[1]!);
      if (found.length >= count) {
        clearTimeout(timer);
        resolve({ endpoints: found, stdout: out });
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code ?? signal}: ${stderrOf()}`));
    });
  });
}

/** The endpoints of `listeningOutput`. */
export async function listeningEndpoints(child: ChildProcess, name: string, count = 1, stderrOf: () => string = () => '', timeoutMs = 15_000): Promise<string[]> {
  return (await listeningOutput(child, name, count, stderrOf, timeoutMs)).endpoints;
}

/**
 * Starts `node <script> ...args` and waits until it has printed `count` lines `listening <endpoint>`. Its stderr is
 * collected for the error message, or passed through (`stderr: 'inherit'`, for the benchmarks).
 */
export async function startListening(
  script: string,
  args: string[],
  count = 1,
  options: { stderr?: 'pipe' | 'inherit' } = {},
): Promise<{ child: ChildProcess; endpoints: string[]; stdout: string }> {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', options.stderr ?? 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const { endpoints, stdout } = await listeningOutput(child, script, count, () => stderr);
  return { child, endpoints, stdout };
}

/** Sends `signal` (SIGTERM) unless the child has already exited, and resolves with its exit code once it has. */
export async function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill(signal);
  return exited;
}
