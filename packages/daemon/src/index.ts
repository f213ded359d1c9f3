// @switchyard/daemon: config, storage, admin socket and process life around pbx-core.
export { main } from './cli.js';
export * from './config.js';
export * from './daemon.js';
export { isLogLevel } from './log.js';
export * from './metrics/daemon-metrics.js';
export * from './metrics/media-metrics.js';
export * from './metrics/pbx-metrics.js';
export * from './rpc/admin-client.js';
export * from './rpc/json-rpc.js';
export * from './rpc/remote-admin.js';
export * from './rpc/socket-server.js';
export * from './storage/index.js';
