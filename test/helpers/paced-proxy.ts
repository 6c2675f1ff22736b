/**
 * A loopback TCP proxy that hands the server's replies to the client in
 * pieces, one per timer tick, as a network spreads a large reply over many
 * reads. On plain loopback a fast Redis can have a whole pipeline's replies
 * ready at once, and libuv then reads them in one event-loop turn; tests of
 * what happens *while* replies arrive need them spread over several turns.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface PacedProxy {
  readonly port: number;
  /** Closes the proxy and every connection through it. */
  stop(): Promise<void>;
}

/**
 * Proxies 127.0.0.1:`targetPort`; server-to-client data goes out at most
 * `pieceBytes` per tick of `setTimeout(…, 1)`, in order.
 */
export async function startPacedProxy(targetPort: number, pieceBytes = 16 * 1024): Promise<PacedProxy> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (d: Buffer) => upstream.write(d));
    const queue: Buffer[] = [];
    let ticking = false;
    const tick = (): void => {
      const piece = queue.shift();
      if (!piece) {
        ticking = false;
        return;
      }
      client.write(piece);
      setTimeout(tick, 1);
    };
    upstream.on('data', (d: Buffer) => {
      for (let i = 0; i < d.length; i += pieceBytes) queue.push(d.subarray(i, i + pieceBytes));
      if (!ticking) {
        ticking = true;
        tick();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as { port: number }).port,
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
