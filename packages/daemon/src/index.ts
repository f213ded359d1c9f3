// @switchyard/daemon: config, storage, admin socket and process life around pbx-core.
export { main } from './cli.js';
export * from './config.js';
export * from './daemon.js';
export * from './rpc/json-rpc.js';
export * from './rpc/socket-server.js';
export * from './storage/index.js';
