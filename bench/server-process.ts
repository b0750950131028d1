/** Server processes for the benchmarks: started as children, found by the `listening network@addr` lines they print. */
import { spawn, type ChildProcess } from 'node:child_process';

/** Starts `node args...` and resolves once it has printed `count` endpoints. */
export async function startServer(args: string[], count: number): Promise<{ child: ChildProcess; endpoints: string[] }> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const endpoints = await new Promise<string[]>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const found = [...out.matchAll(/listening (\S+)/g)].map((m) => m[1]!);
      if (found.length >= count) resolve(found);
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)));
  });
  return { child, endpoints };
}

/** SIGTERM, and wait for the exit. */
export async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}
