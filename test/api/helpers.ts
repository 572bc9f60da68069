import http from 'node:http';
import { createApiServer, type ApiServer, type ApiServerOptions } from '../../src/api/index.js';
import { FakeService } from './fake-service.js';

export interface Harness {
  api: ApiServer;
  service: FakeService;
  port: number;
  logs: Array<{ event: string; fields: Record<string, unknown> }>;
}

export async function start(options: Partial<ApiServerOptions> & { service?: FakeService } = {}): Promise<Harness> {
  const service = options.service ?? new FakeService();
  const logs: Harness['logs'] = [];
  const api = createApiServer({ ...options, service, log: (event, fields) => logs.push({ event, fields }) });
  const port = await api.listen(0, '127.0.0.1');
  return { api, service, port, logs };
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  json(): unknown;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });

export function request(
  port: number,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: Uint8Array | string; fresh?: boolean } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method, path, headers: options.headers, agent: options.fresh === true ? false : agent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            json: () => JSON.parse(body.toString('utf8')) as unknown,
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** The error code of a JSON error body. */
export function code(reply: Reply): string {
  const j = reply.json() as { error?: { code?: string } };
  return j.error?.code ?? '';
}
