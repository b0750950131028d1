/**
 * Services and protobuf types the gRPC tests call: a typed Greeter (package `helloworld`, as in gRPC's examples), an
 * untyped Calc (JSON or raw bytes) and a Slow method that honours its deadline.
 */
import protobuf from 'protobufjs';
import type { CallContext } from '../../server/context.js';
import { method, service } from '../../server/decorators.js';

export const helloRoot = protobuf.parse(`
  syntax = "proto3";
  package helloworld;
  message HelloRequest { string name = 1; Options options = 2; }
  message Options { bool shout = 1; }
  message HelloReply { string message = 1; }
`).root;
export const HelloRequest = helloRoot.lookupType('helloworld.HelloRequest');
export const HelloReply = helloRoot.lookupType('helloworld.HelloReply');

/** An error carrying a gRPC status code, as grpc-js handlers produce them. */
export class NotFound extends Error {
  readonly code = 5;
}

@service('Greeter')
export class Greeter {
  /** Aborted calls seen by Slow (the signal fired). */
  static aborted = 0;

  @method({ requestType: HelloRequest, replyType: HelloReply })
  sayHello(args: { name: string; options?: { shout?: boolean } }, ctx: CallContext): { message: string } {
    if (args.name === 'nobody') throw new NotFound('no such person: nobody');
    if (args.name === 'boom') throw new Error('the greeter broke');
    const trace = ctx.metadata['x-trace'];
    if (trace !== undefined) ctx.responseMetadata['x-trace-echo'] = trace;
    const message = `Hello ${args.name}`;
    return { message: args.options?.shout ? message.toUpperCase() : message };
  }

  @method({ requestType: HelloRequest, replyType: HelloReply })
  async slow(_args: unknown, ctx: CallContext): Promise<{ message: string }> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 5000);
      ctx.signal.addEventListener('abort', () => {
        Greeter.aborted++;
        clearTimeout(timer);
        resolve();
      });
    });
    return { message: 'late' };
  }
}

@service('Calc')
export class Calc {
  @method()
  add(args: { A: number; B: number }): { C: number } {
    return { C: args.A + args.B };
  }

  @method()
  echo(args: unknown): unknown {
    return args;
  }
}
