// Pooled mTLS connections per client TLS context: when the identity rotates, idle connections
// made with the old certificate are closed and busy ones are not reused, so every new request
// travels on a connection presenting the current certificate (which a bound token needs).
import https from 'node:https';
import type tls from 'node:tls';

export type AgentFor = (context: tls.SecureContext) => https.Agent;

/** Retires an agent: idle sockets close now, busy ones close when their request ends. */
function retire(agent: https.Agent): void {
  (agent as https.Agent & { keepAlive: boolean }).keepAlive = false;
  for (const list of Object.values(agent.freeSockets)) for (const s of list ?? []) s.destroy();
}

/** An agent per context; `onConnect` sees each newly made TLS connection (for metrics). */
export function agentPool(onConnect: (socket: tls.TLSSocket) => void): { agentFor: AgentFor; close(): void } {
  let current: { context: tls.SecureContext; agent: https.Agent } | null = null;
  const all = new Set<https.Agent>();
  const make = () => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1024, scheduling: 'lifo' });
    agent.on('free', (socket) => socket.setNoDelay(true));
    const createConnection = agent.createConnection.bind(agent) as (o: unknown, cb: unknown) => tls.TLSSocket;
    agent.createConnection = ((o: unknown, cb: unknown) => {
      const socket = createConnection(o, cb);
      onConnect(socket);
      return socket;
    }) as typeof agent.createConnection;
    all.add(agent);
    return agent;
  };
  return {
    agentFor(context) {
      if (current?.context === context) return current.agent;
      if (current) {
        retire(current.agent);
        all.delete(current.agent);
      }
      current = { context, agent: make() };
      return current.agent;
    },
    /** Destroys the current agent (retired ones end with their last request). */
    close() {
      for (const a of all) a.destroy();
    },
  };
}
