// The client side of RFC 6455 as far as a load generator needs it, over a plain `net` socket:
// the opening handshake, masked frames built once, and a reader that splits the server's
// (unmasked) frames without copying their payloads. No extensions (no permessage-deflate), no
// fragmented messages (sluice's uWS never fragments; a continuation frame is refused).
//
// Perf: a client frame must be masked (§5.3); masking the payload once with a fixed key at build
// time is legal (the key is meant to defeat cache poisoning by proxies, which a loopback
// benchmark has none of) and leaves nothing to do per send but write bytes.
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const MASK = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);

export const OP_TEXT = 0x1;
export const OP_BINARY = 0x2;
export const OP_CLOSE = 0x8;
export const OP_PING = 0x9;
export const OP_PONG = 0xa;

/** One masked, final frame carrying `payload` (opcode binary unless told). */
export function maskedFrame(payload: Uint8Array, opcode = OP_BINARY): Buffer {
  const n = payload.length;
  const head = n < 126 ? 2 : n < 0x10000 ? 4 : 10;
  const f = Buffer.allocUnsafe(head + 4 + n);
  f[0] = 0x80 | opcode;
  if (n < 126) f[1] = 0x80 | n;
  else if (n < 0x10000) {
    f[1] = 0x80 | 126;
    f.writeUInt16BE(n, 2);
  } else {
    f[1] = 0x80 | 127;
    f.writeBigUInt64BE(BigInt(n), 2);
  }
  MASK.copy(f, head);
  const at = head + 4;
  for (let i = 0; i < n; i++) f[at + i] = payload[i]! ^ MASK[i & 3]!;
  return f;
}

/**
 * Opens a socket to `port`, upgrades it on `path`, and resolves once the 101 answer is checked
 * (status and Sec-WebSocket-Accept). Resolves with the socket and any frame bytes that arrived
 * behind the handshake; the caller attaches its own 'data' listener.
 */
export function openWebSocket(port: number, path: string): Promise<{ socket: net.Socket; early: Buffer }> {
  return new Promise((resolve, reject) => {
    const key = randomBytes(16).toString('base64');
    const accept = createHash('sha1').update(key + GUID).digest('base64');
    const socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
    let head = Buffer.alloc(0);
    const fail = (why: string): void => {
      socket.destroy();
      reject(new Error(`WebSocket handshake on ${path}: ${why}`));
    };
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      socket.off('error', reject);
      const text = head.subarray(0, end).toString('latin1');
      if (!text.startsWith('HTTP/1.1 101')) return fail(text.split('\r\n')[0] ?? text);
      const got = /\r\nsec-websocket-accept:\s*(\S+)/i.exec(text)?.[1];
      if (got !== accept) return fail(`Sec-WebSocket-Accept ${got} ≠ ${accept}`);
      resolve({ socket, early: head.subarray(end + 4) });
    };
    socket.once('error', reject);
    socket.once('connect', () =>
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      ),
    );
    socket.on('data', onData);
  });
}

/**
 * Splits a stream of server frames. `push(chunk)` calls `onFrame(opcode, payload)` for every
 * complete frame, in order; `payload` is a view into the chunk (valid during the call). A frame
 * cut by the chunk's end waits, copied once, for the next chunk. Throws on a masked server
 * frame, a fragmented message or a length beyond 2^53.
 */
export class FrameReader {
  private rest: Buffer | undefined;

  constructor(private readonly onFrame: (opcode: number, payload: Buffer) => void) {}

  push(chunk: Buffer): void {
    const buf = this.rest === undefined ? chunk : Buffer.concat([this.rest, chunk]);
    this.rest = undefined;
    let p = 0;
    while (buf.length - p >= 2) {
      const b0 = buf[p]!;
      const b1 = buf[p + 1]!;
      if ((b0 & 0x80) === 0 || (b0 & 0x0f) === 0) throw new Error('fragmented WebSocket message');
      if (b1 & 0x80) throw new Error('masked frame from the server');
      let len = b1 & 0x7f;
      let at = p + 2;
      if (len === 126) {
        if (buf.length - p < 4) break;
        len = buf.readUInt16BE(p + 2);
        at = p + 4;
      } else if (len === 127) {
        if (buf.length - p < 10) break;
        len = Number(buf.readBigUInt64BE(p + 2));
        if (!Number.isSafeInteger(len)) throw new Error('frame length beyond 2^53');
        at = p + 10;
      }
      if (buf.length - at < len) break;
      this.onFrame(b0 & 0x0f, buf.subarray(at, at + len));
      p = at + len;
    }
    if (p < buf.length) this.rest = Buffer.from(buf.subarray(p));
  }
}
