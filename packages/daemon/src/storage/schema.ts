// The SQLite schema as an ordered list of migrations. A migration, once released, is never edited: later issues
// append migrations (new columns, tables, indexes). Enumerations (statuses, roles, kinds) are checked in code by
// pbx-core's validators rather than by CHECK constraints, so adding a value needs no table rebuild; the
// constraints here hold the invariants that never change (keys, booleans, JSON, time order).

export interface Migration {
  /** 1, 2, 3... in order, without gaps. */
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

const v1Core = `
-- Settings persisted by the admin interface (config changes made over JSON-RPC).
CREATE TABLE settings (
  key TEXT PRIMARY KEY,
  value_json TEXT NOT NULL CHECK (json_valid(value_json)),
  updated_at INTEGER NOT NULL
) STRICT;

-- FEATURES 1: extensions and users.
CREATE TABLE extensions (
  number TEXT PRIMARY KEY CHECK (length(number) BETWEEN 1 AND 64),
  display_name TEXT NOT NULL,
  sip_password TEXT,
  ha1_md5 TEXT,
  ha1_sha256 TEXT,
  ha1_sha512_256 TEXT,
  email TEXT,
  mobile TEXT,
  role TEXT NOT NULL,
  presence TEXT NOT NULL,
  enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
  voicemail_pin TEXT,
  forwarding_json TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(forwarding_json)),
  call_rules_json TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(call_rules_json)),
  restriction_profile_id TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;

-- Registered contacts (RFC 3261 10.3, RFC 5626, RFC 3327).
CREATE TABLE registrations (
  extension TEXT NOT NULL REFERENCES extensions(number) ON DELETE CASCADE ON UPDATE CASCADE,
  contact_uri TEXT NOT NULL CHECK (length(contact_uri) > 0),
  instance_id TEXT,
  reg_id INTEGER,
  call_id TEXT NOT NULL,
  cseq INTEGER NOT NULL,
  path_json TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(path_json)),
  transport TEXT NOT NULL,
  source_address TEXT NOT NULL,
  source_port INTEGER NOT NULL,
  flow_id TEXT,
  user_agent TEXT,
  q REAL NOT NULL CHECK (q BETWEEN 0 AND 1),
  expires_at INTEGER NOT NULL,
  registered_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (extension, contact_uri)
) STRICT;
CREATE INDEX registrations_expires ON registrations(expires_at);

-- FEATURES 11, 12: call detail records, their legs and steps.
CREATE TABLE cdrs (
  call_id TEXT PRIMARY KEY CHECK (length(call_id) > 0),
  direction TEXT NOT NULL,
  caller_number TEXT NOT NULL,
  caller_name TEXT,
  callee_number TEXT NOT NULL,
  callee_name TEXT,
  dialled_number TEXT NOT NULL,
  caller_extension TEXT,
  callee_extension TEXT,
  did TEXT,
  trunk TEXT,
  status TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  ringing_at INTEGER CHECK (ringing_at IS NULL OR ringing_at BETWEEN started_at AND ended_at),
  answered_at INTEGER CHECK (answered_at IS NULL OR answered_at BETWEEN started_at AND ended_at),
  ended_at INTEGER NOT NULL CHECK (ended_at >= started_at),
  hangup_side TEXT,
  hangup_sip_status INTEGER,
  hangup_reason TEXT,
  call_type TEXT,
  cost REAL,
  recording_path TEXT
) STRICT;
CREATE INDEX cdrs_started ON cdrs(started_at, call_id);
CREATE INDEX cdrs_caller_extension ON cdrs(caller_extension, started_at) WHERE caller_extension IS NOT NULL;
CREATE INDEX cdrs_callee_extension ON cdrs(callee_extension, started_at) WHERE callee_extension IS NOT NULL;
CREATE INDEX cdrs_trunk ON cdrs(trunk, started_at) WHERE trunk IS NOT NULL;
CREATE INDEX cdrs_did ON cdrs(did, started_at) WHERE did IS NOT NULL;

CREATE TABLE cdr_legs (
  call_id TEXT NOT NULL REFERENCES cdrs(call_id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  leg_id TEXT NOT NULL,
  peer_kind TEXT NOT NULL,
  peer TEXT NOT NULL,
  direction TEXT NOT NULL,
  sip_call_id TEXT,
  contact_uri TEXT,
  started_at INTEGER NOT NULL,
  ringing_at INTEGER CHECK (ringing_at IS NULL OR ringing_at BETWEEN started_at AND ended_at),
  answered_at INTEGER CHECK (answered_at IS NULL OR answered_at BETWEEN started_at AND ended_at),
  ended_at INTEGER NOT NULL CHECK (ended_at >= started_at),
  status TEXT NOT NULL,
  sip_status INTEGER,
  codec TEXT,
  PRIMARY KEY (call_id, position),
  UNIQUE (call_id, leg_id)
) STRICT;
CREATE INDEX cdr_legs_peer ON cdr_legs(peer_kind, peer, call_id);

CREATE TABLE cdr_steps (
  call_id TEXT NOT NULL REFERENCES cdrs(call_id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  at INTEGER NOT NULL,
  kind TEXT NOT NULL,
  target TEXT,
  ended_at INTEGER,
  detail_json TEXT CHECK (detail_json IS NULL OR json_valid(detail_json)),
  PRIMARY KEY (call_id, position)
) STRICT;
CREATE INDEX cdr_steps_kind_target ON cdr_steps(kind, target, at);
`;

// Tables of the features after issue 5. Destinations are a (kind, target) pair of columns; lists that are read
// whole with their owner are JSON, lists that are searched are tables.
const v1Features = `
-- FEATURES 3: time conditions and holidays.
CREATE TABLE time_conditions (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  mode TEXT NOT NULL,
  time_zone TEXT NOT NULL,
  open_intervals_json TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(open_intervals_json)),
  closed_destination_kind TEXT,
  closed_destination TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;
CREATE TABLE holidays (
  time_condition_id TEXT NOT NULL REFERENCES time_conditions(id) ON DELETE CASCADE,
  date_from TEXT NOT NULL,
  date_to TEXT NOT NULL CHECK (date_to >= date_from),
  name TEXT NOT NULL,
  PRIMARY KEY (time_condition_id, date_from, name)
) STRICT;

-- FEATURES 3: restriction profiles, trunks, inbound routes by DID, outbound routes by prefix.
CREATE TABLE restriction_profiles (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  blocked_prefixes_json TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(blocked_prefixes_json)),
  allowed_prefixes_json TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(allowed_prefixes_json)),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;
CREATE TABLE trunks (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  host TEXT NOT NULL,
  port INTEGER,
  transport TEXT NOT NULL,
  username TEXT,
  auth_username TEXT,
  password TEXT,
  register INTEGER NOT NULL DEFAULT 0 CHECK (register IN (0, 1)),
  from_domain TEXT,
  caller_id TEXT,
  max_channels INTEGER,
  enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;
CREATE TABLE inbound_routes (
  did TEXT PRIMARY KEY,
  trunk_id TEXT REFERENCES trunks(id) ON DELETE SET NULL,
  destination_kind TEXT NOT NULL,
  destination TEXT NOT NULL,
  time_condition_id TEXT REFERENCES time_conditions(id) ON DELETE SET NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;
CREATE TABLE outbound_routes (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  priority INTEGER NOT NULL,
  prefix TEXT NOT NULL,
  strip_digits INTEGER NOT NULL DEFAULT 0 CHECK (strip_digits >= 0),
  prepend TEXT NOT NULL DEFAULT '',
  trunk_ids_json TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(trunk_ids_json)),
  enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX outbound_routes_prefix ON outbound_routes(prefix, priority);

-- FEATURES 4: ring groups.
CREATE TABLE ring_groups (
  id TEXT PRIMARY KEY,
  number TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  strategy TEXT NOT NULL,
  ring_seconds INTEGER NOT NULL,
  loops INTEGER NOT NULL DEFAULT 1,
  waiting_list INTEGER NOT NULL DEFAULT 0 CHECK (waiting_list IN (0, 1)),
  ringtone TEXT,
  time_condition_id TEXT REFERENCES time_conditions(id) ON DELETE SET NULL,
  closed_destination_kind TEXT,
  closed_destination TEXT,
  no_answer_destination_kind TEXT,
  no_answer_destination TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;
CREATE TABLE ring_group_members (
  group_id TEXT NOT NULL REFERENCES ring_groups(id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  extension TEXT NOT NULL REFERENCES extensions(number) ON DELETE CASCADE ON UPDATE CASCADE,
  PRIMARY KEY (group_id, extension)
) STRICT;

-- FEATURES 5: queues, members, agents, reason and disposition codes, queue and agent logs.
CREATE TABLE queues (
  id TEXT PRIMARY KEY,
  number TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  strategy TEXT NOT NULL,
  max_wait_seconds INTEGER,
  sla_seconds INTEGER NOT NULL,
  ring_seconds INTEGER NOT NULL,
  wrap_up_seconds INTEGER NOT NULL DEFAULT 0,
  music_on_hold TEXT,
  periodic_message TEXT,
  periodic_message_seconds INTEGER,
  announce_position INTEGER NOT NULL DEFAULT 0 CHECK (announce_position IN (0, 1)),
  callback_key TEXT,
  voicemail_key TEXT,
  exit_when_no_agents INTEGER NOT NULL DEFAULT 0 CHECK (exit_when_no_agents IN (0, 1)),
  exit_message TEXT,
  overflow_destination_kind TEXT,
  overflow_destination TEXT,
  disposition_required INTEGER NOT NULL DEFAULT 0 CHECK (disposition_required IN (0, 1)),
  time_condition_id TEXT REFERENCES time_conditions(id) ON DELETE SET NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;
CREATE TABLE queue_members (
  queue_id TEXT NOT NULL REFERENCES queues(id) ON DELETE CASCADE,
  extension TEXT NOT NULL REFERENCES extensions(number) ON DELETE CASCADE ON UPDATE CASCADE,
  penalty INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (queue_id, extension)
) STRICT;
CREATE TABLE reason_codes (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  label TEXT NOT NULL,
  queue_id TEXT REFERENCES queues(id) ON DELETE CASCADE
) STRICT;
CREATE TABLE agent_states (
  extension TEXT PRIMARY KEY REFERENCES extensions(number) ON DELETE CASCADE ON UPDATE CASCADE,
  state TEXT NOT NULL,
  reason_code TEXT,
  since INTEGER NOT NULL,
  queues_json TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(queues_json))
) STRICT;
-- Logs keep ids and numbers as text without foreign keys: history outlives the configuration it refers to.
CREATE TABLE queue_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  queue_id TEXT NOT NULL,
  call_id TEXT NOT NULL,
  event TEXT NOT NULL,
  agent TEXT,
  caller_number TEXT,
  position INTEGER,
  wait_ms INTEGER,
  talk_ms INTEGER,
  handling TEXT,
  detail_json TEXT CHECK (detail_json IS NULL OR json_valid(detail_json))
) STRICT;
CREATE INDEX queue_log_queue_at ON queue_log(queue_id, at);
CREATE INDEX queue_log_call ON queue_log(call_id);
CREATE INDEX queue_log_agent_at ON queue_log(agent, at) WHERE agent IS NOT NULL;
CREATE TABLE agent_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  extension TEXT NOT NULL,
  event TEXT NOT NULL,
  queue_id TEXT,
  state TEXT,
  reason_code TEXT,
  disposition_code TEXT,
  call_id TEXT,
  detail_json TEXT CHECK (detail_json IS NULL OR json_valid(detail_json))
) STRICT;
CREATE INDEX agent_log_extension_at ON agent_log(extension, at);
CREATE INDEX agent_log_queue_at ON agent_log(queue_id, at) WHERE queue_id IS NOT NULL;

-- FEATURES 6: IVR menus and their key options.
CREATE TABLE ivr_menus (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  number TEXT UNIQUE,
  welcome_prompt TEXT,
  invalid_prompt TEXT,
  timeout_prompt TEXT,
  timeout_seconds INTEGER NOT NULL,
  max_loops INTEGER NOT NULL,
  direct_dial INTEGER NOT NULL DEFAULT 0 CHECK (direct_dial IN (0, 1)),
  loops_exceeded_destination_kind TEXT,
  loops_exceeded_destination TEXT,
  time_condition_id TEXT REFERENCES time_conditions(id) ON DELETE SET NULL,
  unconditional_destination_kind TEXT,
  unconditional_destination TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;
CREATE TABLE ivr_options (
  menu_id TEXT NOT NULL REFERENCES ivr_menus(id) ON DELETE CASCADE,
  digit TEXT NOT NULL CHECK (length(digit) = 1 AND digit GLOB '[0-9*#]'),
  destination_kind TEXT NOT NULL,
  destination TEXT NOT NULL,
  PRIMARY KEY (menu_id, digit)
) STRICT;

-- FEATURES 2: park slots (live, kept so that a restart can tell parked callers apart).
CREATE TABLE park_slots (
  slot INTEGER PRIMARY KEY,
  call_id TEXT NOT NULL,
  parked_by TEXT,
  parked_at INTEGER NOT NULL,
  timeout_at INTEGER
) STRICT;

-- FEATURES 7: mailboxes and the message index (audio is files under the data directory).
CREATE TABLE voicemail_boxes (
  mailbox TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  extension TEXT REFERENCES extensions(number) ON DELETE SET NULL ON UPDATE CASCADE,
  name TEXT NOT NULL,
  pin TEXT,
  email TEXT,
  attach_audio INTEGER NOT NULL DEFAULT 0 CHECK (attach_audio IN (0, 1)),
  greeting_path TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;
CREATE TABLE voicemail_messages (
  id TEXT PRIMARY KEY,
  mailbox TEXT NOT NULL,
  folder TEXT NOT NULL,
  call_id TEXT,
  caller_number TEXT,
  caller_name TEXT,
  received_at INTEGER NOT NULL,
  duration_ms INTEGER NOT NULL CHECK (duration_ms >= 0),
  file_path TEXT NOT NULL,
  heard INTEGER NOT NULL DEFAULT 0 CHECK (heard IN (0, 1)),
  heard_at INTEGER
) STRICT;
CREATE INDEX voicemail_messages_mailbox ON voicemail_messages(mailbox, folder, received_at);

-- FEATURES 8: conference rooms and recordings.
CREATE TABLE conference_rooms (
  number TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  pin TEXT,
  moderator_pin TEXT,
  max_members INTEGER,
  record INTEGER NOT NULL DEFAULT 0 CHECK (record IN (0, 1)),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;
CREATE TABLE recordings (
  id TEXT PRIMARY KEY,
  call_id TEXT,
  extension TEXT,
  queue_id TEXT,
  started_at INTEGER NOT NULL,
  duration_ms INTEGER NOT NULL CHECK (duration_ms >= 0),
  file_path TEXT NOT NULL
) STRICT;
CREATE INDEX recordings_call ON recordings(call_id);
CREATE INDEX recordings_extension ON recordings(extension, started_at);

-- FEATURES 9: company (owner NULL) and personal contacts; numbers in their own table for caller-name lookup.
CREATE TABLE contacts (
  id TEXT PRIMARY KEY,
  owner TEXT REFERENCES extensions(number) ON DELETE CASCADE ON UPDATE CASCADE,
  name TEXT NOT NULL,
  company TEXT,
  email TEXT,
  notes TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX contacts_owner_name ON contacts(owner, name);
CREATE TABLE contact_numbers (
  contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
  number TEXT NOT NULL,
  label TEXT NOT NULL,
  PRIMARY KEY (contact_id, number)
) STRICT;
CREATE INDEX contact_numbers_number ON contact_numbers(number);

-- FEATURES 12: tariffs (call type and cost by prefix) and scheduled reports.
CREATE TABLE tariffs (
  id TEXT PRIMARY KEY,
  prefix TEXT NOT NULL,
  call_type TEXT NOT NULL,
  description TEXT NOT NULL,
  min_length INTEGER,
  max_length INTEGER,
  rate_per_minute REAL NOT NULL,
  connection_fee REAL NOT NULL DEFAULT 0,
  increment_seconds INTEGER NOT NULL DEFAULT 60 CHECK (increment_seconds > 0),
  currency TEXT NOT NULL
) STRICT;
CREATE INDEX tariffs_prefix ON tariffs(prefix);
CREATE TABLE report_schedules (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  report TEXT NOT NULL,
  params_json TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(params_json)),
  frequency TEXT NOT NULL,
  format TEXT NOT NULL,
  email_to TEXT,
  next_run_at INTEGER,
  created_by TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;
CREATE TABLE report_runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  schedule_id TEXT REFERENCES report_schedules(id) ON DELETE SET NULL,
  report TEXT NOT NULL,
  range_from INTEGER NOT NULL,
  range_to INTEGER NOT NULL,
  generated_at INTEGER NOT NULL,
  format TEXT NOT NULL,
  file_path TEXT NOT NULL
) STRICT;
`;

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'extensions, registrations, call records and the feature tables', sql: v1Core + v1Features },
];
