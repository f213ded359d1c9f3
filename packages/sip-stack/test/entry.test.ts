import { describe, expect, it } from 'vitest';
import { SIP_STACK_LAYERS } from '../src/index.js';

describe('sip-stack entry', () => {
  it('names its layers', () => {
    expect(SIP_STACK_LAYERS).toContain('message');
  });
});
