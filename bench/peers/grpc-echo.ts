/** gRPC unary echo of raw bytes with @grpc/grpc-js: the stack Node users pick today. Server runs as its own process. */
import * as grpc from '@grpc/grpc-js';

const identity = (b: Buffer): Buffer => b;

export const echoService: grpc.ServiceDefinition = {
  echo: {
    path: '/bench.Echo/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

export const EchoClient = grpc.makeGenericClientConstructor(echoService, 'Echo');

export type EchoClientInstance = InstanceType<typeof EchoClient> & {
  echo(request: Buffer, callback: (error: grpc.ServiceError | null, reply?: Buffer) => void): void;
};

export function createClient(port: number): EchoClientInstance {
  return new EchoClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
    // Distinct channels per client, so "4 channels" is really four connections.
    'grpc.use_local_subchannel_pool': 1,
  }) as EchoClientInstance;
}

/** Run as a process: serve and print the port. */
export function serve(): void {
  const server = new grpc.Server();
  server.addService(echoService, {
    echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => callback(null, call.request),
  });
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) => {
    if (error) throw error;
    process.stdout.write(`listening tcp@127.0.0.1:${port}\n`);
  });
  process.on('SIGTERM', () => server.forceShutdown());
}
