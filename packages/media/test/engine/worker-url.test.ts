import { describe, expect, it } from 'vitest';
import { resolveMediaWorkerScript } from '../../src/engine/index.js';

describe('resolveMediaWorkerScript', () => {
  it('points source runs at the compiled worker in dist', () => {
    const url = resolveMediaWorkerScript();
    expect(url.pathname.endsWith('/packages/media/dist/engine/media-worker.js')).toBe(true);
  });

  it('refuses a script that does not exist, naming the build command', () => {
    expect(() => resolveMediaWorkerScript(new URL('file:///nonexistent/media-worker.js'))).toThrow(/npx tsc -b/);
    expect(() => resolveMediaWorkerScript('file:///nonexistent/media-worker.js')).toThrow(
      expect.objectContaining({ code: 'WORKER_UNAVAILABLE' }),
    );
  });
});
