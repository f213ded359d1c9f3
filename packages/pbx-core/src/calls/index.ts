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
