/**
 * The messages of gRPC's own services that this server answers: health checking (grpc.health.v1) and server
 * reflection (grpc.reflection.v1 and v1alpha, the same messages under two packages). Written from the published
 * .proto definitions as protobufjs JSON.
 */
import protobuf from 'protobufjs';

const healthMessages = {
  HealthCheckRequest: { fields: { service: { type: 'string', id: 1 } } },
  HealthCheckResponse: {
    fields: { status: { type: 'ServingStatus', id: 1 } },
    nested: { ServingStatus: { values: { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 } } },
  },
  Health: {
    methods: {
      Check: { requestType: 'HealthCheckRequest', responseType: 'HealthCheckResponse' },
      Watch: { requestType: 'HealthCheckRequest', responseType: 'HealthCheckResponse', responseStream: true },
    },
  },
};

const reflectionMessages = {
  ServerReflectionRequest: {
    oneofs: { messageRequest: { oneof: ['fileByFilename', 'fileContainingSymbol', 'fileContainingExtension', 'allExtensionNumbersOfType', 'listServices'] } },
    fields: {
      host: { type: 'string', id: 1 },
      fileByFilename: { type: 'string', id: 3 },
      fileContainingSymbol: { type: 'string', id: 4 },
      fileContainingExtension: { type: 'ExtensionRequest', id: 5 },
      allExtensionNumbersOfType: { type: 'string', id: 6 },
      listServices: { type: 'string', id: 7 },
    },
  },
  ExtensionRequest: { fields: { containingType: { type: 'string', id: 1 }, extensionNumber: { type: 'int32', id: 2 } } },
  ServerReflectionResponse: {
    oneofs: { messageResponse: { oneof: ['fileDescriptorResponse', 'allExtensionNumbersResponse', 'listServicesResponse', 'errorResponse'] } },
    fields: {
      validHost: { type: 'string', id: 1 },
      originalRequest: { type: 'ServerReflectionRequest', id: 2 },
      fileDescriptorResponse: { type: 'FileDescriptorResponse', id: 4 },
      allExtensionNumbersResponse: { type: 'ExtensionNumberResponse', id: 5 },
      listServicesResponse: { type: 'ListServiceResponse', id: 6 },
      errorResponse: { type: 'ErrorResponse', id: 7 },
    },
  },
  FileDescriptorResponse: { fields: { fileDescriptorProto: { rule: 'repeated', type: 'bytes', id: 1 } } },
  ExtensionNumberResponse: { fields: { baseTypeName: { type: 'string', id: 1 }, extensionNumber: { rule: 'repeated', type: 'int32', id: 2 } } },
  ListServiceResponse: { fields: { service: { rule: 'repeated', type: 'ServiceResponse', id: 1 } } },
  ServiceResponse: { fields: { name: { type: 'string', id: 1 } } },
  ErrorResponse: { fields: { errorCode: { type: 'int32', id: 1 }, errorMessage: { type: 'string', id: 2 } } },
  ServerReflection: {
    methods: {
      ServerReflectionInfo: { requestType: 'ServerReflectionRequest', requestStream: true, responseType: 'ServerReflectionResponse', responseStream: true },
    },
  },
};

/** One root holding both services' packages, as reflection describes them. */
export const builtinRoot = protobuf.Root.fromJSON({
  nested: {
    grpc: {
      nested: {
        health: { nested: { v1: { nested: healthMessages } } },
        reflection: { nested: { v1: { nested: reflectionMessages }, v1alpha: { nested: reflectionMessages } } },
      },
    },
  },
});

export const HEALTH_SERVICE = 'grpc.health.v1.Health';
export const REFLECTION_SERVICES = ['grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection'];

export const HealthCheckRequest = builtinRoot.lookupType('grpc.health.v1.HealthCheckRequest');
export const HealthCheckResponse = builtinRoot.lookupType('grpc.health.v1.HealthCheckResponse');
export const ServerReflectionRequest = builtinRoot.lookupType('grpc.reflection.v1.ServerReflectionRequest');
export const ServerReflectionResponse = builtinRoot.lookupType('grpc.reflection.v1.ServerReflectionResponse');
