/**
 * The file format of recorded calls (ServerOptions.record, `rpcx-ts replay`): JSON lines, one call a line, so a file
 * can be read while it is written, cut anywhere at a line end, grepped and edited by hand.
 *
 *   {"t":1764500000000,"service":"Arith","method":"Mul","protocol":"rpcx","serializeType":1,"compressType":0,
 *    "metadata":{"k":"v"},"payload":"<base64 of the payload as it came on the wire>","durationMs":0.21,"status":"ok"}
 *
 * `t` is when the request arrived (ms since the epoch), `durationMs` until its reply was written (0 for oneway),
 * `status` "ok" or "error" (with `error`). The `__AUTH` token is never written.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { ConfigError } from '../../errors.js';
import type { Metadata } from '../../protocol/message.js';

export interface CallRecord {
  t: number;
  service: string;
  method: string;
  protocol: string;
  serializeType: number;
  compressType: number;
  oneway?: boolean;
  metadata: Metadata;
  /** Base64 of the request payload as it was on the wire (compressed when compressType says so). */
  payload: string;
  durationMs: number;
  status: 'ok' | 'error';
  error?: string;
}

/** Reads a record file; a line that is not a record fails with its line number (a cut last line is skipped). */
export async function* readRecords(path: string): AsyncGenerator<CallRecord> {
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  let number = 0;
  let pendingError: ConfigError | undefined;
  for await (const line of lines) {
    number++;
    // An unparsable line is only an error if another line follows it (the last one may be cut by a crash).
    if (pendingError) throw pendingError;
    if (line.trim() === '') continue;
    let record: CallRecord;
    try {
      record = JSON.parse(line) as CallRecord;
    } catch {
      pendingError = new ConfigError(`${path}:${number}: not a call record`);
      continue;
    }
    if (typeof record.service !== 'string' || typeof record.method !== 'string' || typeof record.payload !== 'string' || typeof record.serializeType !== 'number') {
      throw new ConfigError(`${path}:${number}: a call record needs service, method, serializeType and payload`);
    }
    yield record;
  }
}
