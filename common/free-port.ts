// Picks a loopback port for a listener whose address must be known before it starts. Ports come
// from below Linux's ephemeral range (32768+), so they cannot collide with the ports the kernel
// hands to `:0` listeners and outgoing connections in the meantime.
import net from 'node:net';

const LOW = 20_000;
const HIGH = 32_767;

function canBind(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

/** A port on `host` that was free a moment ago, outside the ephemeral range. */
export async function pickPort(host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW));
    if (await canBind(port, host)) return port;
  }
  throw new Error(`no free port between ${LOW} and ${HIGH} on ${host}`);
}
