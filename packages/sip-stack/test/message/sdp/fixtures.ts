// Session descriptions shaped like those real phones and browsers send, written with CRLF line ends.

const crlf = (lines: string[]): string => `${lines.join('\r\n')}\r\n`;

/** A desk phone offering G.722, PCMU, PCMA, G.729 and RFC 4733 events (Polycom-like). */
export const DESK_PHONE_OFFER = crlf([
  'v=0',
  'o=- 1700000000 1700000000 IN IP4 192.168.1.50',
  's=Polycom IP Phone',
  'c=IN IP4 192.168.1.50',
  't=0 0',
  'a=sendrecv',
  'm=audio 2222 RTP/AVP 9 0 8 18 101',
  'a=rtpmap:9 G722/8000',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:18 G729/8000',
  'a=fmtp:18 annexb=no',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-15',
  'a=ptime:20',
]);

/** A Yealink-like offer: static payload types without rtpmap for G.729, a session name with spaces. */
export const YEALINK_OFFER = crlf([
  'v=0',
  'o=- 20010 20010 IN IP4 10.0.0.23',
  's=SDP data',
  'c=IN IP4 10.0.0.23',
  't=0 0',
  'm=audio 11796 RTP/AVP 9 0 8 18 101',
  'a=rtpmap:9 G722/8000',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=fmtp:18 annexb=no',
  'a=ptime:20',
  'a=sendrecv',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-15',
]);

/** A browser offer (Chrome-like): ICE, DTLS, rtcp-mux, opus, RED, two telephone-event clock rates, BUNDLE. */
export const WEBRTC_OFFER = crlf([
  'v=0',
  'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0',
  'a=extmap-allow-mixed',
  'a=msid-semantic: WMS stream1',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126',
  'c=IN IP4 0.0.0.0',
  'a=rtcp:9 IN IP4 0.0.0.0',
  'a=candidate:1467250027 1 udp 2122260223 192.168.0.196 46243 typ host generation 0 network-id 1',
  'a=candidate:435653019 1 tcp 1518280447 192.168.0.196 9 typ host tcptype active generation 0 network-id 1',
  'a=end-of-candidates',
  'a=ice-ufrag:Oyef',
  'a=ice-pwd:8zTvS4lfN4TBvTQ6dJ4eZj7a',
  'a=ice-options:trickle',
  'a=fingerprint:sha-256 7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08',
  'a=setup:actpass',
  'a=mid:0',
  'a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level',
  'a=sendrecv',
  'a=msid:stream1 track1',
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
  'a=ssrc:3735928559 cname:4TOk42mSjXCkVIa6',
  'a=ssrc:3735928559 msid:stream1 track1',
]);

/** An IPv6 offer with an explicit RTCP port and address (RFC 3605). */
export const IPV6_OFFER = crlf([
  'v=0',
  'o=alice 2890844526 2890844527 IN IP6 2001:db8::10',
  's= ',
  'c=IN IP6 2001:db8::10',
  't=0 0',
  'm=audio 49170 RTP/AVP 0 8 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-16',
  'a=rtcp:49171 IN IP6 2001:db8::10',
  'a=sendrecv',
]);

/** An SDES-SRTP offer (RFC 4568) with two suites, lifetimes, MKIs and session parameters. */
export const SRTP_OFFER = crlf([
  'v=0',
  'o=root 1234 5678 IN IP4 203.0.113.5',
  's=Asterisk',
  'c=IN IP4 203.0.113.5',
  'b=CT:384',
  't=0 0',
  'm=audio 17000 RTP/SAVP 0 101',
  'b=AS:64',
  'a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4',
  'a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj|2^20|1:4 KDR=1 UNENCRYPTED_SRTCP',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-16',
  'a=ptime:20',
  'a=maxptime:150',
  'a=sendrecv',
]);

/** Audio plus video (the video to be rejected by an audio-only answerer). */
export const AUDIO_VIDEO_OFFER = crlf([
  'v=0',
  'o=bob 42 1 IN IP4 198.51.100.7',
  's=-',
  'c=IN IP4 198.51.100.7',
  't=0 0',
  'm=audio 30000 RTP/AVP 0 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-15',
  'm=video 30002 RTP/AVP 99',
  'a=rtpmap:99 H264/90000',
  'a=fmtp:99 profile-level-id=42e01f;packetization-mode=1',
]);

export const ALL_FIXTURES: Record<string, string> = {
  DESK_PHONE_OFFER,
  YEALINK_OFFER,
  WEBRTC_OFFER,
  IPV6_OFFER,
  SRTP_OFFER,
  AUDIO_VIDEO_OFFER,
};
