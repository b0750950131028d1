"""A second, non-JavaScript gRPC client for the tests: Python's grpcio (Debian's python3-grpcio) against an rpcx-ts
server. No generated code: the few protobuf messages involved are encoded by hand below. Prints one JSON object with
what each call returned, for test/grpc-python.test.ts to check.

usage: grpc_client.py <host:port> [<ca.pem>]
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
    """Field number -> value of a message holding only length-delimited and varint fields."""
    fields, i = {}, 0
    while i < len(data):
        key, i = read_varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            fields[number], i = read_varint(data, i)
        elif wire == 2:
            length, i = read_varint(data, i)
            fields[number] = data[i:i + length]
            i += length
        else:
            raise ValueError("unexpected wire type %d" % wire)
    return fields


def read_varint(data, i):
    shift = result = 0
    while True:
        byte = data[i]
        i += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return result, i


def identity(b):
    return b


def main():
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
