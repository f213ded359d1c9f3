// @switchyard/media: RTP, codecs, DSP and the worker-thread media engine. Never imports the SIP stack.
export * from './codecs/index.js';
export * from './dsp/index.js';
export * from './engine/index.js';
export * from './rtp/index.js';
