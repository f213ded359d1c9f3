// @switchyard/sip-stack: the public API of the SIP stack (RFC 3261 layers: message, transport, transaction, dialog, ua).
export const SIP_STACK_LAYERS = ['message', 'transport', 'transaction', 'dialog', 'ua'] as const;
