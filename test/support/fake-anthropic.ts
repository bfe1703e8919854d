import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { join } from 'node:path';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'anthropic');

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body: unknown;
}

/** A recorded reply: a Message JSON (status 200) or an `{status, headers, body}` error fixture. */
export function fixture(name: string): Reply {
  const data = JSON.parse(readFileSync(join(FIXTURES, `${name}.json`), 'utf8')) as Record<string, unknown>;
  if (typeof data.status === 'number') return data as unknown as Reply;
  return { status: 200, body: data };
}

export interface ReceivedRequest {
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, any>;
}

/**
 * A local server that speaks the Messages API as the SDK sees it: POST /v1/messages with the key and
 * anthropic-version, JSON in and out, a `request-id` header on every reply, error bodies
 * `{type:"error", error:{type, message}, request_id}`, a 401 for a wrong key, a 400 for a malformed request.
 * Replies are served in order from a script.
 */
export class FakeAnthropic {
  readonly requests: ReceivedRequest[] = [];
  private script: Reply[] = [];
  private server: Server | null = null;
  url = '';

  constructor(private readonly apiKey: string) {}

  enqueue(...replies: Reply[]): void {
    this.script.push(...replies);
  }

  get remaining(): number {
    return this.script.length;
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const requestId = `req_011C${randomBytes(12).toString('base64url')}`;
        const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
          res.writeHead(status, { 'content-type': 'application/json', 'request-id': requestId, ...headers });
          res.end(JSON.stringify(body));
        };
        const error = (status: number, type: string, message: string, headers: Record<string, string> = {}) =>
          send(status, { type: 'error', error: { type, message }, request_id: requestId }, headers);
        if (req.method !== 'POST' || req.url !== '/v1/messages') return error(404, 'not_found_error', `Not found: ${req.method} ${req.url}`);
        // SDK 1.x sends the key as `Authorization: Bearer <key>`; older clients use `x-api-key`. The API takes both.
        const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
        if ((bearer ?? req.headers['x-api-key']) !== this.apiKey) return error(401, 'authentication_error', 'invalid x-api-key');
        if (!req.headers['anthropic-version']) return error(400, 'invalid_request_error', 'anthropic-version: header is required');
        let body: Record<string, any>;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          return error(400, 'invalid_request_error', 'There was an issue with the request body: it is not valid JSON');
        }
        for (const field of ['model', 'max_tokens', 'messages']) {
          if (body[field] === undefined) return error(400, 'invalid_request_error', `${field}: Field required`);
        }
        this.requests.push({ path: req.url, headers: req.headers, body });
        const reply = this.script.shift();
        if (!reply) return error(500, 'api_error', 'the fake server has no scripted reply left');
        if (reply.status === 200) {
          const message = { ...(reply.body as Record<string, unknown>), id: `msg_01${randomBytes(12).toString('base64url')}`, model: body.model };
          return send(200, message, reply.headers);
        }
        const errBody = reply.body as { error: { type: string; message: string } };
        return error(reply.status, errBody.error.type, errBody.error.message, reply.headers);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    return this.url;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
