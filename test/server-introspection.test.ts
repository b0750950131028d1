/** The builtin introspection service (`__rpcx_introspection.Services`) that `rpcx-ts list` calls. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Client, Server, ServiceNotFoundError, silentLogger } from '../index.js';
import { Arith, Echo } from '../examples/services/index.js';
import { INTROSPECTION_METHOD, INTROSPECTION_SERVICE, type IntrospectionReply } from '../server/introspection.js';
import { arithProto } from './helpers/proto.js';

describe('introspection service', () => {
  it("answers services, metadata and methods (with protobuf types), in the request's serialize type", async () => {
    const server = new Server({ logger: silentLogger });
    server.register(Arith, { metadata: 'weight=3' });
    server.register(Echo);
    server.registerFunction('Proto', 'Mul', () => ({ C: 0 }), { requestType: arithProto.lookupType('ProtoArgs'), replyType: arithProto.lookupType('ProtoReply') });
    const listener = await server.serve('tcp@127.0.0.1:0');
    const client = await Client.connect(`tcp@${listener.address}`, { logger: silentLogger });
    try {
      for (const serializeType of [1, 3]) {
        const reply = await client.call<IntrospectionReply>(INTROSPECTION_SERVICE, INTROSPECTION_METHOD, null, { serializeType });
        assert.deepEqual(reply, {
          services: [
            { name: 'Arith', metadata: 'weight=3', methods: [{ name: 'Add' }, { name: 'Mul' }] },
            { name: 'Echo', metadata: '', methods: [{ name: 'Echo' }] },
            { name: 'Proto', metadata: '', methods: [{ name: 'Mul', requestType: 'ProtoArgs', replyType: 'ProtoReply' }] },
          ],
        });
      }
      // Not one of the server's services: not listed, so not advertised to registries or shown on the pages.
      assert.deepEqual(server.registry.services().map((s) => s.name), ['Arith', 'Echo', 'Proto']);
    } finally {
      await client.close();
      await server.close();
    }
  });

  it('is absent with introspection: false, answering as a Go rpcx server does', async () => {
    const server = new Server({ logger: silentLogger, introspection: false });
    server.register(Echo);
    const listener = await server.serve('tcp@127.0.0.1:0');
    const client = await Client.connect(`tcp@${listener.address}`, { logger: silentLogger });
    try {
      await assert.rejects(client.call(INTROSPECTION_SERVICE, INTROSPECTION_METHOD, null), (error: unknown) => error instanceof ServiceNotFoundError && error.message === `rpcx: can't find service ${INTROSPECTION_SERVICE}`);
    } finally {
      await client.close();
      await server.close();
    }
  });

  it("is protected by the server's auth like any service", async () => {
    const server = new Server({ logger: silentLogger, auth: (token) => token === 'ok' });
    server.register(Echo);
    const listener = await server.serve('tcp@127.0.0.1:0');
    const denied = await Client.connect(`tcp@${listener.address}`, { logger: silentLogger });
    const allowed = await Client.connect(`tcp@${listener.address}`, { logger: silentLogger, auth: 'ok' });
    try {
      await assert.rejects(denied.call(INTROSPECTION_SERVICE, INTROSPECTION_METHOD, null), /authentication failed/);
      const reply = await allowed.call<IntrospectionReply>(INTROSPECTION_SERVICE, INTROSPECTION_METHOD, null);
      assert.equal(reply.services[0]!.name, 'Echo');
    } finally {
      await denied.close();
      await allowed.close();
      await server.close();
    }
  });
});
