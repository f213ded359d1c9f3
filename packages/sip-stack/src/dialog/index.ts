// Dialog layer (RFC 3261 section 12).
export {
  DialogError,
  type DialogState,
  dialogKey,
  type InDialogRequestOptions,
  type InDialogVerdict,
  SipDialog,
} from './dialog.js';
