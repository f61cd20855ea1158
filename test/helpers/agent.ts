// ServeOptions for an agent under test: a fixture host, a random loopback port, no kubelet socket, no cluster,
// no monitors, a quiet log. Tests override only what they are about.
import { join } from 'node:path';
import type { ServeOptions } from '../../agent/cli/serve.ts';
import { defaultConfig } from '../../agent/config/config.ts';
import { silentLogger } from '../../agent/log.ts';
import type { FixtureHost } from './fixture-host.ts';

export function testAgentOptions(host: FixtureHost, overrides: Partial<ServeOptions> = {}): ServeOptions {
  return {
    sysfsRoot: host.sys,
    procfsRoot: host.proc,
    config: defaultConfig(),
    listen: '127.0.0.1:0',
    podResourcesSocket: join(host.root, 'absent.sock'),
    intervalMs: 1000,
    nodeName: 'test-node',
    noKube: true,
    monitors: false,
    log: silentLogger,
    env: {},
    ...overrides,
  };
}
