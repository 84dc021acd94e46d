// Typed Connect clients for the generated services.
//
// Why not Connect's own Client<typeof Service> type: the SDK pins
// @bufbuild/protobuf 2.12.0 (the version of protoc-gen-es that generated
// src/gen), while npm resolved @connectrpc/connect's peer dependency to a
// newer copy at the workspace root, so the two packages' descriptor types
// are distinct to TypeScript even though they are the same at runtime
// (Connect only walks the descriptors and calls toBinary/fromBinary).
// These few lines derive the client's method signatures from the
// generated service with the SDK's own protobuf types, and stay correct
// once the workspace resolves a single copy.

import type { DescMessage, MessageInitShape, MessageShape } from '@bufbuild/protobuf';
import type { GenService, GenServiceMethods } from '@bufbuild/protobuf/codegenv2';
import { createClient, type CallOptions, type Transport } from '@connectrpc/connect';

type MethodShape = { methodKind: string; input: DescMessage; output: DescMessage };

/** The client of a generated service: unary methods return promises, server streams async iterables. */
export type ServiceClient<S> =
  S extends GenService<infer M>
    ? {
        [K in keyof M]: M[K] extends MethodShape
          ? M[K]['methodKind'] extends 'server_streaming'
            ? (request: MessageInitShape<M[K]['input']>, options?: CallOptions) => AsyncIterable<MessageShape<M[K]['output']>>
            : (request: MessageInitShape<M[K]['input']>, options?: CallOptions) => Promise<MessageShape<M[K]['output']>>
          : never;
      }
    : never;

/** A Connect client of a generated service over transport. */
export function serviceClient<S extends GenService<GenServiceMethods>>(service: S, transport: Transport): ServiceClient<S> {
  return createClient(service as never, transport) as unknown as ServiceClient<S>;
}
