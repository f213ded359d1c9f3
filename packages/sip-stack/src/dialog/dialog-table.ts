// A table of things that live in a dialog, found by the dialog's ID (RFC 3261 12: Call-ID, local tag, remote tag).
// Two levels. First, slots picked by the last characters of the local tag: the tags this stack makes are random
// hex, so they spread evenly, and a lookup costs the comparison of the ID and no hashing of a Call-ID string (a
// request's Call-ID is a fresh slice of its text: hashing it, and a Map's insert and delete, cost more than the
// compare). Second, for a value whose slot is taken (forks share a local tag, RFC 3261 12.1.2), a Map by Call-ID.
import type { SipDialog } from './dialog.js';

/** Something filed under its dialog. */
export interface InDialog {
  readonly dialog: SipDialog;
}

function sameDialog(d: SipDialog, callId: string, localTag: string, remoteTag: string): boolean {
  // the local tag first: it tells most other dialogs apart at its first character
  return d.localTag === localTag && d.remoteTag === remoteTag && d.callId === callId;
}

function sameId(a: SipDialog, b: SipDialog): boolean {
  return sameDialog(a, b.callId, b.localTag, b.remoteTag);
}

/** The value of a hex digit ('0'-'9', 'a'-'f', 'A'-'F'); some other small number for any other character. */
function hexValue(c: number): number {
  return (c & 15) + 9 * (c >> 6);
}

/** Where a local tag goes among `mask + 1` slots: its last four characters (any tag gets some slot). */
function slotOf(tag: string, mask: number): number {
  const n = tag.length;
  if (n < 4) return n === 0 ? 0 : hexValue(tag.charCodeAt(n - 1)) & mask;
  const h =
    hexValue(tag.charCodeAt(n - 1)) |
    (hexValue(tag.charCodeAt(n - 2)) << 4) |
    (hexValue(tag.charCodeAt(n - 3)) << 8) |
    (hexValue(tag.charCodeAt(n - 4)) << 12);
  return h & mask;
}

/** First and largest slot counts: the slots double once a quarter of them would hold every value (few collide). */
const FIRST_SLOTS = 64;
const MOST_SLOTS = 65536;

/** Dialog ID -> value, one value per dialog. */
export class DialogTable<T extends InDialog> {
  /** The first level (made on first use), `slots.length - 1` as the mask of slotOf. */
  private slots: (T | undefined)[] | undefined = undefined;
  /** The second level: dialogs of one Call-ID share an entry. */
  private readonly byCallId = new Map<string, T | T[]>();
  private count = 0;
  /** Values in the slots. */
  private slotted = 0;

  get size(): number {
    return this.count;
  }

  get(callId: string, localTag: string, remoteTag: string): T | undefined {
    const slots = this.slots;
    if (slots !== undefined) {
      const v = slots[slotOf(localTag, slots.length - 1)];
      if (v !== undefined && sameDialog(v.dialog, callId, localTag, remoteTag)) return v;
    }
    return this.count === this.slotted ? undefined : this.getMapped(callId, localTag, remoteTag);
  }

  private getMapped(callId: string, localTag: string, remoteTag: string): T | undefined {
    const entry = this.byCallId.get(callId);
    if (entry === undefined) return undefined;
    if (!Array.isArray(entry)) return sameDialog(entry.dialog, callId, localTag, remoteTag) ? entry : undefined;
    for (let i = 0; i < entry.length; i++)
      if (sameDialog(entry[i].dialog, callId, localTag, remoteTag)) return entry[i];
    return undefined;
  }

  /** Files `value` under its dialog, in place of whatever held that dialog. */
  set(value: T): void {
    let slots = this.slots;
    if (slots === undefined) {
      slots = new Array<T | undefined>(FIRST_SLOTS).fill(undefined);
      this.slots = slots;
    }
    this.file(value, slots);
    if (this.count * 4 > slots.length && slots.length < MOST_SLOTS) this.grow(slots.length * 2);
  }

  private file(value: T, slots: (T | undefined)[]): void {
    const d = value.dialog;
    const s = slotOf(d.localTag, slots.length - 1);
    const held = slots[s];
    if (held !== undefined && sameId(held.dialog, d)) {
      slots[s] = value;
      return;
    }
    if (this.count !== this.slotted && this.replaceMapped(value)) return;
    if (held === undefined) {
      slots[s] = value;
      this.slotted++;
    } else this.addMapped(value);
    this.count++;
  }

  /** Puts `value` in place of the mapped value of its dialog, if there is one. */
  private replaceMapped(value: T): boolean {
    const d = value.dialog;
    const entry = this.byCallId.get(d.callId);
    if (entry === undefined) return false;
    if (!Array.isArray(entry)) {
      if (!sameId(entry.dialog, d)) return false;
      this.byCallId.set(d.callId, value);
      return true;
    }
    for (let i = 0; i < entry.length; i++) {
      if (sameId(entry[i].dialog, d)) {
        entry[i] = value;
        return true;
      }
    }
    return false;
  }

  /** Maps a value no other value holds the dialog of. */
  private addMapped(value: T): void {
    const callId = value.dialog.callId;
    const entry = this.byCallId.get(callId);
    if (entry === undefined) this.byCallId.set(callId, value);
    else if (Array.isArray(entry)) entry.push(value);
    else this.byCallId.set(callId, [entry, value]);
  }

  /** More slots; every value filed again (a mapped one moves to a slot where its own is free). */
  private grow(length: number): void {
    const all = this.values();
    const slots = new Array<T | undefined>(length).fill(undefined);
    this.slots = slots;
    this.byCallId.clear();
    this.count = 0;
    this.slotted = 0;
    for (const v of all) this.file(v, slots);
  }

  /** Removes `value` if it is the one filed under its dialog; says whether it was. */
  delete(value: T): boolean {
    const slots = this.slots;
    if (slots === undefined) return false;
    const s = slotOf(value.dialog.localTag, slots.length - 1);
    if (slots[s] === value) {
      slots[s] = undefined;
      this.slotted--;
      this.count--;
      return true;
    }
    if (this.count === this.slotted) return false;
    const callId = value.dialog.callId;
    const entry = this.byCallId.get(callId);
    if (entry === value) {
      this.byCallId.delete(callId);
      this.count--;
      return true;
    }
    if (entry === undefined || !Array.isArray(entry)) return false;
    const i = entry.indexOf(value);
    if (i < 0) return false;
    entry.splice(i, 1);
    this.count--;
    if (entry.length === 1) this.byCallId.set(callId, entry[0]);
    return true;
  }

  /** Every value, in no particular order. */
  values(): T[] {
    const out: T[] = [];
    if (this.slotted > 0) for (const v of this.slots ?? []) if (v !== undefined) out.push(v);
    if (this.count !== this.slotted) {
      for (const entry of this.byCallId.values()) {
        if (Array.isArray(entry)) for (const v of entry) out.push(v);
        else out.push(entry);
      }
    }
    return out;
  }
}
