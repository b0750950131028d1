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
 * Starts a long-running program and waits until it has printed `count` lines `listening <endpoint>`; `stdout` is what
 * it printed up to then (the CLI prints its start lines in one write).
 */
export async function startListening(script: string, args: string[], count = 1): Promise<{ child: ChildProcess; endpoints: string[]; stdout: string }> {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  let out = '';
  const endpoints = await new Promise<string[]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line from ${script}; stderr: ${stderr}`)), 15_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const found = [...out.matchAll(/^listening (\S+)$/gm)].map((m) => m[1]!);
      if (found.length >= count) {
        clearTimeout(timer);
        resolve(found);
      }
    });
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}: ${stderr}`)));
  });
  return { child, endpoints, stdout: out };
}

export async function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill(signal);
  return exited;
}
