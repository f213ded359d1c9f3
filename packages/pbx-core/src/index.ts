// @switchyard/pbx-core: the call model (B2BUA), registrar, routing and features.
export const PBX_CORE_VERSION = '0.1.0';
