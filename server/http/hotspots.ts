/**
 * Profiling the live process, as brpc's /hotspots: through a `node:inspector` Session on this thread (V8's sampling
 * profilers run beside JavaScript, so calls keep being served while a profile is taken).
 *
 *   /hotspots/cpu?seconds=N             CPU profile of the next N seconds (default 10, 1..300) as a `.cpuprofile`
 *                                       (loads in Chrome DevTools' Performance panel and speedscope)
 *   /hotspots/cpu?seconds=N&view=flame  the same as a flame graph page
 *   /hotspots/heap?seconds=N            sampling heap profile of the allocations made in the next N seconds (default
 *                                       10) that are still live at the end, as a `.heapprofile` (DevTools' Memory
 *                                       panel); `&allocated=1` counts the collected ones too (where garbage comes
 *                                       from); `&view=flame` as a flame graph
 *   interval=µs (cpu)                   sampling interval (default 1000 µs, at least 50)
 *
 * One profile of each kind at a time: a second request while one runs gets 409.
 */
import type http from 'node:http';
import { Session } from 'node:inspector/promises';
import { FLAME_GRAPH_HTML } from './flame-graph.js';
import { send, sendJson } from './helpers.js';

const running = new Set<string>();

export async function serveHotspots(path: string, query: URLSearchParams, res: http.ServerResponse): Promise<void> {
  const kind = path === '/hotspots/cpu' ? 'cpu' : 'heap';
  const secondsText = query.get('seconds') ?? '10';
  const seconds = Number(secondsText);
  if (!/^\d+(\.\d+)?$/.test(secondsText) || seconds <= 0 || seconds > 300) {
    return sendJson(res, 400, { error: 'seconds must be a number in (0, 300]' });
  }
  if (running.has(kind)) return sendJson(res, 409, { error: `a ${kind} profile is being taken already; try again when it is done` });
  running.add(kind);
  // The client leaving early stops the wait (the profile is then discarded).
  const abort = new AbortController();
  res.once('close', () => abort.abort());
  let profile: unknown;
  try {
    profile = kind === 'cpu' ? await cpuProfile(seconds, Number(query.get('interval') ?? 1000), abort.signal) : await heapProfile(seconds, query.get('allocated') === '1', abort.signal);
  } finally {
    running.delete(kind);
  }
  if (res.destroyed) return;
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  if (query.get('view') === 'flame') {
    const title = `${kind === 'cpu' ? 'CPU' : 'Heap'} profile, ${seconds} s, pid ${process.pid}, ${new Date().toISOString()}`;
    const html = FLAME_GRAPH_HTML.replace('__TITLE__', escapeHtml(title))
      .replace('__KIND__', kind)
      .replace('__PROFILE__', () => JSON.stringify(profile).replace(/</g, '\\u003c'));
    return send(res, 200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' }, html);
  }
  const extension = kind === 'cpu' ? 'cpuprofile' : 'heapprofile';
  return send(
    res,
    200,
    { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', 'Content-Disposition': `attachment; filename="rpcx-ts-${process.pid}-${stamp}.${extension}"` },
    JSON.stringify(profile),
  );
}

async function cpuProfile(seconds: number, intervalUs: number, signal: AbortSignal): Promise<unknown> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: Math.max(50, Number.isFinite(intervalUs) ? intervalUs : 1000) });
    await session.post('Profiler.start');
    await sleep(seconds * 1000, signal);
    const { profile } = await session.post('Profiler.stop');
    return profile;
  } finally {
    session.disconnect();
  }
}

async function heapProfile(seconds: number, allocated: boolean, signal: AbortSignal): Promise<unknown> {
  const session = new Session();
  session.connect();
  try {
    await session.post('HeapProfiler.enable');
    await session.post('HeapProfiler.startSampling', {
      samplingInterval: 16 * 1024,
      includeObjectsCollectedByMajorGC: allocated,
      includeObjectsCollectedByMinorGC: allocated,
    });
    await sleep(seconds * 1000, signal);
    const { profile } = await session.post('HeapProfiler.stopSampling');
    return profile;
  } finally {
    session.disconnect();
  }
}

/** Waits `ms`, or less when `signal` fires (the profile then covers less). */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
}
