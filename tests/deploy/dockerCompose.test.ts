/**
 * docker-compose.yml and the Dockerfile against the configuration schema: what the compose file sets is
 * what the server reads, and the wiring (EventStoreDB service, cluster, app) holds together.
 */
import { readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { configSchema, loadConfig } from '../../src/config.js';

interface Service {
  image?: string;
  build?: unknown;
  profiles?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition?: string }>;
  healthcheck?: unknown;
  networks?: Record<string, unknown>;
}

interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
  networks?: Record<string, unknown>;
}

const compose = parse(readFileSync('docker-compose.yml', 'utf8'), { merge: true }) as Compose;
const dockerfile = readFileSync('Dockerfile', 'utf8');
const services = compose.services;
const appServices = Object.entries(services).filter(([, s]) => s.build !== undefined);
const esdbServices = Object.entries(services).filter(([, s]) =>
  /^(eventstore\/eventstore|kurrentplatform\/kurrentdb|docker\.eventstore\.com)/.test(s.image ?? ''),
);

/** Hosts and ports of an `esdb://host:port,host:port?...` connection string. */
function hostsOf(url: string): Array<{ host: string; port: number }> {
  const match = /^esdb(?:\+discover)?:\/\/(?:[^@/]*@)?([^/?]+)/.exec(url);
  assert.ok(match, `not an esdb:// connection string: ${url}`);
  return match[1]!.split(',').map((hostPort) => {
    const [host, port] = hostPort.split(':');
    return { host: host!, port: Number(port ?? 2113) };
  });
}

const test = suite('docker-compose.yml');

test('defines a single EventStoreDB node with projections, insecure dev mode, a named volume and port 2113', () => {
  const node = services.eventstore;
  assert.ok(node, 'service eventstore');
  assert.match(node.image ?? '', /^(eventstore\/eventstore|kurrentplatform\/kurrentdb)/);
  const env = node.environment ?? {};
  assert.is(env.EVENTSTORE_RUN_PROJECTIONS, 'All');
  assert.is(env.EVENTSTORE_START_STANDARD_PROJECTIONS, 'true');
  assert.is(env.EVENTSTORE_INSECURE, 'true');
  assert.ok(node.ports?.includes('2113:2113'), 'publishes 2113');
  const named = (node.volumes ?? [])
    .map((v) => v.split(':')[0]!)
    .filter((v) => compose.volumes?.[v] !== undefined);
  assert.ok(named.length > 0, 'data on a named volume');
  assert.ok(node.healthcheck, 'has a health check the app can wait for');
});

test('sets on every app service only variables of the config schema, and they parse', () => {
  assert.ok(appServices.length >= 2, 'app and cluster app');
  const known = new Set(Object.keys(configSchema.shape));
  for (const [name, service] of appServices) {
    const env = service.environment ?? {};
    for (const key of Object.keys(env))
      assert.ok(known.has(key), `${name} sets ${key}, which src/config.ts does not read`);
    const config = loadConfig(env);
    assert.is(config.EVENT_STORE, 'esdb', `${name} runs on EventStoreDB`);
    assert.is(String(config.PORT), String(env.PORT));
    assert.ok(
      service.ports?.some((p) => p.endsWith(`:${config.PORT}`)),
      `${name} publishes its PORT ${config.PORT}`,
    );
    assert.ok(
      service.volumes?.some((v) => v.endsWith(`:${config.DATA_DIR}`)),
      `${name} keeps DATA_DIR ${config.DATA_DIR} on a volume`,
    );
  }
});

test('points each app at EventStoreDB services it waits for, on the port they listen on', () => {
  for (const [name, service] of appServices) {
    const url = service.environment?.EVENTSTORE_URL ?? '';
    assert.match(url, /tls=false/, `${name}: the dev nodes are insecure`);
    for (const { host, port } of hostsOf(url)) {
      const target = services[host];
      assert.ok(target, `${name}: EVENTSTORE_URL names ${host}, which is not a service`);
      assert.ok(
        esdbServices.some(([n]) => n === host),
        `${name}: ${host} is an EventStoreDB service`,
      );
      assert.is(port, Number(target.environment?.EVENTSTORE_NODE_PORT ?? 2113));
      assert.is(service.depends_on?.[host]?.condition, 'service_healthy', `${name} waits for ${host}`);
      const shared = Object.keys(service.networks ?? { default: {} });
      const theirs = Object.keys(target.networks ?? { default: {} });
      assert.ok(
        shared.some((n) => theirs.includes(n)),
        `${name} and ${host} share a network`,
      );
      // A service only runs with the app when their profiles overlap.
      assert.ok(
        (target.profiles ?? []).length === 0 ||
          (service.profiles ?? []).some((p) => (target.profiles ?? []).includes(p)),
        `${host} starts with ${name}'s profile`,
      );
    }
  }
  assert.equal(services.app?.profiles, ['app']);
});

test('has a 3-node cluster profile whose nodes seed each other and whose app knows all three', () => {
  const nodes = Object.entries(services).filter(([, s]) => s.profiles?.includes('cluster') && s.image);
  assert.is(nodes.length, 3);
  const ipOf = new Map(nodes.map(([n, s]) => [s.environment?.EVENTSTORE_REPLICATION_IP, n]));
  for (const [name, node] of nodes) {
    const env = node.environment ?? {};
    assert.is(env.EVENTSTORE_CLUSTER_SIZE, '3', `${name} cluster size`);
    assert.is(env.EVENTSTORE_RUN_PROJECTIONS, 'All');
    assert.is(env.EVENTSTORE_DISCOVER_VIA_DNS, 'false');
    const seeds = (env.EVENTSTORE_GOSSIP_SEED ?? '').split(',').map((s) => ipOf.get(s.split(':')[0]));
    const others = nodes.map(([n]) => n).filter((n) => n !== name);
    assert.equal(seeds.sort(), others.sort(), `${name} seeds the other two nodes`);
    const address = Object.values(node.networks ?? {})[0] as { ipv4_address?: string } | undefined;
    assert.is(address?.ipv4_address, env.EVENTSTORE_REPLICATION_IP, `${name} replicates on its own address`);
    assert.ok(
      (node.volumes ?? []).some((v) => compose.volumes?.[v.split(':')[0]!] !== undefined),
      `${name} has its own named volume`,
    );
  }
  const clusterApp = appServices.find(([, s]) => s.profiles?.includes('cluster'));
  assert.ok(clusterApp, 'an app service in the cluster profile');
  const hosts = hostsOf(clusterApp[1].environment?.EVENTSTORE_URL ?? '').map((h) => h.host);
  assert.equal(hosts.sort(), nodes.map(([n]) => n).sort());
});

test('builds the app from a Node 20 Dockerfile that installs with npm ci and runs npm start', () => {
  assert.match(dockerfile, /^FROM node:20/m);
  assert.match(dockerfile, /^RUN npm ci\b/m);
  assert.match(dockerfile, /^CMD \["npm", "start"\]/m);
  const exposed = /^EXPOSE (\d+)/m.exec(dockerfile)?.[1];
  for (const [name, service] of appServices) {
    assert.is(service.build, '.', `${name} builds the repository's Dockerfile`);
    assert.is(service.environment?.PORT, exposed, `${name} listens on the exposed port`);
  }
});

test.run();
