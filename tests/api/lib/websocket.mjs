// websocket.mjs — a minimal RFC 6455 client for the API tests (Node 20 has
// none): openWebSocket(base, token, headers) opens base/fhir/websocket.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';

const WAIT_MS = 10000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/**
 * Open base/fhir/websocket (RFC 6455, by hand: Node 20 has no client). Resolves
 * to { status, json } when the server refuses, else to a connection with
 * send(text), next(ms) → the next text message (or null on timeout), pending()
 * and close().
 */
export function openWebSocket(base, token, headers = {}) {
  const key = crypto.randomBytes(16).toString('base64');
  const req = http.request(`${base}/fhir/websocket`, {
    headers: {
      Connection: 'Upgrade',
      Upgrade: 'websocket',
      'Sec-WebSocket-Version': '13',
      'Sec-WebSocket-Key': key,
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
  });
  return new Promise((resolve, reject) => {
    req.on('error', reject);
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => {
        let json;
        try { json = JSON.parse(text); } catch { json = undefined; }
        resolve({ status: res.statusCode, headers: res.headers, json, text });
      });
    });
    req.on('upgrade', (res, socket, head) => {
      const want = crypto.createHash('sha1').update(key + WS_GUID).digest('base64');
      if (res.headers['sec-websocket-accept'] !== want) {
        socket.destroy();
        reject(new Error(`Sec-WebSocket-Accept ${res.headers['sec-websocket-accept']} is not ${want}`));
        return;
      }
      resolve(wrapSocket(socket, head, res.statusCode));
    });
    req.end();
  });
}

function wrapSocket(socket, head, status) {
  let buf = Buffer.from(head ?? []);
  const messages = [];
  const waiters = [];
  let closed = null;
  const wakeAll = () => { for (const w of waiters.splice(0)) w(); };
  socket.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    for (;;) {
      if (buf.length < 2) break;
      const op = buf[0] & 0x0f;
      assert.equal(buf[1] & 0x80, 0, 'server frames are not masked');
      let len = buf[1] & 0x7f;
      let h = 2;
      if (len === 126) { if (buf.length < 4) break; len = buf.readUInt16BE(2); h = 4; }
      else if (len === 127) { if (buf.length < 10) break; len = Number(buf.readBigUInt64BE(2)); h = 10; }
      if (buf.length < h + len) break;
      const payload = buf.subarray(h, h + len);
      buf = buf.subarray(h + len);
      if (op === 0x1) messages.push(payload.toString('utf8'));
      else if (op === 0x8) closed = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
    }
    wakeAll();
  });
  socket.on('close', () => { if (closed === null) closed = 1006; wakeAll(); });
  function frame(op, data) {
    const payload = Buffer.from(data, 'utf8');
    const mask = crypto.randomBytes(4);
    const hdr = payload.length < 126 ? Buffer.from([0x80 | op, 0x80 | payload.length])
      : Buffer.from([0x80 | op, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
    const body = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]));
    return Buffer.concat([hdr, mask, body]);
  }
  return {
    status,
    send: (text) => socket.write(frame(0x1, text)),
    sendRaw: (bytes) => socket.write(bytes),
    frame,
    pending: () => messages.length,
    closedWith: () => closed,
    async next(ms = WAIT_MS) {
      const deadline = Date.now() + ms;
      while (!messages.length && closed === null && Date.now() < deadline) {
        await new Promise((r) => { const t = setTimeout(r, Math.min(200, deadline - Date.now())); waiters.push(() => { clearTimeout(t); r(); }); });
      }
      return messages.length ? messages.shift() : null;
    },
    async waitClosed(ms = WAIT_MS) {
      const deadline = Date.now() + ms;
      while (closed === null && Date.now() < deadline) await sleep(20);
      return closed;
    },
    close: () => { socket.write(frame(0x8, '')); socket.end(); },
    destroy: () => socket.destroy(),
  };
}

