export {
  type CallEvent,
  CallManager,
  type CallManagerOptions,
  type CallSnapshot,
  type CallState,
  DialPlan,
  type DialTarget,
  mapLegFailures,
  PbxCall,
} from './b2bua.js';
export {
  type AnchorEngine,
  AnchoredCall,
  engineHasOpus,
  MediaAnchor,
  type MediaAnchorOptions,
} from './media-anchor.js';
export {
  answerMediaOffer,
  createMediaOffer,
  defaultEngineCodecs,
  engineCodecOf,
  type LocalMedia,
  MediaAnchorError,
  type MediaAnswer,
  type MediaOffer,
  type RemoteMedia,
  readMediaAnswer,
  readMediaOffer,
  sdpCodecOf,
} from './sdp-media.js';
