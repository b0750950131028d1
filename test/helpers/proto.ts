/** A protobuf schema for the Arith arguments, for the protobuf serialize type tests. */
import protobuf from 'protobufjs';

export const arithProto = protobuf.parse(`
  syntax = "proto3";
  message ProtoArgs { int32 A = 1; int32 B = 2; }
  message ProtoReply { int32 C = 1; }
`).root;
