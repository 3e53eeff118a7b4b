// A DANA merchant's finish-notify endpoint built with dana-node's own WebhookParser
// (reference/dana.md 4), the Node twin of conformance/dana/finish_notify_receiver.py.
//
// bayar plays DANA towards merchants: when an order ends it POSTs a FinishNotifyRequest to the
// order's NOTIFICATION URL, signed SHA256withRSA with the gateway's private key. This server
// checks each notify as a merchant on dana-node would:
// `new WebhookParser(<bayar's gateway public key>).parseWebhook(...)`, which verifies the
// signature and parses the body; it answers 2005600 when both pass, 4015600 (HTTP 401)
// otherwise. npm dana-node 1.5.11 uses the key it is given (no sandbox-key override).
//
// The receivers' protocol (crates/bayar-server/tests/common/receiver.rs, SdkReceiver): print
// {"listening": port}; read one JSON line from stdin with `gateway_public_key`; print
// {"ready": true}; then one JSON line per notify; exit when stdin closes. Signatures are
// never printed.
'use strict';

const http = require('node:http');
const readline = require('node:readline');
const { WebhookParser } = require('dana-node/webhook/v1');

const emit = (line) => process.stdout.write(`${JSON.stringify(line)}\n`);
let parser = null;

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    const answer = (status, responseCode, responseMessage) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ responseCode, responseMessage }));
    };
    const seen = { kind: 'notification', path: req.url };
    try {
      const model = parser.parseWebhook('POST', req.url, req.headers, body);
      emit({ ...seen, verified: true, model, answered: 200 });
      answer(200, '2005600', 'Successful');
    } catch (err) {
      emit({ ...seen, verified: false, error: String(err.message).slice(0, 300), answered: 401 });
      answer(401, '4015600', 'Unauthorized. Invalid Signature');
    }
  });
});

server.listen(0, '127.0.0.1', () => {
  emit({ listening: server.address().port });
  const input = readline.createInterface({ input: process.stdin });
  let configured = false;
  input.on('line', (line) => {
    if (configured) return;
    configured = true;
    parser = new WebhookParser(JSON.parse(line).gateway_public_key);
    emit({ ready: true });
  });
  // The test holds stdin open while it needs the receiver; EOF means it is done (or gone).
  input.on('close', () => process.exit(0));
});
