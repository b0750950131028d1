/**
 * The top self-time frames of a V8 `.cpuprofile` (as written by `node --cpu-prof`), as a text table, so that a
 * profile can be read, compared and quoted without a browser:
 *
 *   node dist/bench/profile-summary.js CPU.*.cpuprofile [--top 20] [--calls 1000000]
 *   node dist/bench/profile-summary.js before.cpuprofile after.cpuprofile --calls 800000,820000
 *
 * A directory stands for every .cpuprofile in it, summed (several runs of one variant even out a noisy machine; then
 * `--calls` is the calls of all of them together).
 * Frames are summed by function and file (a function sampled at several positions counts once). Self time is what
 * V8 attributes to a function after inlining: a small function inlined into its caller shows up in the caller.
 * "% busy" leaves out the time the process was idle ("(idle)", waiting in epoll), which changes with the load on the
 * machine and says nothing about the code. With `--calls` (one count per profile) each frame's self time is also
 * given in ns per call. With two profiles the second table shows each frame's change against the first.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
}

/** The parts of the `.cpuprofile` format (Chrome DevTools Profiler.Profile) this reads. */
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface FrameTime {
  /** `function file:line`. */
  frame: string;
  /** Self time in µs. */
  selfUs: number;
}

export interface ProfileSummary {
  /** Self time per frame, largest first. */
  frames: FrameTime[];
  /** All sampled time, and the part of it not idle, in µs. */
  totalUs: number;
  busyUs: number;
}

const IDLE_FRAME = '(idle)';

/**
 * `function file`, and the line only for anonymous functions: a named function keeps its name when an edit moves it,
 * so profiles taken before and after a change line up.
 */
function frameName(frame: CallFrame): string {
  const name = frame.functionName || '(anonymous)';
  if (!frame.url) return name;
  // node: internals keep their module name; our files keep the path from dist/ on; others their base name.
  const url = frame.url.startsWith('file://') ? fileURLToPath(frame.url) : frame.url;
  const dist = url.lastIndexOf('/dist/');
  const file = url.startsWith('node:') ? url : dist >= 0 ? url.slice(dist + 6) : basename(url);
  return frame.functionName ? `${name} ${file}` : `${name} ${file}:${frame.lineNumber + 1}`;
}

/** Sums self time per frame: from the samples and their time deltas when present, else from hit counts. */
export function summarizeProfile(profile: CpuProfile): ProfileSummary {
  const byId = new Map<number, ProfileNode>();
  for (const node of profile.nodes) byId.set(node.id, node);
  const selfById = new Map<number, number>();
  const samples = profile.samples;
  const deltas = profile.timeDeltas;
  if (samples && deltas && samples.length === deltas.length && samples.length > 0) {
    // timeDeltas[i] is the time from sample i-1 to sample i: it belongs to what ran before sample i was taken.
    for (let i = 1; i < samples.length; i++) selfById.set(samples[i - 1]!, (selfById.get(samples[i - 1]!) ?? 0) + deltas[i]!);
  } else {
    const hits = profile.nodes.reduce((sum, node) => sum + (node.hitCount ?? 0), 0);
    const interval = hits > 0 ? (profile.endTime - profile.startTime) / hits : 0;
    for (const node of profile.nodes) selfById.set(node.id, (node.hitCount ?? 0) * interval);
  }
  const byFrame = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfById) {
    const node = byId.get(id);
    if (!node) continue;
    const name = frameName(node.callFrame);
    totalUs += us;
    if (name === IDLE_FRAME) idleUs += us;
    byFrame.set(name, (byFrame.get(name) ?? 0) + us);
  }
  const frames = [...byFrame].map(([frame, selfUs]) => ({ frame, selfUs })).sort((a, b) => b.selfUs - a.selfUs);
  return { frames, totalUs, busyUs: totalUs - idleUs };
}

/** A text table of the `top` frames (idle left out); `calls` adds ns per call; `baseline` adds the change against it. */
export function formatSummary(summary: ProfileSummary, options: { top?: number; calls?: number; baseline?: { summary: ProfileSummary; calls?: number } } = {}): string {
  const top = options.top ?? 20;
  const perCall = (us: number, calls: number | undefined): string => (calls ? ((us * 1000) / calls).toFixed(0) : '');
  const baselineFrames = new Map(options.baseline?.summary.frames.map((f) => [f.frame, f.selfUs]));
  const lines: string[] = [];
  const header = ['% busy', options.calls ? 'ns/call' : '', options.baseline?.calls && options.calls ? 'Δ ns/call' : '', 'frame'].filter((c) => c !== '');
  lines.push(header.join('  '));
  for (const { frame, selfUs } of summary.frames.filter((f) => f.frame !== IDLE_FRAME).slice(0, top)) {
    const cells = [((selfUs / summary.busyUs) * 100).toFixed(1).padStart(6)];
    if (options.calls) cells.push(perCall(selfUs, options.calls).padStart(7));
    if (options.baseline?.calls && options.calls) {
      const before = ((baselineFrames.get(frame) ?? 0) * 1000) / options.baseline.calls;
      const delta = (selfUs * 1000) / options.calls - before;
      cells.push(`${delta >= 0 ? '+' : ''}${delta.toFixed(0)}`.padStart(9));
    }
    cells.push(frame);
    lines.push(cells.join('  '));
  }
  const busy = `busy ${(summary.busyUs / 1000).toFixed(0)} ms of ${(summary.totalUs / 1000).toFixed(0)} ms sampled`;
  lines.push(options.calls ? `${busy}; ${perCall(summary.busyUs, options.calls)} ns busy per call over ${options.calls} calls` : busy);
  return lines.join('\n');
}

/** A file, or every .cpuprofile in a directory (several runs of one variant, summed to even out noise). */
function profilesIn(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  const files = readdirSync(path)
    .filter((name) => name.endsWith('.cpuprofile'))
    .map((name) => join(path, name));
  if (files.length === 0) throw new Error(`no .cpuprofile in ${path}`);
  return files;
}

/** The sum of several profiles' summaries. */
export function mergeSummaries(summaries: readonly ProfileSummary[]): ProfileSummary {
  if (summaries.length === 1) return summaries[0]!;
  const byFrame = new Map<string, number>();
  let totalUs = 0;
  let busyUs = 0;
  for (const summary of summaries) {
    totalUs += summary.totalUs;
    busyUs += summary.busyUs;
    for (const { frame, selfUs } of summary.frames) byFrame.set(frame, (byFrame.get(frame) ?? 0) + selfUs);
  }
  const frames = [...byFrame].map(([frame, selfUs]) => ({ frame, selfUs })).sort((a, b) => b.selfUs - a.selfUs);
  return { frames, totalUs, busyUs };
}

function main(argv: string[]): void {
  const files: string[] = [];
  let top = 20;
  let calls: number[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--top') top = Number(argv[++i]);
    else if (arg === '--calls') calls = String(argv[++i]).split(',').map(Number);
    else files.push(arg);
  }
  if (files.length === 0 || files.length > 2 || !Number.isInteger(top) || calls.some((c) => !(c > 0))) {
    process.stderr.write('usage: profile-summary <file.cpuprofile|dir> [<second.cpuprofile|dir>] [--top N] [--calls N[,N]]\n');
    process.exitCode = 2;
    return;
  }
  const summaries = files.map((file) => mergeSummaries(profilesIn(file).map((path) => summarizeProfile(JSON.parse(readFileSync(path, 'utf8')) as CpuProfile))));
  files.forEach((file, i) => {
    process.stdout.write(`${basename(file)}\n`);
    const baseline = i > 0 ? { summary: summaries[0]!, ...(calls[0] !== undefined ? { calls: calls[0] } : {}) } : undefined;
    process.stdout.write(`${formatSummary(summaries[i]!, { top, ...(calls[i] !== undefined ? { calls: calls[i] } : {}), ...(baseline ? { baseline } : {}) })}\n\n`);
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main(process.argv.slice(2));
