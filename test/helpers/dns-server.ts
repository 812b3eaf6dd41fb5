// A real DNS server over UDP for tests: answers A queries for one name, so a node:dns Resolver
// pointed at it goes through the real protocol (TTL on the wire, SERVFAIL, changing answers).
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';

export interface DnsAnswer { addresses: string[]; ttl: number; fail?: boolean }

/** A UDP DNS server answering A queries for `name` with `answer()` (AAAA: no data; `fail`: SERVFAIL). */
export async function dnsServer(name: string, answer: () => DnsAnswer): Promise<Socket & { port: number; queries: number }> {
  const socket = createSocket('udp4');
  const server = Object.assign(socket, { port: 0, queries: 0 });
  socket.on('message', (query, peer) => {
    server.queries++;
    let at = 12;
    const labels: string[] = [];
    while (query[at] !== 0) { labels.push(query.subarray(at + 1, at + 1 + query[at]).toString()); at += query[at] + 1; }
    const qtype = query.readUInt16BE(at + 1);
    const question = query.subarray(12, at + 5);
    const { addresses, ttl, fail } = answer();
    const records = !fail && qtype === 1 && labels.join('.').toLowerCase() === name ? addresses : [];
    const header = Buffer.alloc(12);
    header.writeUInt16BE(query.readUInt16BE(0), 0);
    header.writeUInt16BE(fail ? 0x8182 : 0x8180, 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(records.length, 6);
    const answers = records.map((a) => {
      const rr = Buffer.alloc(16);
      rr.writeUInt16BE(0xc00c, 0);
      rr.writeUInt16BE(1, 2);
      rr.writeUInt16BE(1, 4);
      rr.writeUInt32BE(ttl, 6);
      rr.writeUInt16BE(4, 10);
      a.split('.').forEach((o, i) => rr.writeUInt8(Number(o), 12 + i));
      return rr;
    });
    socket.send(Buffer.concat([header, question, ...answers]), peer.port, peer.address);
  });
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  server.port = socket.address().port;
  return server;
}
