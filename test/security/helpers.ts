/**
 * Helpers for security tests on real `shoal start` processes: a node's resident memory
 * (VmRSS from /proc), a raw WebSocket client that can refuse to read, and a scanner for
 * server frames.
 */
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';

/** Resident set size of a process in bytes, from /proc/PID/status (undefined off Linux). */
export function rssBytes(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** One masked client frame (mask key 0: legal, and XOR with zero leaves the payload as is). */
export function clientFrame(payload: Uint8Array, opcode = 0x2, fin = true): Buffer {
  const len = payload.byteLength;
  let head: Buffer;
  if (len < 126) {
    head = Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | len]);
  } else if (len < 65_536) {
    head = Buffer.alloc(4);
    head[0] = (fin ? 0x80 : 0) | opcode;
    head[1] = 0x80 | 126;
    head.writeUInt16BE(len, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = (fin ? 0x80 : 0) | opcode;
    head[1] = 0x80 | 127;
    head.writeBigUInt64BE(BigInt(len), 2);
  }
  return Buffer.concat([head, Buffer.alloc(4), payload]);
}

/** A raw WebSocket upgrade on a plain socket; resolves after the 101 with any bytes that followed it. */
export async function rawUpgrade(host: string, port: number, path: string, headers: Record<string, string> = {}): Promise<{ socket: Socket; status: number; rest: Buffer }> {
  const socket = connect({ host, port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${Buffer.alloc(16, 1).toString('base64')}\r\n${extra}\r\n`,
  );
  let buf = Buffer.alloc(0);
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      socket.pause();
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(buf.subarray(0, end).toString('latin1'))?.[1] ?? 0);
      resolve({ socket, status, rest: buf.subarray(end + 4) });
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

/**
 * Reads server frames from `socket` (starting with `rest`) until a close frame; returns
 * its code and the bytes of data frames seen before it. Rejects if the socket ends first
 * or the deadline passes.
 */
export async function readUntilClose(socket: Socket, rest: Buffer, deadlineMs: number): Promise<{ code: number; dataBytes: number }> {
  let buf = rest;
  let dataBytes = 0;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no close frame before the deadline')), deadlineMs);
    const scan = (): boolean => {
      for (;;) {
        if (buf.length < 2) return false;
        const opcode = buf[0]! & 0x0f;
        let len = buf[1]! & 0x7f;
        let at = 2;
        if (len === 126) {
          if (buf.length < 4) return false;
          len = buf.readUInt16BE(2);
          at = 4;
        } else if (len === 127) {
          if (buf.length < 10) return false;
          len = Number(buf.readBigUInt64BE(2));
          at = 10;
        }
        if (buf.length < at + len) return false;
        if (opcode === 0x8) {
          clearTimeout(timer);
          resolve({ code: len >= 2 ? buf.readUInt16BE(at) : 1005, dataBytes });
          return true;
        }
        dataBytes += len;
        buf = buf.subarray(at + len);
      }
    };
    if (scan()) return;
    socket.on('data', (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      if (scan()) socket.destroy();
    });
    socket.once('close', () => {
      clearTimeout(timer);
      reject(new Error(`socket closed without a close frame after ${dataBytes} data bytes`));
    });
    socket.resume();
  });
}
