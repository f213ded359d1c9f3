export type { AudioDecoder, AudioEncoder, CodecOptions } from './codec.js';
export { PitchConcealingDecoder, PitchRepeatConcealer } from './concealment.js';
export { CodecBufferError, CodecError, UnsupportedCodecError } from './errors.js';
export * from './factory.js';
export * from './g711.js';
export * from './g722.js';
export * from './l16.js';
export * from './opus.js';
