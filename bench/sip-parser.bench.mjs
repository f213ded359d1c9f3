// SIP message parsing and serialization (issue 2): ours against three published JavaScript SIP parsers from npm,
// measured in the same process with interleaved batches, each reading the fields a transaction layer needs
// (top Via branch and sent-by, CSeq number and method, Call-ID, From tag, To tag).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createResponse, parseMessage, serializeMessage } from '@switchyard/sip-stack';

// the transport's stamp (RFC 3261 18.2.1, RFC 3581 4) is not exported by the package; reached in its build
const { stampReceived } = await import(
  new URL('../packages/sip-stack/dist/transport/transport-layer.js', import.meta.url)
);

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));
const fixture = (name) => readFileSync(join(here, 'fixtures', name));

let sink = 0;
const take = (s) => {
  sink = (sink + (s === undefined || s === null ? 0 : String(s).length)) | 0;
};

function ourParse(bytes) {
  const m = parseMessage(bytes);
  const via = m.via();
  take(via.branch);
  take(via.host);
  take(via.port);
  const cseq = m.cseq();
  take(cseq.seq);
  take(cseq.method);
  take(m.callId());
  take(m.from().tag);
  take(m.to().tag);
  return m;
}

// Each peer gets what it takes: `sip`, JsSIP and SIP.js parse strings, so the bytes-to-string conversion a server
// must do is inside their timed work, as it is inside ours.
async function peers() {
  const out = [];
  try {
    const sip = require('sip');
    out.push({
      name: 'sip 0.0.6',
      parse(bytes) {
        const m = sip.parse(bytes.toString('binary'));
        if (!m) throw new Error('not parsed');
        const via = m.headers.via[0];
        take(via.params.branch);
        take(via.host);
        take(via.port);
        take(m.headers.cseq.seq);
        take(m.headers.cseq.method);
        take(m.headers['call-id']);
        take(m.headers.from.params.tag);
        take(m.headers.to.params.tag);
        return m;
      },
      serialize: (m) => sip.stringify(m),
    });
  } catch {
    // not installed
  }
  try {
    const JsSIPParser = require('jssip/lib/Parser');
    const ua = {};
    out.push({
      name: 'JsSIP 3.13.8',
      parse(bytes) {
        const m = JsSIPParser.parseMessage(bytes.toString('utf8'), ua);
        if (!m) throw new Error('not parsed');
        take(m.via_branch);
        take(m.via?.host);
        take(m.via?.port);
        take(m.cseq);
        take(m.method);
        take(m.call_id);
        take(m.from_tag);
        take(m.to_tag);
        return m;
      },
    });
  } catch {
    // not installed
  }
  try {
    const { Parser } = await import('sip.js/lib/core/messages/parser.js');
    const { LoggerFactory } = await import('sip.js/lib/core/log/logger-factory.js');
    const factory = new LoggerFactory();
    factory.builtinEnabled = false;
    const logger = factory.getLogger('bench');
    out.push({
      name: 'SIP.js 0.21.2',
      parse(bytes) {
        const m = Parser.parseMessage(bytes.toString('utf8'), logger);
        if (!m) throw new Error('not parsed');
        take(m.viaBranch);
        take(m.via?.host);
        take(m.via?.port);
        take(m.cseq);
        take(m.method);
        take(m.callId);
        take(m.fromTag);
        take(m.toTag);
        return m;
      },
    });
  } catch {
    // not installed
  }
  return out;
}

/** Median ns per call over interleaved batches; each batch runs at least `minMs`. */
function timeInterleaved(fns, { batches = 9, minMs = 25 } = {}) {
  for (const fn of fns) for (let i = 0; i < 3000; i++) fn();
  const samples = fns.map(() => []);
  for (let b = 0; b < batches; b++) {
    fns.forEach((fn, k) => {
      let n = 0;
      const start = process.hrtime.bigint();
      let elapsed = 0n;
      do {
        for (let i = 0; i < 200; i++) fn();
        n += 200;
        elapsed = process.hrtime.bigint() - start;
      } while (elapsed < BigInt(minMs) * 1_000_000n);
      samples[k].push(Number(elapsed) / n);
    });
  }
  return samples.map((s) => s.sort((a, b) => a - b)[Math.floor(s.length / 2)]);
}

const MALFORMED = {
  'negative Content-Length': (t) => t.replace(/Content-Length: \d+/, 'Content-Length: -1'),
  'Content-Length past the end': (t) =>
    t.replace(/Content-Length: (\d+)/, (_m, n) => `Content-Length: ${Number(n) + 50}`),
  'no CSeq': (t) => t.replace(/CSeq: [^\r]*\r\n/, ''),
  'CSeq method mismatch': (t) => t.replace('CSeq: 314159 INVITE', 'CSeq: 314159 BYE'),
  'Via without sent-by': (t) => t.replace(/Via: SIP\/2\.0\/UDP [^;]*;/, 'Via: SIP/2.0/UDP ;'),
  'Max-Forwards not a number': (t) => t.replace('Max-Forwards: 70', 'Max-Forwards: seventy'),
  'header line without a colon': (t) => t.replace('Max-Forwards: 70', 'Max-Forwards 70'),
  'garbage request line': (t) => t.replace(/^INVITE [^\r]*/, 'INVITE'),
  'no Call-ID': (t) => t.replace(/Call-ID: [^\r]*\r\n/, ''),
};

/** A typical OPTIONS datagram (as the load generator sends), numbered so no two parse the same bytes. */
function optionsDatagram(n) {
  return Buffer.from(
    `OPTIONS sip:bench@127.0.0.1:5090 SIP/2.0\r\n` +
      `Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-ld${n}o;rport\r\n` +
      'Max-Forwards: 70\r\n' +
      `From: <sip:load@127.0.0.1>;tag=ld${n}\r\n` +
      'To: <sip:bench@127.0.0.1>\r\n' +
      `Call-ID: c${n}@load\r\n` +
      'CSeq: 1 OPTIONS\r\n' +
      'Contact: <sip:load@127.0.0.1:5999>\r\n' +
      'Content-Length: 0\r\n\r\n',
    'latin1',
  );
}

const SOURCE = { protocol: 'udp', address: '127.0.0.2', port: 5999 };
const UA_OPTIONS_HEADERS = [
  ['Allow', 'INVITE, ACK, CANCEL, OPTIONS, BYE, UPDATE, PRACK, REFER, NOTIFY, MESSAGE, INFO, SUBSCRIBE'],
  ['Accept', 'application/sdp'],
  ['Supported', 'replaces, timer, 100rel'],
];
const ANSWER = Buffer.from(
  'v=0\r\no=- 1 1 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 8 101\r\n' +
    'a=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n',
  'latin1',
);

/**
 * The message layer's share of a server transaction: parse the request, stamp received/rport on its top Via
 * (as the transport does), build the response (RFC 3261 8.2.6) and serialize it.
 */
export function transactionRows() {
  const options = Array.from({ length: 512 }, (_, n) => optionsDatagram(n));
  const invite = fixture('invite.sip');
  let i = 0;
  const fns = [
    () => take(serializeMessage(createResponse(parseMessage(options[i++ & 511]), 200)).length),
    () => {
      const request = parseMessage(options[i++ & 511]);
      stampReceived(request, SOURCE);
      take(serializeMessage(createResponse(request, 200, undefined, { headers: UA_OPTIONS_HEADERS })).length);
    },
    () => {
      const request = parseMessage(invite);
      stampReceived(request, SOURCE);
      const response = createResponse(request, 200, undefined, {
        headers: [['Contact', '<sip:uas@192.0.2.9:5060>'], ...UA_OPTIONS_HEADERS.filter(([n]) => n !== 'Accept')],
        body: ANSWER,
        contentType: 'application/sdp',
      });
      take(serializeMessage(response).length);
    },
  ];
  const ns = timeInterleaved(fns);
  return [
    ['OPTIONS -> 200: parse, createResponse, serialize', ns[0]],
    ['OPTIONS -> 200 as the UA answers: parse, stamp received/rport, 200 with Allow/Accept/Supported', ns[1]],
    ['INVITE -> 200 with SDP: parse, stamp, 200 with Contact/Allow/Supported and a body', ns[2]],
  ];
}

export default async function sipParserBench() {
  const messages = [
    ['INVITE with SDP', fixture('invite.sip')],
    ['180 Ringing', fixture('ringing.sip')],
    ['200 OK with SDP', fixture('ok.sip')],
    ['REGISTER with Authorization', fixture('register.sip')],
  ];
  const others = await peers();
  const parseRows = [];
  const serializeRows = [];
  for (const [label, bytes] of messages) {
    const fns = [() => ourParse(bytes), ...others.map((p) => () => p.parse(bytes))];
    const ns = timeInterleaved(fns);
    const row = [label, bytes.length, ns[0], (bytes.length / ns[0]) * 1000];
    others.forEach((_, k) => {
      row.push(ns[k + 1]);
      row.push(`${(ns[k + 1] / ns[0]).toFixed(2)}x`);
    });
    parseRows.push(row);

    const ours = parseMessage(bytes);
    // A changed message cannot reuse the received bytes: re-serializing after a header change is the real cost.
    const changed = parseMessage(bytes);
    changed.setHeader('Max-Forwards', '69');
    const serializers = [() => take(serializeMessage(ours).length), () => take(serializeMessage(changed).length)];
    const sipPeer = others.find((p) => p.serialize);
    if (sipPeer) {
      const parsed = sipPeer.parse(bytes);
      serializers.push(() => take(sipPeer.serialize(parsed).length));
    }
    const sns = timeInterleaved(serializers);
    serializeRows.push([
      label,
      sns[0],
      sns[1],
      (bytes.length / sns[1]) * 1000,
      sipPeer ? sns[2] : '-',
      sipPeer ? `${(sns[2] / sns[1]).toFixed(2)}x` : '-',
    ]);
  }

  const invite = fixture('invite.sip').toString('latin1');
  const robustRows = Object.entries(MALFORMED).map(([label, mutate]) => {
    const bytes = Buffer.from(mutate(invite), 'latin1');
    const verdict = (fn) => {
      try {
        fn(bytes);
        return 'accepted';
      } catch {
        return 'rejected';
      }
    };
    return [label, verdict(ourParse), ...others.map((p) => verdict((b) => p.parse(b)))];
  });

  const peerColumns = others.flatMap((p) => [`${p.name} ns`, 'ours faster by']);
  return [
    {
      title: 'SIP parse + reading the transaction fields',
      columns: ['message', 'bytes', 'switchyard ns', 'switchyard MB/s', ...peerColumns],
      rows: parseRows,
      notes: [
        'Fields read: top Via branch, host and port; CSeq number and method; Call-ID; From and To tags.',
        `Median of 9 interleaved batches of >= 25 ms each, one process, Node ${process.version}. checksum ${sink}`,
      ],
    },
    {
      title: 'SIP serialize',
      columns: [
        'message',
        'unchanged ns',
        'after a header change ns',
        'MB/s (changed)',
        'sip 0.0.6 ns',
        'ours faster by',
      ],
      rows: serializeRows,
      notes: [
        'An unchanged parsed message serializes to its received bytes; an edited one keeps its unchanged lines as received. JsSIP and SIP.js have no serializer for a parsed message.',
      ],
    },
    {
      title: 'SIP message layer per server transaction (request in, response out)',
      columns: ['work', 'ns'],
      rows: transactionRows(),
      notes: ["Median of 9 interleaved batches; the stamp is the transport's (RFC 3261 18.2.1, RFC 3581 4)."],
    },
    {
      title: 'Malformed INVITEs: rejected (throws or returns nothing) or accepted',
      columns: ['mutation', 'switchyard', ...others.map((p) => p.name)],
      rows: robustRows,
    },
  ];
}

// Standalone: node bench/sip-parser.bench.mjs transaction   (the per-transaction rows only)
if (import.meta.url === pathToFileURL(process.argv[1]).href && process.argv[2] === 'transaction') {
  for (const [label, ns] of transactionRows()) console.log(`${Math.round(ns)} ns  ${label}`);
}
