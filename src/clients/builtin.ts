/**
 * The built-in clients, written with defineClient like any other: each one's state is its protocol
 * object over the actor (src/clients/dio.ts, rdma.ts, odp.ts, get.ts), stepped once per operation
 * and released at teardown.
 */
import { type ClientKind } from '../scenario/schema.js';
import { type Client } from './client.js';
import { actorOf } from './context.js';
import { type ClientContext, type ClientDefinition, defineClient } from './define.js';
import { BufferedClient } from './buffered.js';
import { DioClient } from './dio.js';
import { ForkClient } from './fork.js';
import { GetClient } from './get.js';
import { OdpClient } from './odp.js';
import { RdmaClient } from './rdma.js';
import { type Actor } from './actor.js';

const builtin = (name: ClientKind, make: (a: Actor) => Client): ClientDefinition<Client> =>
  defineClient<Client>({
    name,
    setup: (ctx: ClientContext) => make(actorOf(ctx)),
    step: (_ctx, c) => c.step(),
    teardown: (_ctx, c) => c.release(),
  });

/** The built-in clients of DESIGN.md §4, by scenario kind. */
export const BUILTIN_CLIENTS: Readonly<Record<ClientKind, ClientDefinition<Client>>> = Object.freeze({
  dio: builtin('dio', (a) => new DioClient(a)),
  rdma: builtin('rdma', (a) => new RdmaClient(a)),
  odp: builtin('odp', (a) => new OdpClient(a)),
  get: builtin('get', (a) => new GetClient(a)),
  fork: builtin('fork', (a) => new ForkClient(a)),
  buffered: builtin('buffered', (a) => new BufferedClient(a)),
});
