/** `rpcx-ts list <endpoint>`: the services and methods a server offers, from its builtin introspection service. */
import { ServiceNotFoundError, type XClient } from '../../index.js';
import { INTROSPECTION_METHOD, INTROSPECTION_SERVICE, type IntrospectionReply } from '../../server/introspection.js';
import { callFlags, callSettings } from '../call-flags.js';
import type { Command } from '../command.js';
import { endpointHelp, xclientFlags, xclientFor } from '../discovery-options.js';
import { ExitCode } from '../exit-codes.js';
import { clientNetworkFlags } from '../network-options.js';

const { serialize: _s, compress: _c, ...listCallFlags } = callFlags;

export const list: Command = {
  name: 'list',
  summary: 'Lists the services, methods and metadata a server offers (rpcx-ts servers; Go rpcx servers do not offer this).',
  args: '<endpoint>',
  positionals: { min: 1, max: 1 },
  flags: { ...listCallFlags, json: { type: 'boolean', help: 'print the answer as JSON' }, ...clientNetworkFlags, ...xclientFlags },
  details: `${endpointHelp}
With several servers (a list or a registry) each one is asked. The server answers the builtin service
${INTROSPECTION_SERVICE}.${INTROSPECTION_METHOD}; a server without it (a Go rpcx server, or Server({ introspection: false }))
gets a message saying so and exit code 4.`,

  async run({ values, positionals }) {
    const [endpoint] = positionals as [string];
    const settings = callSettings(values);
    const deadline = settings.timeoutMs > 0 ? Date.now() + settings.timeoutMs : Infinity;
    const { xclient, discovery } = await xclientFor(endpoint, INTROSPECTION_SERVICE, values, settings.auth ? { auth: settings.auth } : {}, deadline);
    try {
      const servers = [...xclient.servers.keys()];
      if (servers.length <= 1) {
        const reply = await ask(xclient, endpoint, settings, deadline);
        process.stdout.write(values.json ? JSON.stringify(reply) + '\n' : format(reply));
        return ExitCode.Ok;
      }
      const results = await xclient.inform<IntrospectionReply>(INTROSPECTION_METHOD, null, callOptions(settings, deadline));
      let failed = 0;
      for (const result of results) {
        if (result.error) {
          failed++;
          process.stderr.write(`${result.server}: ${explain(result.error, result.server).message}\n`);
        } else process.stdout.write(values.json ? JSON.stringify({ server: result.server, ...result.value }) + '\n' : `server ${result.server}\n${format(result.value)}`);
      }
      return failed === results.length ? ExitCode.Unreachable : ExitCode.Ok;
    } finally {
      await xclient.close();
      await discovery.close();
    }
  },
};

function callOptions(settings: ReturnType<typeof callSettings>, deadline: number): { timeoutMs: number; metadata?: Record<string, string> } {
  return { timeoutMs: deadline === Infinity ? 0 : Math.max(1, deadline - Date.now()), ...(settings.metadata ? { metadata: settings.metadata } : {}) };
}

async function ask(xclient: XClient, endpoint: string, settings: ReturnType<typeof callSettings>, deadline: number): Promise<IntrospectionReply> {
  try {
    return await xclient.call<IntrospectionReply>(INTROSPECTION_METHOD, null, callOptions(settings, deadline));
  } catch (error) {
    throw explain(error, endpoint);
  }
}

function explain(error: unknown, server: string): Error {
  if (error instanceof ServiceNotFoundError) {
    return new ServiceNotFoundError(`${server} does not offer introspection (it is not an rpcx-ts server, or introspection is off): ${error.message}`);
  }
  return error as Error;
}

function format(reply: IntrospectionReply): string {
  const lines: string[] = [];
  for (const service of reply.services) {
    lines.push(`${service.name}${service.metadata ? `  [${service.metadata}]` : ''}`);
    for (const method of service.methods) {
      const types = method.requestType || method.replyType ? `  (${method.requestType ?? '?'}) → ${method.replyType ?? '?'}` : '';
      lines.push(`  ${service.name}.${method.name}${types}`);
    }
  }
  return lines.join('\n') + (lines.length > 0 ? '\n' : '');
}
