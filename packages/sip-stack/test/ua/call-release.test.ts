// A finished call must not keep the embedder's objects alive while its INVITE transactions wait out RFC 6026
// Timers L and M (64*T1, 32 s by default): at hundreds of calls a second that kept every call's whole state.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import type { SipSession } from '../../src/ua/index.js';
import { SDP_A, SDP_B, udpAgent, until, within } from './helpers.js';

type Agent = Awaited<ReturnType<typeof udpAgent>>;

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

/**
 * One call, answered and hung up by the caller. Each side's embedder state is an object only its callbacks capture
 * (onCancel, onEnded, onProgress, beforeAck); the returned WeakRefs say whether the UAs still hold them.
 */
async function callAndHangUp(
  caller: Agent,
  callee: Agent,
): Promise<{ callerSide: WeakRef<object>; calleeSide: WeakRef<object> }> {
  const callerState = { side: 'caller' };
  const calleeState = { side: 'callee' };
  let accepted: Promise<SipSession> | undefined;
  callee.ua.onInvite = (call) => {
    call.onCancel = () => void calleeState;
    accepted = call.accept({ body: SDP_B, contentType: 'application/sdp' });
  };
  const outgoing = caller.ua.call(callee.uri, {
    body: SDP_A,
    onProgress: () => void callerState,
    beforeAck: () => void callerState,
  });
  const a = await within(outgoing.answered);
  await until(() => accepted !== undefined);
  const b = await within(accepted as Promise<SipSession>);
  callee.ua.onInvite = undefined;
  a.events.onEnded = () => void callerState;
  b.events.onEnded = () => void calleeState;
  await within(a.bye());
  await until(() => b.ended);
  return { callerSide: new WeakRef(callerState), calleeSide: new WeakRef(calleeState) };
}

describe('a finished call', () => {
  it('lets go of the embedder state on both sides while the INVITE transactions still absorb retransmissions', async () => {
    const alice = await udpAgent('alice');
    const bob = await udpAgent('bob');
    const { callerSide, calleeSide } = await callAndHangUp(alice, bob);
    // A macrotask first: WeakRef targets made in this job are kept until it ends. Timers L and M (32 s) still run.
    await new Promise((r) => setTimeout(r, 0));
    collectGarbage();
    expect({ caller: callerSide.deref(), callee: calleeSide.deref() }).toEqual({
      caller: undefined,
      callee: undefined,
    });
  });
});
