// Media anchoring cost per call: the SDP work of one anchored call on the main thread (read the caller's offer,
// offer a callee, read its answer, answer the caller), and whole anchored setups through a real media engine (open
// the caller's endpoint, one callee endpoint, bridge, close) per second. Uses the built packages (npx tsc -b first).
import { MediaEngine } from '@switchyard/media';
import {
  answerMediaOffer,
  createMediaOffer,
  defaultEngineCodecs,
  MediaAnchor,
  readMediaAnswer,
  readMediaOffer,
} from '@switchyard/pbx-core';
import { createSdpAnswer, parseSdp, serializeSdp } from '@switchyard/sip-stack';

const CALLER_OFFER = [
  'v=0',
  'o=- 1 1 IN IP4 127.0.0.1',
  's=-',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 40000 RTP/AVP 0 8 9 101',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-16',
  'a=ptime:20',
  'a=sendrecv',
  '',
].join('\r\n');

function calleeAnswer(offer, codec) {
  return serializeSdp(
    createSdpAnswer(parseSdp(offer), {
      address: '127.0.0.1',
      sessionId: '7',
      media: [{ port: 40002, codecs: [{ encodingName: codec, clockRate: 8000 }], telephoneEvent: true }],
    }),
  );
}

/** The SDP translation of one call, main thread only: microseconds per call. */
function sdpWork(iterations) {
  const codecs = defaultEngineCodecs(false);
  const local = { address: '127.0.0.1', port: 30000, sessionId: '1' };
  const ourOffer = serializeSdp(createMediaOffer(local, codecs));
  const answer = calleeAnswer(ourOffer, 'G722');
  let sink = 0;
  const run = (n) => {
    for (let i = 0; i < n; i++) {
      const offer = readMediaOffer(CALLER_OFFER, 4);
      const toCallee = createMediaOffer(local, codecs);
      const fromCallee = readMediaAnswer(toCallee, answer, 4);
      const toCaller = answerMediaOffer(offer, local, offer.codecs[0]);
      sink += serializeSdp(toCallee).length + serializeSdp(toCaller).length + fromCallee.codec.payloadType;
    }
  };
  run(Math.min(2000, iterations)); // warm-up
  const t0 = process.hrtime.bigint();
  run(iterations);
  const ns = Number(process.hrtime.bigint() - t0);
  if (sink === 0) throw new Error('nothing computed');
  return ns / iterations / 1000;
}

/** Whole anchored setups (and teardowns) through the engine, `concurrency` at a time. */
async function setups(calleeCodec, total, concurrency) {
  const engine = await MediaEngine.start({
    workers: 1,
    portRange: { min: 47000, max: 48999 },
    statisticsIntervalMs: 0,
  });
  const anchor = new MediaAnchor({ engine, address: '127.0.0.1', codecs: defaultEngineCodecs(false) });
  let next = 0;
  const one = async () => {
    const id = next++;
    const call = await anchor.open(`c${id}`, Buffer.from(CALLER_OFFER));
    const offer = await call.offerTo('leg');
    await call.answered('leg', Buffer.from(calleeAnswer(offer, calleeCodec)));
    await call.close();
  };
  const worker = async () => {
    while (next < total) await one();
  };
  // Warm-up, then the measured run.
  await Promise.all(Array.from({ length: concurrency }, worker));
  next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const ms = performance.now() - t0;
  const leaked = anchor.endpointCount;
  anchor.detach();
  await engine.shutdown();
  return { perSecond: (total / ms) * 1000, leaked };
}

export default async function () {
  const us = sdpWork(20000);
  const relay = await setups('PCMU', 2000, 16);
  const transcode = await setups('G722', 2000, 16);
  return {
    title: 'Media anchoring per call',
    columns: ['what', 'value', 'unit'],
    rows: [
      ['SDP translation of one call (4 descriptions read or written)', us, 'us/call (main thread)'],
      ['anchored setups+teardowns, relay (PCMU-PCMU), 1 worker', relay.perSecond, 'calls/s'],
      ['anchored setups+teardowns, transcode (PCMU-G722), 1 worker', transcode.perSecond, 'calls/s'],
      ['endpoints left open after the runs', relay.leaked + transcode.leaked, 'endpoints'],
    ],
    notes: [
      'Setups: open the caller endpoint, one callee endpoint, apply the answer, bridge, close both; 16 calls in flight.',
      'No RTP flows here: media capacity is in media-engine.bench.mjs.',
    ],
  };
}
