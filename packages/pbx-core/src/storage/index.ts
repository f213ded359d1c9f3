// Storage: the records the PBX keeps, the repository interfaces backends implement, and an in-memory backend.
export { isStorageError, STORAGE_ERROR_CODES, StorageError, type StorageErrorCode } from './errors.js';
export {
  cdrPageLimit,
  decodeCdrCursor,
  definedFields,
  EVENT_LOG_PAGE_DEFAULT,
  EVENT_LOG_PAGE_MAX,
  encodeCdrCursor,
  eventLogLimit,
  InMemoryAgentLogRepository,
  InMemoryCdrRepository,
  InMemoryExtensionRepository,
  InMemoryQueueLogRepository,
  InMemoryRegistrationRepository,
  InMemoryStorage,
  type InMemoryStorageOptions,
  type StorageClock,
  StorageGate,
  validateAgentLogEntry,
  validateCallRecord,
  validateExtension,
  validateQueueLogEntry,
  validateRegistration,
} from './memory.js';
export * from './model.js';
export type * from './repositories.js';
export * from './types.js';
