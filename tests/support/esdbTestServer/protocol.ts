/**
 * The gRPC service definitions and protobuf messages of EventStoreDB, taken from the code that
 * `@eventstore/db-client` itself ships in `generated/` (protoc output of the server's .proto files). Using the
 * client's own definitions means the test server speaks exactly the wire format the client was built against.
 * They are CommonJS modules whose exports the ESM loader cannot see statically, hence `createRequire`.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const generated = (name: string) => require(`@eventstore/db-client/generated/${name}`);
// Resolve google-protobuf from the generated code's own location so `Any` is the same class it uses.
const fromGenerated = createRequire(require.resolve('@eventstore/db-client/generated/status_pb.js'));

export const streamsPb: typeof import('@eventstore/db-client/generated/streams_pb.js') =
  generated('streams_pb.js');
export const streamsGrpc: typeof import('@eventstore/db-client/generated/streams_grpc_pb.js') =
  generated('streams_grpc_pb.js');
export const sharedPb: typeof import('@eventstore/db-client/generated/shared_pb.js') =
  generated('shared_pb.js');
export const statusPb: typeof import('@eventstore/db-client/generated/status_pb.js') =
  generated('status_pb.js');
export const codePb: typeof import('@eventstore/db-client/generated/code_pb.js') = generated('code_pb.js');
export const serverFeaturesPb: typeof import('@eventstore/db-client/generated/serverfeatures_pb.js') =
  generated('serverfeatures_pb.js');
export const serverFeaturesGrpc: typeof import('@eventstore/db-client/generated/serverfeatures_grpc_pb.js') =
  generated('serverfeatures_grpc_pb.js');
export const gossipPb: typeof import('@eventstore/db-client/generated/gossip_pb.js') =
  generated('gossip_pb.js');
export const gossipGrpc: typeof import('@eventstore/db-client/generated/gossip_grpc_pb.js') =
  generated('gossip_grpc_pb.js');

/** google.protobuf.Any, used to carry typed error details in BatchAppend replies. */
export interface AnyMessage {
  pack(serialized: Uint8Array, name: string): void;
}
export const AnyCtor: new () => AnyMessage = fromGenerated('google-protobuf/google/protobuf/any_pb.js').Any;
/** google.protobuf.Empty (BatchAppend uses the well-known type, the other services their own Empty). */
export const GoogleEmpty: new () => unknown = fromGenerated(
  'google-protobuf/google/protobuf/empty_pb.js',
).Empty;

/** EventStoreDB's UUID message in either of its two encodings, as lower-case text. */
export function uuidText(uuid: InstanceType<typeof sharedPb.UUID> | undefined): string | undefined {
  if (!uuid) return undefined;
  if (uuid.hasStructured()) {
    const s = uuid.getStructured()!;
    const buf = Buffer.alloc(16);
    buf.writeBigUInt64BE(BigInt.asUintN(64, BigInt(s.getMostSignificantBits())), 0);
    buf.writeBigUInt64BE(BigInt.asUintN(64, BigInt(s.getLeastSignificantBits())), 8);
    const hex = buf.toString('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }
  return uuid.getString().toLowerCase();
}

export function uuidMessage(text: string): InstanceType<typeof sharedPb.UUID> {
  const uuid = new sharedPb.UUID();
  uuid.setString(text);
  return uuid;
}

export function streamIdentifier(name: string): InstanceType<typeof sharedPb.StreamIdentifier> {
  const id = new sharedPb.StreamIdentifier();
  id.setStreamName(Buffer.from(name, 'utf8'));
  return id;
}

export function streamName(id: InstanceType<typeof sharedPb.StreamIdentifier> | undefined): string {
  if (!id) return '';
  return Buffer.from(id.getStreamName_asU8()).toString('utf8');
}
