/** `rpcx-ts call <endpoint> <Service.Method> '<json>'`: one call, the reply printed as JSON. */
import { SerializeType } from '../../index.js';
import { callFlags, callSettings } from '../call-flags.js';
import type { Command } from '../command.js';
import { endpointHelp, xclientFlags, xclientFor } from '../discovery-options.js';
import { clientNetworkFlags } from '../network-options.js';
import { jsonOption, serializeOption, serviceMethod } from '../options.js';

export const call: Command = {
  name: 'call',
  summary: 'Calls one method and prints the reply as JSON.',
  args: '<endpoint> <Service.Method> [json]',
  positionals: { min: 2, max: 3 },
  flags: { ...callFlags, ...clientNetworkFlags, ...xclientFlags },
  details: `${endpointHelp}
The argument is JSON (null when left out); with --serialize raw it is sent as its UTF-8 bytes.
Example: rpcx-ts call tcp@127.0.0.1:8972 Arith.Mul '{"A":10,"B":20}'`,

  async run({ values, positionals }) {
    const [endpoint, target, argsText] = positionals as [string, string, string | undefined];
    const { service, method } = serviceMethod(target);
    const serializeType = serializeOption(values.serialize, 'json');
    const settings = callSettings(values);
    let args: unknown;
    if (serializeType === SerializeType.None) args = new TextEncoder().encode(argsText ?? '');
    else args = argsText === undefined || argsText === '' ? null : jsonOption(argsText, 'the argument');
    const deadline = settings.timeoutMs > 0 ? Date.now() + settings.timeoutMs : Infinity;
    const { xclient, discovery } = await xclientFor(
      endpoint,
      service,
      values,
      { connectTimeoutMs: Math.min(settings.timeoutMs || 10_000, 10_000), ...(settings.auth ? { auth: settings.auth } : {}) },
      deadline,
    );
    try {
      const timeoutMs = deadline === Infinity ? 0 : Math.max(1, deadline - Date.now());
      const reply = await xclient.call(method, args, {
        serializeType,
        timeoutMs,
        compressType: settings.compressType,
        ...(settings.metadata ? { metadata: settings.metadata } : {}),
      });
      process.stdout.write(JSON.stringify(toJson(reply)) + '\n');
      await xclient.close();
      await discovery.close();
      return 0;
    } catch (error) {
      // No graceful close after a failure: a server that did not answer would hold the exit for a second more.
      void xclient.close();
      void discovery.close();
      throw error;
    }
  },
};

/** Bytes print as their UTF-8 text, which is what raw replies almost always are. */
function toJson(value: unknown): unknown {
  if (value instanceof Uint8Array) return new TextDecoder().decode(value);
  return value;
}
