"""A second, non-JavaScript gRPC client for the tests: Python's grpcio (Debian's python3-grpcio) against an rpcx-ts
server. No generated code: the few protobuf messages involved are encoded by hand below. Prints one JSON object with
what each call returned, for test/grpc-python.test.ts to check.

usage: grpc_client.py <host:port> [<ca.pem>]
       grpc_client.py reflect <host:port>   what a generic tool (grpcurl) does: list the services by server
                                            reflection, load their file descriptors into a protobuf descriptor pool
                                            (python3-protobuf), build the request type from it and call the method
"""
import json
import sys

import grpc


def varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def string_field(number, text):
    data = text.encode("utf-8")
    return varint(number << 3 | 2) + varint(len(data)) + data


def read_fields(data):
    """Field number -> value (the last one) of a message holding only length-delimited and varint fields."""
    return {number: values[-1] for number, values in read_repeated(data).items()}


def read_varint(data, i):
    shift = result = 0
    while True:
        byte = data[i]
        i += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return result, i


def read_repeated(data):
    """Field number -> list of raw values (length-delimited fields as bytes, varints as ints)."""
    fields, i = {}, 0
    while i < len(data):
        key, i = read_varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = read_varint(data, i)
        elif wire == 2:
            length, i = read_varint(data, i)
            value = data[i:i + length]
            i += length
        else:
            raise ValueError("unexpected wire type %d" % wire)
        fields.setdefault(number, []).append(value)
    return fields


def reflect(target):
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    channel = grpc.insecure_channel(target)
    info = channel.stream_stream("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                                 request_serializer=identity, response_deserializer=identity)
    # ServerReflectionRequest: list_services = 7, file_containing_symbol = 4.
    replies = list(info(iter([string_field(7, "*"), string_field(4, "helloworld.Greeter")]), timeout=10))
    listed = read_repeated(read_repeated(replies[0])[6][0]).get(1, [])
    services = [read_fields(s)[1].decode("utf-8") for s in listed]
    # ServerReflectionResponse.file_descriptor_response = 4, FileDescriptorResponse.file_descriptor_proto = 1 (repeated).
    files = [descriptor_pb2.FileDescriptorProto.FromString(b) for b in read_repeated(read_repeated(replies[1])[4][0])[1]]
    pool = descriptor_pool.DescriptorPool()
    added = set()
    # Add dependencies before the files that need them; the pool refuses a file whose imports are missing.
    while len(added) < len(files):
        progress = False
        for f in files:
            if f.name not in added and all(d in added for d in f.dependency):
                pool.Add(f)
                added.add(f.name)
                progress = True
        if not progress:
            raise ValueError("unresolvable dependencies: %s" % [f.dependency for f in files])
    service = pool.FindServiceByName("helloworld.Greeter")
    method = service.FindMethodByName("SayHello")
    factory = message_factory.MessageFactory(pool)
    request_class = factory.GetPrototype(method.input_type)
    reply_class = factory.GetPrototype(method.output_type)
    request = request_class(name="reflected")
    getattr(request, "options").shout = True
    call = channel.unary_unary("/%s/%s" % (service.full_name, method.name),
                               request_serializer=lambda m: m.SerializeToString(), response_deserializer=reply_class.FromString)
    reply = call(request, timeout=10)
    channel.close()
    print(json.dumps({
        "services": sorted(services),
        "method": [method.full_name, method.input_type.full_name, method.output_type.full_name],
        "reply": reply.message,
    }))


def identity(b):
    return b


def main():
    if sys.argv[1] == "reflect":
        return reflect(sys.argv[2])
    target = sys.argv[1]
    if len(sys.argv) > 2:
        with open(sys.argv[2], "rb") as f:
            channel = grpc.secure_channel(target, grpc.ssl_channel_credentials(root_certificates=f.read()))
    else:
        channel = grpc.insecure_channel(target)
    say_hello = channel.unary_unary("/helloworld.Greeter/SayHello", request_serializer=identity, response_deserializer=identity)
    slow = channel.unary_unary("/helloworld.Greeter/Slow", request_serializer=identity, response_deserializer=identity)
    echo = channel.unary_unary("/Calc/Echo", request_serializer=identity, response_deserializer=identity)
    check = channel.unary_unary("/grpc.health.v1.Health/Check", request_serializer=identity, response_deserializer=identity)
    result = {}

    reply, call = say_hello.with_call(string_field(1, "python"), metadata=(("x-trace", "py-7"),), timeout=10)
    result["hello"] = read_fields(reply)[1].decode("utf-8")
    result["trace_echo"] = dict(call.initial_metadata()).get("x-trace-echo")

    result["echo"] = list(echo(bytes([0, 1, 2, 255]), timeout=10))

    try:
        say_hello(string_field(1, "nobody"), timeout=10)
        result["not_found"] = None
    except grpc.RpcError as error:
        result["not_found"] = [error.code().name, error.details()]

    try:
        slow(string_field(1, "x"), timeout=0.2)
        result["deadline"] = None
    except grpc.RpcError as error:
        result["deadline"] = error.code().name

    try:
        say_hello(string_field(1, "x"), metadata=(("authorization", "Bearer wrong"),), timeout=10)
        result["unauthenticated"] = None
    except grpc.RpcError as error:
        result["unauthenticated"] = error.code().name

    result["health"] = read_fields(check(string_field(1, ""), timeout=10)).get(1, 0)
    channel.close()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
