// The codec contract shared by the media engine, the DSP helpers and the RTP layer.

export interface AudioEncoder {
  readonly encoding: string; // SDP encoding name: 'PCMU', 'PCMA', 'G722', 'opus', 'L16'
  readonly sampleRate: number; // PCM rate consumed: 8000 (G.711), 16000 (G.722), 48000 (Opus), L16 as configured
  /** Encodes one frame of PCM into out, returns bytes written. No allocation. */
  encodeInto(pcm: Int16Array, out: Uint8Array): number;
  reset(): void;
}

export interface AudioDecoder {
  readonly encoding: string;
  readonly sampleRate: number; // PCM rate produced
  /** Decodes one payload into out, returns samples written. No allocation. */
  decodeInto(payload: Uint8Array, out: Int16Array): number;
  /** Fills `samples` samples of concealment for a lost frame (PLC), returns samples written. */
  conceal(out: Int16Array, samples: number): number;
  /** Optional: decodes the first `length` bytes of `buf` (a jitter-buffer slot), sparing a view per packet. */
  decodeSlot?(buf: Uint8Array, length: number, out: Int16Array): number;
  /**
   * Optional (codecs with in-band FEC, Opus): rebuilds a lost frame of `samples` from the first `length` bytes of
   * the packet after it; the codec's PLC when that packet carries no redundancy. Decode that packet afterwards.
   */
  recoverInto?(next: Uint8Array, length: number, out: Int16Array, samples: number): number;
  reset(): void;
}

export interface CodecOptions {
  sampleRate?: number;
  channels?: number;
}
