import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DialogTable } from '../../src/dialog/dialog-table.js';
import { dialogKey, SipDialog } from '../../src/dialog/index.js';
import { parseContacts, parseMessage, type SipRequest } from '../../src/message/index.js';

function inviteFrom(
  callId: string,
  fromTag: string,
  contact = '<sip:alice@192.0.2.1>',
  name = 'Contact',
  second = false,
): SipRequest {
  return parseMessage(
    [
      'INVITE sip:bob@192.0.2.2 SIP/2.0',
      'Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1',
      'Max-Forwards: 70',
      'To: <sip:bob@192.0.2.2>',
      `From: <sip:alice@192.0.2.1>;tag=${fromTag}`,
      `Call-ID: ${callId}`,
      'CSeq: 1 INVITE',
      `${name}: ${contact}`,
      ...(second ? ['Contact: <sip:second@192.0.2.9>'] : []),
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  ) as SipRequest;
}

const entry = (callId: string, localTag: string, remoteTag: string) => ({
  dialog: SipDialog.asUas(inviteFrom(callId, remoteTag), localTag, '<sip:bob@192.0.2.2>', false),
});

describe('DialogTable', () => {
  it('tells apart dialogs sharing a Call-ID (forks, RFC 3261 12.1.2) by their tags', () => {
    const table = new DialogTable<ReturnType<typeof entry>>();
    const a = entry('c1', 'l1', 'r1');
    const b = entry('c1', 'l2', 'r1');
    const c = entry('c2', 'l1', 'r1');
    table.set(a);
    table.set(b);
    table.set(c);
    expect(table.size).toBe(3);
    expect(table.get('c1', 'l1', 'r1')).toBe(a);
    expect(table.get('c1', 'l2', 'r1')).toBe(b);
    expect(table.get('c1', 'l1', 'r2')).toBeUndefined();
    expect(table.get('c2', 'l1', 'r1')).toBe(c);
    expect(table.get('c3', 'l1', 'r1')).toBeUndefined();
    expect(new Set(table.values())).toEqual(new Set([a, b, c]));
    // the same dialog again replaces the old value
    const a2 = entry('c1', 'l1', 'r1');
    table.set(a2);
    expect(table.size).toBe(3);
    expect(table.get('c1', 'l1', 'r1')).toBe(a2);
    // only the value filed under the dialog is removed
    expect(table.delete(a)).toBe(false);
    expect(table.delete(a2)).toBe(true);
    expect(table.get('c1', 'l2', 'r1')).toBe(b);
    expect(table.delete(b)).toBe(true);
    expect(table.delete(c)).toBe(true);
    expect(table.size).toBe(0);
    expect(table.values()).toEqual([]);
  });

  it('finds what a table keyed by dialogKey finds, after any sets and deletes', () => {
    const id = fc.constantFrom('c1', 'c2', 'c3');
    const tag = fc.constantFrom('t1', 't2', 't3');
    const op = fc.record({ set: fc.boolean(), callId: id, local: tag, remote: tag });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const table = new DialogTable<ReturnType<typeof entry>>();
        const model = new Map<string, ReturnType<typeof entry>>();
        for (const o of ops) {
          const key = dialogKey(o.callId, o.local, o.remote);
          if (o.set) {
            const e = entry(o.callId, o.local, o.remote);
            table.set(e);
            model.set(key, e);
          } else {
            const e = model.get(key);
            if (e !== undefined) {
              expect(table.delete(e)).toBe(true);
              model.delete(key);
            }
          }
          expect(table.size).toBe(model.size);
        }
        for (const c of ['c1', 'c2', 'c3'])
          for (const l of ['t1', 't2', 't3'])
            for (const r of ['t1', 't2', 't3']) expect(table.get(c, l, r)).toBe(model.get(dialogKey(c, l, r)));
        expect(new Set(table.values())).toEqual(new Set(model.values()));
      }),
    );
  });

  it('still does once it has grown, with local tags sharing their last characters (one slot, the rest mapped)', () => {
    const ids = ['c1', 'c2', 'c3', 'c4', 'c5'];
    // random-looking hex tags, some ending alike (the same slot at every size), one empty, one non-hex
    const locals = ['a3f09e1c', 'b7c29e1c', '09e1c', '9e1c', 'ffff0000', '00000000', '', 'zq', 'Ab12'];
    const remotes = ['r1', 'r2', '9e1c'];
    const op = fc.record({
      set: fc.boolean(),
      callId: fc.constantFrom(...ids),
      local: fc.constantFrom(...locals),
      remote: fc.constantFrom(...remotes),
    });
    fc.assert(
      fc.property(fc.array(op, { minLength: 20, maxLength: 300 }), (ops) => {
        const table = new DialogTable<ReturnType<typeof entry>>();
        const model = new Map<string, ReturnType<typeof entry>>();
        const gone: ReturnType<typeof entry>[] = [];
        for (const o of ops) {
          const key = dialogKey(o.callId, o.local, o.remote);
          const old = model.get(key);
          if (o.set) {
            const e = entry(o.callId, o.local, o.remote);
            table.set(e);
            model.set(key, e);
            if (old !== undefined) gone.push(old);
          } else if (old !== undefined) {
            expect(table.delete(old)).toBe(true);
            model.delete(key);
            gone.push(old);
          }
          expect(table.size).toBe(model.size);
        }
        for (const e of gone) expect(table.delete(e)).toBe(false);
        for (const c of ids)
          for (const l of locals)
            for (const r of remotes) expect(table.get(c, l, r)).toBe(model.get(dialogKey(c, l, r)));
        expect(new Set(table.values())).toEqual(new Set(model.values()));
        expect(table.values()).toHaveLength(model.size);
      }),
      { numRuns: 200 },
    );
  });
});

describe('SipDialog remote target (RFC 3261 12.1.1)', () => {
  it('reads a Contact the way parseContacts does, whatever its form', () => {
    const contacts = fc.oneof(
      fc.constantFrom(
        '<sip:alice@192.0.2.1>',
        '<sip:alice@192.0.2.1;transport=tcp>',
        '<sip:alice@192.0.2.1>;expires=60',
        '"Alice" <sip:alice@192.0.2.1>',
        'Alice <sip:alice@192.0.2.1>',
        'sip:alice@192.0.2.1',
        '<sip:a@192.0.2.1>, <sip:b@192.0.2.1>',
        '<sips:alice@[2001:db8::1]:5061>',
        '<sip:alice@192.0.2.1?subject=x>',
        '<x>',
      ),
      fc
        .stringMatching(/^[a-z]{1,6}:[!-~]{0,20}$/)
        .filter((u) => !u.includes('>'))
        .map((u) => `<${u}>`),
    );
    fc.assert(
      fc.property(contacts, fc.constantFrom('Contact', 'contact', 'm'), fc.boolean(), (contact, name, second) => {
        let expected: string | Error;
        try {
          const first = parseContacts(contact)[0];
          expected = first.star ? new Error('star') : first.uri;
        } catch (e) {
          expected = e as Error;
        }
        let got: string | Error;
        try {
          const invite = inviteFrom('c', 'r', contact, name, second);
          got = SipDialog.asUas(invite, 'l', '<sip:bob@192.0.2.2>', false).remoteTarget;
        } catch (e) {
          got = e as Error;
        }
        if (typeof expected === 'string') expect(got).toBe(expected);
        else expect(got).toBeInstanceOf(Error);
      }),
    );
  });
});
