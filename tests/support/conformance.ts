// Where the public conformance material lives: the shared/ folder beside the repository (as CI lays it out), or
// $SWITCHYARD_CONFORMANCE. Tests read it as bytes.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repository = fileURLToPath(new URL('../../', import.meta.url));
const besideRepository = join(repository, '..', 'shared', 'conformance');

export const CONFORMANCE_ROOT: string =
  [process.env.SWITCHYARD_CONFORMANCE, besideRepository, '/work/shared/conformance'].find(
    (p): p is string => p !== undefined && existsSync(p),
  ) ?? besideRepository;
