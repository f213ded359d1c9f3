// A table of things that live in a dialog, found by the dialog's ID (RFC 3261 12: Call-ID, local tag, remote tag).
// Filed by Call-ID and told apart by the tags: a lookup hashes the Call-ID string the message already holds
// instead of building, flattening and hashing one more key string per request.
import type { SipDialog } from './dialog.js';

/** Something filed under its dialog. */
export interface InDialog {
  readonly dialog: SipDialog;
}

function sameDialog(d: SipDialog, localTag: string, remoteTag: string): boolean {
  return d.localTag === localTag && d.remoteTag === remoteTag;
}

/** Dialog ID -> value, one value per dialog; the dialogs of one Call-ID (forks, RFC 3261 12.1.2) share an entry. */
export class DialogTable<T extends InDialog> {
  private readonly byCallId = new Map<string, T | T[]>();
  private count = 0;
  /** How many Call-IDs hold more than one dialog (then `values` is grouped by Call-ID, not in filing order). */
  private shared = 0;

  get size(): number {
    return this.count;
  }

  /** Whether some Call-ID holds more than one dialog. */
  get grouped(): boolean {
    return this.shared > 0;
  }

  get(callId: string, localTag: string, remoteTag: string): T | undefined {
    const entry = this.byCallId.get(callId);
    if (entry === undefined) return undefined;
    if (!Array.isArray(entry)) return sameDialog(entry.dialog, localTag, remoteTag) ? entry : undefined;
    for (let i = 0; i < entry.length; i++) if (sameDialog(entry[i].dialog, localTag, remoteTag)) return entry[i];
    return undefined;
  }

  /** Files `value` under its dialog, in place of whatever held that dialog. */
  set(value: T): void {
    const d = value.dialog;
    const callId = d.callId;
    const entry = this.byCallId.get(callId);
    if (entry === undefined) {
      this.byCallId.set(callId, value);
      this.count++;
      return;
    }
    if (!Array.isArray(entry)) {
      if (sameDialog(entry.dialog, d.localTag, d.remoteTag)) this.byCallId.set(callId, value);
      else {
        this.byCallId.set(callId, [entry, value]);
        this.count++;
        this.shared++;
      }
      return;
    }
    for (let i = 0; i < entry.length; i++) {
      if (sameDialog(entry[i].dialog, d.localTag, d.remoteTag)) {
        entry[i] = value;
        return;
      }
    }
    entry.push(value);
    this.count++;
  }

  /** Removes `value` if it is the one filed under its dialog; says whether it was. */
  delete(value: T): boolean {
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
    if (entry.length === 1) {
      this.byCallId.set(callId, entry[0]);
      this.shared--;
    }
    return true;
  }

  /** Every value, grouped by Call-ID (in filing order when no Call-ID holds two dialogs). */
  values(): T[] {
    const out: T[] = [];
    for (const entry of this.byCallId.values()) {
      if (Array.isArray(entry)) for (const v of entry) out.push(v);
      else out.push(entry);
    }
    return out;
  }
}
