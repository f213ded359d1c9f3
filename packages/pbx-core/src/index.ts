// @switchyard/pbx-core: the call model (B2BUA), registrar, routing and features, over repository interfaces.
export * from './calls/index.js';
export * from './registrar/index.js';
export * from './storage/index.js';
