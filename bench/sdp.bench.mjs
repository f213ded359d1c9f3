// SDP (RFC 4566) parse/serialize and RFC 3264 offer/answer, per operation, on a desk phone's and a browser's offer.
import { createSdpAnswer, negotiateSdp, parseSdp, serializeSdp } from '@switchyard/sip-stack';

const DESK_PHONE_OFFER = [
  'v=0',
  'o=- 20518 0 IN IP4 192.0.2.10',
  's=SDP data',
  'c=IN IP4 192.0.2.10',
  't=0 0',
  'm=audio 11796 RTP/AVP 9 0 8 18 101',
  'a=rtpmap:9 G722/8000',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:18 G729/8000',
  'a=fmtp:18 annexb=no',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-15',
  'a=ptime:20',
  'a=sendrecv',
  '',
].join('\r\n');

const WEBRTC_OFFER = [
  'v=0',
  'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0',
  'a=msid-semantic: WMS',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126',
  'c=IN IP4 0.0.0.0',
  'a=rtcp:9 IN IP4 0.0.0.0',
  'a=ice-ufrag:Fp7w',
  'a=ice-pwd:x5yqXzXr9mRaCqGPd8tVZ1Cq',
  'a=ice-options:trickle',
  'a=fingerprint:sha-256 7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08',
  'a=setup:actpass',
  'a=mid:0',
  'a=sendrecv',
  'a=rtcp-mux',
  'a=rtpmap:111 opus/48000/2',
  'a=rtcp-fb:111 transport-cc',
  'a=fmtp:111 minptime=10;useinbandfec=1',
  'a=rtpmap:63 red/48000/2',
  'a=fmtp:63 111/111',
  'a=rtpmap:9 G722/8000',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:13 CN/8000',
  'a=rtpmap:110 telephone-event/48000',
  'a=rtpmap:126 telephone-event/8000',
  'a=ssrc:1001 cname:x1',
  'a=candidate:1 1 udp 2122260223 127.0.0.1 54321 typ host generation 0',
  '',
].join('\r\n');

const capabilities = {
  address: '198.51.100.7',
  sessionId: '1',
  media: [
    {
      port: 40000,
      codecs: [
        { encodingName: 'G722', clockRate: 8000 },
        { encodingName: 'PCMU', clockRate: 8000 },
      ],
      telephoneEvent: true,
      ptime: 20,
    },
  ],
};

function measure(fn, minMs = 30) {
  for (let i = 0; i < 2000; i++) fn();
  const samples = [];
  for (let batch = 0; batch < 7; batch++) {
    let n = 0;
    const t0 = process.hrtime.bigint();
    let elapsed = 0n;
    do {
      for (let i = 0; i < 500; i++) fn();
      n += 500;
      elapsed = process.hrtime.bigint() - t0;
    } while (elapsed < BigInt(minMs) * 1_000_000n);
    samples.push(Number(elapsed) / n);
  }
  samples.sort((a, b) => a - b);
  return samples[3];
}

export default async function sdpBench() {
  const desk = parseSdp(DESK_PHONE_OFFER);
  const webrtc = parseSdp(WEBRTC_OFFER);
  const answer = createSdpAnswer(desk, capabilities);
  const rows = [];
  const add = (name, bytes, fn) => {
    const ns = measure(fn);
    rows.push([name, ns / 1000, bytes ? (bytes / ns) * 1000 : '-']);
  };
  add(`parse desk phone offer (${DESK_PHONE_OFFER.length} B)`, DESK_PHONE_OFFER.length, () =>
    parseSdp(DESK_PHONE_OFFER),
  );
  add(`parse WebRTC offer (${WEBRTC_OFFER.length} B)`, WEBRTC_OFFER.length, () => parseSdp(WEBRTC_OFFER));
  add('serialize desk phone offer', DESK_PHONE_OFFER.length, () => serializeSdp(desk));
  add('serialize WebRTC offer', WEBRTC_OFFER.length, () => serializeSdp(webrtc));
  add('createSdpAnswer (desk phone)', 0, () => createSdpAnswer(desk, capabilities));
  add('negotiateSdp (desk phone)', 0, () => negotiateSdp(desk, answer, 'answerer'));
  return {
    title: 'SDP: parse, serialize, offer/answer',
    columns: ['operation', 'µs/op', 'MB/s'],
    rows,
    notes: ['Median of 7 batches of at least 30 ms each, after 2,000 warm-up calls.'],
  };
}
