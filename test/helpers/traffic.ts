// Bounded background traffic for rotation tests: HTTP keep-alive requests and fresh TCP
// connections (each a new mTLS handshake between the sidecars), counting every failure.
import http from 'node:http';
import net from 'node:net';

export interface TrafficStats {
  ok: number;
  failed: number;
  errors: string[];
}

export interface Traffic {
  readonly stats: TrafficStats;
  stop(): Promise<TrafficStats>;
}

function httpOnce(agent: http.Agent, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/ping', agent, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

function tcpOnce(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write('ping'));
    s.setTimeout(5000, () => s.destroy(new Error('timeout')));
    s.once('data', (d: Buffer) => {
      s.end();
      if (d.toString() === 'ping') resolve();
      else reject(new Error(`echo mismatch: ${d}`));
    });
    s.once('error', reject);
    s.once('close', () => reject(new Error('closed before echo')));
  });
}

/** Starts `workers` loops per target; runs until stop() or `maxMs`, whichever comes first. */
export function startTraffic(o: {
  httpPort?: number;
  tcpPort?: number;
  workers?: number;
  maxMs: number;
  pauseMs?: number;
}): Traffic {
  const stats: TrafficStats = { ok: 0, failed: 0, errors: [] };
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const deadline = Date.now() + o.maxMs;
  let running = true;
  const loop = async (once: () => Promise<void>) => {
    while (running && Date.now() < deadline) {
      try {
        await once();
        stats.ok++;
      } catch (err) {
        stats.failed++;
        if (stats.errors.length < 20) stats.errors.push((err as Error).message);
      }
      await new Promise((r) => setTimeout(r, o.pauseMs ?? 5));
    }
  };
  const loops: Promise<void>[] = [];
  for (let i = 0; i < (o.workers ?? 2); i++) {
    if (o.httpPort) loops.push(loop(() => httpOnce(agent, o.httpPort!)));
    if (o.tcpPort) loops.push(loop(() => tcpOnce(o.tcpPort!)));
  }
  return {
    stats,
    async stop() {
      running = false;
      await Promise.all(loops);
      agent.destroy();
      return stats;
    },
  };
}
