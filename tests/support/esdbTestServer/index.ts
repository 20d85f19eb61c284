/**
 * A wire-level EventStoreDB test server: an in-process gRPC server (@grpc/grpc-js) built from the service
 * definitions `@eventstore/db-client` ships, so the real client connects to it over a real socket. It
 * implements what the `esdb` adapter uses (Streams.Read / Append / BatchAppend), ServerFeatures (so the
 * client picks BatchAppend, as it does against a 21.10+ server) and Gossip.Read (so a multi-node connection
 * string resolves a leader). Everything else answers UNIMPLEMENTED.
 */
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import {
  gossipGrpc,
  gossipPb,
  serverFeaturesGrpc,
  serverFeaturesPb,
  streamsGrpc,
  uuidMessage,
} from './protocol.js';
import {
  type CallCounts,
  createStreamsService,
  type StreamsServiceOptions,
  serializeReadResp,
} from './streamsService.js';
import { type ProposedEvent, TransactionLog } from './transactionLog.js';

export interface EsdbTestServerOptions extends StreamsServiceOptions {
  /**
   * Do not offer ServerFeatures: the client then assumes an old server and appends with the unary-stream
   * `Append` call instead of `BatchAppend`, so both append paths can be exercised.
   */
  legacyAppend?: boolean;
}

export interface EsdbTestServer {
  /** Connection string for the client, e.g. `esdb://127.0.0.1:41234?tls=false`. */
  url: string;
  port: number;
  /** Calls answered so far, by kind. */
  calls: CallCounts;
  /** Appends a system event (type starting with `$`) the way the server's own subsystems do. */
  appendSystemEvent(stream: string, type: string): void;
  stop(): Promise<void>;
}

const SERVER_VERSION = '24.10.0';

/** Starts a test server on 127.0.0.1 on a free port. */
export async function startEsdbTestServer(options: EsdbTestServerOptions = {}): Promise<EsdbTestServer> {
  const log = new TransactionLog();
  const server = new grpc.Server();
  const calls: CallCounts = { read: 0, append: 0, batchAppend: 0 };
  const streamsDefinition = {
    ...streamsGrpc.StreamsService,
    read: { ...streamsGrpc.StreamsService.read, responseSerialize: serializeReadResp },
  };
  server.addService(
    streamsDefinition as unknown as grpc.ServiceDefinition,
    createStreamsService(log, options, calls) as unknown as grpc.UntypedServiceImplementation,
  );
  if (!options.legacyAppend) {
    server.addService(serverFeaturesGrpc.ServerFeaturesService as unknown as grpc.ServiceDefinition, {
      getSupportedMethods: (_call: unknown, callback: grpc.sendUnaryData<unknown>) =>
        callback(null, supportedMethods()),
    });
  }
  let port = 0;
  server.addService(gossipGrpc.GossipService as unknown as grpc.ServiceDefinition, {
    read: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => callback(null, clusterInfo(port)),
  });
  port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  return {
    url: `esdb://127.0.0.1:${port}?tls=false`,
    port,
    calls,
    appendSystemEvent(stream, type) {
      const event: ProposedEvent = {
        id: randomUUID(),
        type,
        contentType: 'application/json',
        data: Buffer.from('{}'),
        customMetadata: new Uint8Array(),
      };
      log.write(stream, { kind: 'any' }, [event]);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        // Subscriptions never end on their own; a graceful shutdown would wait for them forever.
        server.forceShutdown();
        resolve();
      }),
  };
}

/** The methods this server implements, named as EventStoreDB names them (lower-case). */
function supportedMethods() {
  const list = new serverFeaturesPb.SupportedMethods();
  list.setEventStoreServerVersion(SERVER_VERSION);
  const methods: Array<[string, string]> = [
    ['event_store.client.streams.streams', 'read'],
    ['event_store.client.streams.streams', 'append'],
    ['event_store.client.streams.streams', 'batchappend'],
    ['event_store.client.gossip.gossip', 'read'],
    ['event_store.client.server_features.serverfeatures', 'getsupportedmethods'],
  ];
  list.setMethodsList(
    methods.map(([service, method]) => {
      const m = new serverFeaturesPb.SupportedMethod();
      m.setServiceName(service);
      m.setMethodName(method);
      return m;
    }),
  );
  return list;
}

/** A one-member cluster whose leader is this server, for clients given several seed nodes. */
function clusterInfo(port: number) {
  const endpoint = new gossipPb.EndPoint();
  endpoint.setAddress('127.0.0.1');
  endpoint.setPort(port);
  const member = new gossipPb.MemberInfo();
  member.setInstanceId(uuidMessage('00000000-0000-4000-8000-000000000001'));
  member.setTimeStamp(String(BigInt(Date.now()) * 10_000n));
  member.setState(gossipPb.MemberInfo.VNodeState.LEADER);
  member.setIsAlive(true);
  member.setHttpEndPoint(endpoint);
  const info = new gossipPb.ClusterInfo();
  info.setMembersList([member]);
  return info;
}
