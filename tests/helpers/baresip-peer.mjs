// Our side of the baresip interop test, run inside a private network namespace: a registrar and UAS on
// sip-stack that prints one JSON line per event. With `call` as the second argument it also calls the first
// contact that registers, once it has registered, and hangs up a second after the answer.
import { createResponse, DigestServer, SipTransportLayer, UserAgent } from '@switchyard/sip-stack';

const port = Number(process.argv[2]);
const mode = process.argv[3] ?? 'answer';
const say = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);
const ANSWER = [
  'v=0',
  'o=- 7 7 IN IP4 127.0.0.1',
  's=-',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 31000 RTP/AVP 0',
  'a=rtpmap:0 PCMU/8000',
  'a=sendrecv',
  '',
].join('\r\n');

const transport = new SipTransportLayer();
await transport.listen(`udp://127.0.0.1:${port}`);
// baresip 1.0 (libre) fails on any challenge it cannot compute, so only MD5 is offered here.
const server = new DigestServer({
  realm: '127.0.0.1',
  algorithms: ['MD5'],
  credentials: { lookup: (_realm, user) => (user === 'alice' ? { password: 'wonderland' } : undefined) },
});
const ua = new UserAgent({
  transport,
  aor: `sip:pbx@127.0.0.1:${port}`,
  authenticator: { server, methods: ['REGISTER', 'INVITE'] },
});
let called = false;
ua.onRequest = (request, tx) => {
  if (request.method !== 'REGISTER') {
    tx.reply(405);
    return;
  }
  const contact = request.contacts()[0];
  const expires = contact?.expires ?? request.expires() ?? 3600;
  say({ event: 'register', contact: contact?.uri, expires, authorized: request.hasHeader('authorization') });
  tx.respond(
    createResponse(request, 200, 'OK', {
      headers: contact && expires > 0 ? [['Contact', `<${contact.uri}>;expires=${expires}`]] : [],
    }),
  );
  // The phone unregisters as it quits: our part is over.
  if (expires === 0) setTimeout(() => process.exit(0), 200);
  if (mode === 'call' && !called && contact && expires > 0) {
    called = true;
    setTimeout(() => void callOut(contact.uri), 200);
  }
};
ua.onInvite = (call) => {
  say({ event: 'invite', from: call.request.from().uri, authorized: call.request.hasHeader('authorization') });
  call.ring();
  call.accept({ body: ANSWER, contentType: 'application/sdp' }).then(
    (session) => {
      say({ event: 'established', remoteSdp: Buffer.from(session.remoteBody).toString().includes('m=audio') });
      session.events.onEnded = (by) => say({ event: 'ended', by });
    },
    (err) => say({ event: 'accept-failed', status: err.status }),
  );
};

async function callOut(target) {
  const call = ua.call(target, { body: ANSWER, onProgress: (r) => say({ event: 'progress', status: r.status }) });
  try {
    const session = await call.answered;
    say({ event: 'answered', sdp: Buffer.from(session.remoteBody).toString().includes('PCMU') });
    setTimeout(async () => {
      const bye = await session.request('BYE').catch((e) => ({ status: e.status }));
      say({ event: 'bye-answered', status: bye.status });
    }, 1000);
  } catch (err) {
    say({ event: 'call-failed', status: err.status });
  }
}

say({ event: 'ready', port });
// Bounded: the process ends by itself whatever the peer does.
setTimeout(() => process.exit(0), Number(process.argv[4] ?? 12000));
