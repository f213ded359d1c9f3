// @switchyard/media: RTP, codecs, DSP and the worker-thread media engine.
export const MEDIA_MODULES = ['rtp', 'codecs', 'dsp', 'engine'] as const;
