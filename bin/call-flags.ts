/** Flags shared by the commands that call a service (call, bench): serialization, metadata, auth, compression, deadline. */
import { CompressType, ConfigError } from '../index.js';
import type { Flags } from './command.js';
import { metaOption, numberOption } from './options.js';

export const callFlags: Flags = {
  serialize: { type: 'string', value: 'TYPE', help: 'json|msgpack|raw|protobuf or a number (default json; raw sends the argument as bytes)' },
  meta: { type: 'string', multiple: true, value: 'KEY=VALUE', help: 'request metadata' },
  auth: { type: 'string', value: 'TOKEN', help: 'auth token (sent as __AUTH, checked by the server\'s auth function)' },
  compress: { type: 'string', value: 'none|gzip', help: 'compress the request payload (default none)' },
  timeout: { type: 'string', value: 'ms', help: 'deadline of the whole call, discovery and dial included (default 10000; 0 = none)' },
};

export interface CallSettings {
  timeoutMs: number;
  compressType: number;
  metadata?: Record<string, string>;
  auth?: string;
}

export function callSettings(values: Record<string, unknown>, defaultTimeoutMs = 10_000): CallSettings {
  const compress = typeof values.compress === 'string' ? values.compress : 'none';
  const compressType = (CompressType as Record<string, number>)[compress.charAt(0).toUpperCase() + compress.slice(1)];
  if (compressType === undefined) throw new ConfigError(`--compress takes none or gzip, got "${compress}"`);
  const settings: CallSettings = { timeoutMs: numberOption(values.timeout, defaultTimeoutMs, 'timeout'), compressType };
  const metadata = metaOption(values.meta);
  if (metadata) settings.metadata = metadata;
  if (typeof values.auth === 'string') {
    if (values.auth === '') throw new ConfigError('--auth takes a non-empty token');
    settings.auth = values.auth;
  }
  return settings;
}
