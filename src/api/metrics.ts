/**
 * The API's own counters, in Prometheus text format. Label values come from fixed sets
 * (route names, methods we route, status codes, frame types), never from request input,
 * so a client cannot grow the series count.
 */

/** Route names used as the `route` label. */
export type RouteName =
  | 'kv'
  | 'local'
  | 'status'
  | 'ring'
  | 'health'
  | 'metrics'
  | 'dashboard'
  | 'leave'
  | 'ws'
  | 'peer'
  | 'extra'
  | 'unknown';

const METHODS = new Set(['GET', 'PUT', 'DELETE', 'POST', 'HEAD']);

export class ApiMetrics {
  private readonly http = new Map<string, number>();
  /** Counts by frame type, then outcome: two lookups per request, no label string built on the hot path. */
  private readonly ws = new Map<string, Map<string, number>>();
  inFlight = 0;
  wsConnections = 0;

  countHttp(route: RouteName, method: string, status: number): void {
    const m = METHODS.has(method) ? method : 'OTHER';
    const key = `route="${route}",method="${m}",status="${status}"`;
    this.http.set(key, (this.http.get(key) ?? 0) + 1);
  }

  /** `type` is a frame type we know (`get`, `put`, ...) and `code` `ok` or a wire error code. */
  countWs(type: string, code: string): void {
    let byCode = this.ws.get(type);
    if (byCode === undefined) this.ws.set(type, (byCode = new Map()));
    byCode.set(code, (byCode.get(code) ?? 0) + 1);
  }

  text(): string {
    const lines: string[] = [];
    lines.push('# HELP shoal_api_requests_total HTTP requests answered, by route, method and status.');
    lines.push('# TYPE shoal_api_requests_total counter');
    for (const [k, v] of [...this.http].sort()) lines.push(`shoal_api_requests_total{${k}} ${v}`);
    lines.push('# HELP shoal_api_ws_requests_total Client WebSocket requests answered, by type and outcome.');
    lines.push('# TYPE shoal_api_ws_requests_total counter');
    const ws: Array<[string, number]> = [];
    for (const [type, byCode] of this.ws) for (const [code, v] of byCode) ws.push([`type="${type}",code="${code}"`, v]);
    for (const [k, v] of ws.sort()) lines.push(`shoal_api_ws_requests_total{${k}} ${v}`);
    lines.push('# HELP shoal_api_in_flight Client requests being worked on.');
    lines.push('# TYPE shoal_api_in_flight gauge');
    lines.push(`shoal_api_in_flight ${this.inFlight}`);
    lines.push('# HELP shoal_api_ws_connections Open client WebSocket connections.');
    lines.push('# TYPE shoal_api_ws_connections gauge');
    lines.push(`shoal_api_ws_connections ${this.wsConnections}`);
    return lines.join('\n') + '\n';
  }
}
