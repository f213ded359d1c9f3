// @switchyard/daemon: config, storage, admin socket and process life around pbx-core.
export { main } from './cli.js';
