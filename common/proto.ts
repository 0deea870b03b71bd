// Loads the CA's gRPC contract (proto/tether/ca/v1/ca.proto) for servers and clients alike.
import path from 'node:path';
import { loadPackageDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import type { ProtoGrpcType } from '../proto/gen/ca.js';
import { packageRoot } from './package-root.js';

let loaded: ProtoGrpcType | null = null;

/** The generated, typed package definition of tether.ca.v1. */
export function caProto(): ProtoGrpcType {
  if (!loaded) {
    const definition = loadSync(path.join(packageRoot(), 'proto/tether/ca/v1/ca.proto'), {
      keepCase: false,
      longs: String,
      enums: String,
      defaults: true,
      oneofs: true,
    });
    loaded = loadPackageDefinition(definition) as unknown as ProtoGrpcType;
  }
  return loaded;
}
