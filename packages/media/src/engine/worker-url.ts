import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MediaEngineError } from './errors.js';

/**
 * Where the media worker's entry script is. From the build (dist/engine/*.js) it is the sibling media-worker.js.
 * When this module runs from TypeScript source (vitest, ts loaders), Node's Worker cannot load the .ts entry, so
 * the compiled dist/engine/media-worker.js of this package is used: build it first with `npx tsc -b packages/media`
 * (`npm test` does). An embedder may pass its own URL in `MediaEngineOptions.workerScript`.
 */
export function resolveMediaWorkerScript(override?: URL | string): URL {
  const url =
    override !== undefined
      ? new URL(String(override))
      : import.meta.url.endsWith('.ts')
        ? new URL('../../dist/engine/media-worker.js', import.meta.url)
        : new URL('./media-worker.js', import.meta.url);
  if (url.protocol === 'file:' && !existsSync(fileURLToPath(url))) {
    throw new MediaEngineError(
      'WORKER_UNAVAILABLE',
      `media worker script ${fileURLToPath(url)} is missing: build the package (npx tsc -b packages/media)`,
    );
  }
  return url;
}
