// RFC 4733 telephone-events (DTMF named events 0-15, section 3.2) sent and received as RTP payloads.
import { RtpError } from './errors.js';

const DIGITS = '0123456789*#ABCD';
// packets older than the current event by less than this (about 2 minutes at 8 kHz) are late; further back, the
// timestamps belong to a new timeline
const STALE_WINDOW = 0x100000;

/** The DTMF character of RFC 4733 event code 0..15, or '' for other events. */
export function telephoneEventToDigit(event: number): string {
  return event >= 0 && event < 16 ? DIGITS[event] : '';
}

/** The RFC 4733 event code of a DTMF character ('0'-'9', '*', '#', 'A'-'D', case-insensitive), or -1. */
export function digitToTelephoneEvent(digit: string): number {
  return digit.length === 1 ? DIGITS.indexOf(digit.toUpperCase()) : -1;
}

/** Options of TelephoneEventSender. */
export interface TelephoneEventSenderOptions {
  /** RTP clock rate of the telephone-event payload type (default 8000). */
  clockRate?: number;
  /** Interval between update packets in ms (RFC 4733 2.5.1.2; default 50). */
  packetIntervalMs?: number;
  /** Volume in -dBm0 (0..63, default 10). */
  volume?: number;
}

/**
 * Produces the RFC 4733 packets of one event at a time (2.5.1): a first packet with the marker bit, updates every
 * interval with the same timestamp and a growing duration, then three end packets with the E bit. Events longer
 * than the 16-bit duration are sent as segments (2.5.1.3). Pure: the caller sends each packet when `dueMs` says.
 */
export class TelephoneEventSender {
  /** Fields of the packet `next` just wrote. */
  marker = false;
  timestamp = 0;
  end = false;
  /** When to send it, in ms after `start`. */
  dueMs = 0;
  private readonly rate: number;
  private readonly intervalMs: number;
  private readonly volume: number;
  private event = -1;
  private totalSamples = 0;
  private intervalSamples = 0;
  private update = 0; // index of the next update packet
  private segmentStart = 0; // samples since the event start where the current segment begins
  private baseTimestamp = 0;
  private endsSent = 0;

  constructor(options: TelephoneEventSenderOptions = {}) {
    this.rate = options.clockRate ?? 8000;
    this.intervalMs = options.packetIntervalMs ?? 50;
    this.volume = Math.min(63, Math.max(0, options.volume ?? 10));
  }

  /** True while packets of the current event remain. */
  get active(): boolean {
    return this.event >= 0;
  }

  /** Starts an event ('0'-'9', '*', '#', 'A'-'D' or an event code) lasting `durationMs`, at RTP `timestamp`. */
  start(digit: string | number, durationMs: number, timestamp: number): void {
    const event = typeof digit === 'number' ? digit : digitToTelephoneEvent(digit);
    if (!Number.isInteger(event) || event < 0 || event > 255) {
      throw new RtpError('INVALID_ARGUMENT', `not a telephone event: ${String(digit).slice(0, 8)}`);
    }
    if (!(durationMs > 0)) throw new RtpError('INVALID_ARGUMENT', 'duration must be positive');
    this.event = event;
    this.totalSamples = Math.max(1, Math.round((durationMs * this.rate) / 1000));
    this.intervalSamples = Math.max(1, Math.round((this.intervalMs * this.rate) / 1000));
    this.update = 0;
    this.segmentStart = 0;
    this.baseTimestamp = timestamp >>> 0;
    this.endsSent = 0;
  }

  /** Abandons the event (no more packets). */
  cancel(): void {
    this.event = -1;
  }

  /** Writes the next 4-octet payload at `out[offset..]` and sets marker/timestamp/end/dueMs; 0 when done. */
  next(out: Uint8Array, offset: number): number {
    if (this.event < 0) return 0;
    let elapsed: number;
    let dueSamples: number;
    let end = false;
    const startOfUpdate = this.update * this.intervalSamples;
    if (startOfUpdate < this.totalSamples) {
      // update k goes out at k * interval and covers the event up to the end of that interval
      elapsed = Math.min(startOfUpdate + this.intervalSamples, this.totalSamples);
      dueSamples = startOfUpdate;
      this.update++;
    } else {
      // RFC 4733 2.5.1.4: the end packet goes out three times, spaced by 20 ms
      elapsed = this.totalSamples;
      dueSamples = this.totalSamples + this.endsSent * Math.round(this.rate / 50);
      end = true;
      this.endsSent++;
    }
    let duration = elapsed - this.segmentStart;
    let marker = this.update === 1 && !end && this.segmentStart === 0;
    if (duration > 0xffff) {
      // RFC 4733 2.5.1.3: the duration field cannot grow past 0xFFFF: close this segment at 0xFFFF (no E bit)
      // and continue with a new one whose timestamp is 0xFFFF later; this packet is re-sent in the new segment
      duration = 0xffff;
      end = false;
      marker = false;
      if (this.endsSent > 0) this.endsSent--;
      else this.update--;
      this.timestamp = (this.baseTimestamp + this.segmentStart) >>> 0;
      this.segmentStart += 0xffff;
    } else {
      this.timestamp = (this.baseTimestamp + this.segmentStart) >>> 0;
    }
    this.marker = marker;
    this.end = end;
    this.dueMs = (dueSamples * 1000) / this.rate;
    out[offset] = this.event;
    out[offset + 1] = (end ? 0x80 : 0) | this.volume;
    out[offset + 2] = duration >>> 8;
    out[offset + 3] = duration & 0xff;
    if (end && this.endsSent >= 3) this.event = -1;
    return 4;
  }
}

/** Called once per received event: the DTMF character ('' for events above 15), duration in ms, event code. */
export type TelephoneEventListener = (digit: string, durationMs: number, event: number) => void;

/** Options of TelephoneEventReceiver. */
export interface TelephoneEventReceiverOptions {
  clockRate?: number;
  /** An event with no packets for this long and no end packet seen is reported anyway (default 1000 ms). */
  endTimeoutMs?: number;
}

/**
 * Turns RFC 4733 packets into one report per event, whatever the order, duplicates or losses: an event is keyed by
 * its RTP timestamp (2.5.2), reported at its first end packet, or when a later event starts or `check` times it
 * out if the end packets were lost. Segments of a long event (2.5.1.3) are joined into one report. Pass `nowMs`
 * to `receive` when using `check`, and the SSRC when it can change.
 */
export class TelephoneEventReceiver {
  /** Events reported, and packets ignored as stale or malformed. */
  reported = 0;
  ignored = 0;
  private readonly rate: number;
  private readonly endTimeout: number;
  private readonly onEvent: TelephoneEventListener;
  private active = false; // an event is open
  private event = 0;
  private timestamp = 0; // of the current segment
  private baseDuration = 0; // samples of earlier segments of the same event
  private duration = 0; // samples of the current segment
  private ended = false;
  private lastPacketMs = 0;
  private haveLast = false;
  private lastTimestamp = 0; // of the most recent event or segment seen, to reject older ones
  private ssrc: number | undefined;

  constructor(onEvent: TelephoneEventListener, options: TelephoneEventReceiverOptions = {}) {
    this.onEvent = onEvent;
    this.rate = options.clockRate ?? 8000;
    this.endTimeout = options.endTimeoutMs ?? 1000;
  }

  /**
   * One received telephone-event packet: `packet[offset..offset+length)` is the RTP payload, with the packet's RTP
   * timestamp and marker bit; `nowMs` (optional) feeds the end timeout.
   */
  receive(
    packet: Uint8Array,
    offset: number,
    length: number,
    timestamp: number,
    _marker: boolean,
    nowMs = 0,
    ssrc?: number,
  ): void {
    if (length < 4 || offset + 4 > packet.length) {
      this.ignored++;
      return;
    }
    if (ssrc !== undefined && ssrc !== this.ssrc) {
      // a new source: its timestamps are unrelated to the old one's (an open event of the old source is reported)
      this.reset();
      this.ssrc = ssrc;
    }
    const event = packet[offset];
    const end = (packet[offset + 1] & 0x80) !== 0;
    const duration = (packet[offset + 2] << 8) | packet[offset + 3];
    timestamp >>>= 0;
    this.lastPacketMs = nowMs;
    if (this.haveLast) {
      const age = (timestamp - this.lastTimestamp) | 0;
      if (age < 0 && age > -STALE_WINDOW) {
        this.ignored++; // a packet of an event older than the current one: late or duplicate
        return;
      }
      if (age === 0) {
        if (!this.active || event !== this.event) {
          this.ignored++; // the event was already reported (or a conflicting code at the same time)
          return;
        }
        if (duration > this.duration) this.duration = duration;
        if (end && !this.ended) this.finish();
        return;
      }
      // a new timestamp: a later segment of the same long event, or a new event (or, far in the past, a new
      // timeline the caller did not announce with an SSRC)
      // (the closing packet of a segment carries 0xFFFF; if it was lost, the last update is within ~0.5 s of it)
      if (this.active && !this.ended && event === this.event && this.duration >= 0xf000) {
        const gap = (timestamp - this.timestamp) | 0;
        if (gap > 0 && gap <= 0xffff && gap >= this.duration) {
          this.baseDuration += gap;
          this.timestamp = timestamp;
          this.lastTimestamp = timestamp;
          this.duration = duration;
          if (end) this.finish();
          return;
        }
      }
      if (this.active && !this.ended) this.finish(); // its end packets were lost
    }
    this.active = true;
    this.haveLast = true;
    this.event = event;
    this.timestamp = timestamp;
    this.lastTimestamp = timestamp;
    this.baseDuration = 0;
    this.duration = duration;
    this.ended = false;
    if (end) this.finish();
  }

  /** Forgets the current stream (reporting an open event first), e.g. when the SSRC changes. */
  reset(): void {
    if (this.active && !this.ended) this.finish();
    this.active = false;
    this.haveLast = false;
  }

  /** Reports an open event whose end packets never came once `endTimeoutMs` passed without packets. */
  check(nowMs: number): void {
    if (this.active && !this.ended && nowMs - this.lastPacketMs >= this.endTimeout) this.finish();
  }

  private finish(): void {
    this.ended = true;
    this.reported++;
    const samples = this.baseDuration + this.duration;
    this.onEvent(telephoneEventToDigit(this.event), (samples * 1000) / this.rate, this.event);
  }
}
