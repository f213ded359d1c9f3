export {
  DTMF_COLUMN_HZ,
  DTMF_ROW_HZ,
  DtmfDetector,
  type DtmfDetectorOptions,
  type DtmfDigitEvent,
  DtmfGenerator,
  type DtmfGeneratorOptions,
  dtmfFrequencies,
  dtmfSamples,
} from './dtmf.js';
export { DspError, type DspErrorCode } from './errors.js';
export { createHalfbandResampler, type HalfbandDesign, halfbandDesign } from './halfband.js';
export {
  applyGain,
  blockEnergy,
  GAIN_Q_BITS,
  GAIN_UNITY,
  gainFromDb,
  levelDbov,
  mixInto,
  SILENCE_DBOV,
  saturate16,
  sineAmplitudeForDbov,
} from './pcm.js';
export { createResampler, type Resampler, type ResamplerDesign, resampleAll, resamplerDesign } from './resampler.js';
export {
  ComfortNoiseGenerator,
  type ComfortNoiseOptions,
  comfortNoiseLevelByte,
  comfortNoiseLevelDbov,
  createTonePlayer,
  type NoiseColor,
  TONE_COUNTRIES,
  type ToneCountry,
  type ToneName,
  TonePlayer,
  type ToneSpec,
  tonePreset,
} from './tones.js';
export {
  downmixToMono,
  readWav,
  toTelephonyPcm,
  type WavAudio,
  WavFormatError,
  type WavFormatErrorCode,
  type WavSampleFormat,
  type WavWriteOptions,
  writeWav,
} from './wav.js';
