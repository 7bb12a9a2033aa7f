// The drift demo's stand-in for a CI system: a loopback HTTP server that takes retrain webhooks and
// checks each one's HMAC-SHA256 signature (x-sluice-signature over `${x-sluice-timestamp}.${body}`)
// the way a real receiver should, with a constant-time comparison.
import { timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { signBody } from '../retrain/webhook.js';

export interface ReceivedHook {
  readonly path: string;
  readonly eventId: string | undefined;
  readonly body: Record<string, unknown>;
  readonly signatureValid: boolean;
}

export interface WebhookReceiver {
  /** `http://127.0.0.1:PORT/` */
  readonly url: string;
  readonly received: ReceivedHook[];
  close(): Promise<void>;
}

/** Bodies over this are refused (a retrain event is a few hundred bytes). */
const MAX_BODY_BYTES = 64 * 1024;

export async function startWebhookReceiver(secret: string): Promise<WebhookReceiver> {
  const received: ReceivedHook[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY_BYTES) chunks.push(c);
    });
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) return void res.writeHead(413).end();
      const raw = Buffer.concat(chunks).toString('utf8');
      const timestamp = Number(req.headers['x-sluice-timestamp']);
      const given = Buffer.from(String(req.headers['x-sluice-signature'] ?? ''));
      const want = Buffer.from(`sha256=${signBody(secret, timestamp, raw)}`);
      const signatureValid = Number.isFinite(timestamp) && given.length === want.length && timingSafeEqual(given, want);
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        // Recorded with an empty body; the signature check above still says whether it was ours.
      }
      const eventId = req.headers['x-sluice-event-id'];
      received.push({ path: req.url ?? '', eventId: typeof eventId === 'string' ? eventId : undefined, body, signatureValid });
      res.writeHead(signatureValid ? 202 : 401).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
