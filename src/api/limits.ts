/**
 * The limits one API server runs with. Defaults come from src/config/api.ts; a caller
 * (tests, the simulator, a node with unusual hardware) may override any of them.
 */
import * as config from '../config/api.js';

export interface ApiLimits {
  readonly headerBytesMax: number;
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly inFlightMax: number;
  readonly connectionsMax: number;
  readonly clientConnectionsMax: number;
  readonly clientInFlightMax: number;
  readonly clientSendBufferBytesMax: number;
  readonly lingerMs: number;
  readonly lingerBytesMax: number;
  readonly closeGraceMs: number;
}

export const defaultApiLimits: ApiLimits = {
  headerBytesMax: config.apiHeaderBytesMax,
  headersTimeoutMs: config.apiHeadersTimeoutMs,
  requestTimeoutMs: config.apiRequestTimeoutMs,
  keepAliveTimeoutMs: config.apiKeepAliveTimeoutMs,
  inFlightMax: config.apiInFlightMax,
  connectionsMax: config.apiConnectionsMax,
  clientConnectionsMax: config.wsClientConnectionsMax,
  clientInFlightMax: config.wsClientInFlightMax,
  clientSendBufferBytesMax: config.wsClientSendBufferBytesMax,
  lingerMs: config.apiLingerMs,
  lingerBytesMax: config.apiLingerBytesMax,
  closeGraceMs: config.apiCloseGraceMs,
};
