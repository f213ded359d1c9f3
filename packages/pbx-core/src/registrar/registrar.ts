// The registrar and location service (RFC 3261 section 10.3): authenticated REGISTER binds devices to an
// extension; several devices per extension ring together; bindings expire, refresh, and are removed one by one or
// with `*`. Where the REGISTER came from (RFC 3581) and its connection are kept, so a device behind NAT or on TCP,
// TLS or WebSocket is reached the way it reached us.
import {
  type AuthenticateOptions,
  type AuthFailureLimiter,
  type Clock,
  type CredentialStore,
  createResponse,
  type DigestAlgorithm,
  DigestServer,
  type DigestServerOptions,
  type DigestVerdict,
  parseUri,
  type ServerTransaction,
  type SipInboundContext,
  SipParseError,
  type SipRequest,
  type StoredCredentials,
} from '@switchyard/sip-stack';
import { isStorageError } from '../storage/errors.js';
import type { ExtensionRepository, RegistrationRepository } from '../storage/repositories.js';
import type { Registration, SipTransport } from '../storage/types.js';

export interface RegistrarOptions {
  /** The SIP domain, also the digest realm. */
  readonly domain: string;
  readonly extensions: ExtensionRepository;
  readonly registrations: RegistrationRepository;
  readonly clock: Clock;
  /** Digest algorithms offered, most preferred first (default SHA-256 then MD5; old phones may need MD5 alone). */
  readonly algorithms?: readonly DigestAlgorithm[];
  /** Blocks a source address after repeated failed digest attempts (REGISTER and everything else authenticated). */
  readonly authFailures?: AuthFailureLimiter;
  /** RFC 3261 10.3 step 7: shortest binding accepted (423 below it). Default 60 s. */
  readonly minExpires?: number;
  /** Longest binding granted; longer requests are shortened. Default 3600 s. */
  readonly maxExpires?: number;
  readonly defaultExpires?: number;
  /** Most devices one extension may register. Default 10. */
  readonly maxBindings?: number;
  /** Told after every change of an extension's bindings (for presence, live views and metrics). */
  readonly onChange?: (extension: string, bindings: readonly Registration[]) => void;
}

/**
 * The registrar's digest server, whose settings (algorithms, failure limiter) a config reload can change: it stays
 * the one object the UA and the metrics hold, and hands each request to the server built from the current settings.
 */
export class ReloadableDigestServer extends DigestServer {
  private current: DigestServer;

  constructor(options: DigestServerOptions) {
    super(options);
    this.current = new DigestServer(options);
  }

  /**
   * New settings from now on. The new server has a new nonce secret: nonces handed out before are answered as
   * stale (RFC 7616 3.4, the phone retries at once), so no nonce-count history is lost to a replay.
   */
  replace(options: DigestServerOptions): void {
    this.current = new DigestServer(options);
  }

  override get trackedNonces(): number {
    return this.current.trackedNonces;
  }

  override challenges(realm?: string, stale = false): string[] {
    return realm === undefined ? this.current.challenges(undefined, stale) : this.current.challenges(realm, stale);
  }

  override authenticate(request: SipRequest, options?: AuthenticateOptions): Promise<DigestVerdict> {
    return this.current.authenticate(request, options);
  }
}

/** Answers REGISTER requests and says where an extension's devices are. */
export class Registrar {
  readonly digest: ReloadableDigestServer;
  private readonly minExpires: number;
  private readonly maxExpires: number;
  private readonly defaultExpires: number;
  private readonly maxBindings: number;

  constructor(private readonly options: RegistrarOptions) {
    this.minExpires = options.minExpires ?? 60;
    this.maxExpires = options.maxExpires ?? 3600;
    this.defaultExpires = options.defaultExpires ?? 3600;
    this.maxBindings = options.maxBindings ?? 10;
    this.digest = new ReloadableDigestServer(this.digestOptions(options.algorithms, options.authFailures));
  }

  private digestOptions(
    algorithms: readonly DigestAlgorithm[] | undefined,
    limiter: AuthFailureLimiter | undefined,
  ): DigestServerOptions {
    return {
      realm: this.options.domain,
      clock: this.options.clock,
      algorithms,
      credentials: extensionCredentials(this.options.extensions),
      limiter,
    };
  }

  /** A config reload: challenge with these algorithms and guard with this limiter from the next request on. */
  reconfigureDigest(algorithms: readonly DigestAlgorithm[] | undefined, authFailures: AuthFailureLimiter | undefined) {
    this.digest.replace(this.digestOptions(algorithms, authFailures));
  }

  /** Handles one REGISTER in its server transaction. Never throws for bad input: the device gets the answer. */
  async handle(request: SipRequest, tx: ServerTransaction, context: SipInboundContext): Promise<void> {
    try {
      await this.process(request, tx, context);
    } catch (err) {
      // A header that does not parse, or a value storage refuses, is the device's fault: 400. Anything else is ours.
      const status = err instanceof SipParseError || (isStorageError(err) && err.code === 'invalid') ? 400 : 500;
      if (tx.state === 'trying' || tx.state === 'proceeding') tx.respond(createResponse(request, status));
    }
  }

  private async process(request: SipRequest, tx: ServerTransaction, context: SipInboundContext): Promise<void> {
    const reply = (status: number, headers: Array<[string, string]> = []) =>
      tx.respond(createResponse(request, status, undefined, { headers }));
    // RFC 3261 10.3 step 2: extensions we do not know in Require are refused.
    const required = request.require().filter((r) => r !== 'path' && r !== 'outbound');
    if (required.length > 0) return reply(420, [['Unsupported', required.join(', ')]]);

    // Step 3: authenticate.
    const verdict = await this.digest.authenticate(request, { source: context.source.address });
    if (!verdict.ok)
      return reply(
        verdict.status,
        verdict.headers.map(([n, v]) => [n, v]),
      );

    // Step 5: the address-of-record is the To URI; its user part is the extension.
    const to = request.to();
    const aor = parseAorUser(to.uri);
    const extension = aor === undefined ? undefined : await this.options.extensions.get(aor);
    if (extension === undefined || !extension.enabled) return reply(404);
    // Step 4: the authenticated user may only register its own extension.
    if (verdict.username !== extension.number) return reply(403);

    const now = this.options.clock.now();
    const contacts = request.contacts();
    const headerExpires = request.expires();
    if (contacts.length === 0) return this.answer(request, tx, extension.number, now);

    // Step 6: `*` only with Expires: 0 and alone (RFC 3261 10.2.2).
    if (contacts.some((c) => c.star)) {
      if (contacts.length !== 1 || headerExpires !== 0) return reply(400);
      await this.options.registrations.removeAll(extension.number);
      return this.answer(request, tx, extension.number, now);
    }

    const callId = request.callId();
    const cseq = request.cseq().seq;
    const existing = await this.options.registrations.list(extension.number, now);
    for (const contact of contacts) {
      const wanted = contact.expires ?? headerExpires ?? this.defaultExpires;
      if (contact.q !== undefined && !(contact.q >= 0 && contact.q <= 1)) return reply(400);
      if (wanted > 0 && wanted < this.minExpires) return reply(423, [['Min-Expires', String(this.minExpires)]]);
      // Step 7: an older or repeated REGISTER of the same Call-ID must not undo a newer one.
      const bound = existing.find((b) => b.contactUri === contact.uri);
      if (bound && bound.callId === callId && cseq <= bound.cseq) return reply(500);
    }
    const added = contacts.filter((c) => !existing.some((b) => b.contactUri === c.uri)).length;
    if (existing.length + added > this.maxBindings) return reply(403);

    for (const contact of contacts) {
      const wanted = contact.expires ?? headerExpires ?? this.defaultExpires;
      if (wanted === 0) {
        await this.options.registrations.remove(extension.number, contact.uri);
        continue;
      }
      const expires = Math.min(wanted, this.maxExpires);
      await this.options.registrations.upsert({
        extension: extension.number,
        contactUri: contact.uri,
        instanceId: unquote(contact.params.get('+sip.instance') ?? null),
        regId: numberOrNull(contact.params.get('reg-id') ?? null),
        callId,
        cseq,
        path: request.headers('path'),
        transport: context.source.protocol as SipTransport,
        sourceAddress: context.source.address,
        sourcePort: context.source.port,
        flowId: context.connection ? String(context.connection.id) : null,
        userAgent: request.header('user-agent') ?? null,
        q: contact.q ?? 1,
        expiresAt: now + expires * 1000,
        registeredAt: now,
        updatedAt: now,
      });
    }
    return this.answer(request, tx, extension.number, now);
  }

  /** Step 8: 200 with every current binding and its remaining lifetime. */
  private async answer(request: SipRequest, tx: ServerTransaction, extension: string, now: number): Promise<void> {
    const bindings = await this.options.registrations.list(extension, now);
    const headers: Array<[string, string]> = bindings.map((b) => [
      'Contact',
      `<${b.contactUri}>;expires=${Math.max(0, Math.round((b.expiresAt - now) / 1000))}`,
    ]);
    headers.push(['Date', new Date(now).toUTCString()]);
    tx.respond(createResponse(request, 200, undefined, { headers }));
    this.options.onChange?.(extension, bindings);
  }

  /** The devices where an extension can be reached now, best first. */
  contactsOf(extension: string): Promise<Registration[]> {
    return this.options.registrations.list(extension, this.options.clock.now());
  }

  /** Drops expired bindings; call it periodically. */
  async purgeExpired(): Promise<Registration[]> {
    const gone = await this.options.registrations.purgeExpired(this.options.clock.now());
    const touched = new Set(gone.map((g) => g.extension));
    for (const ext of touched) this.options.onChange?.(ext, await this.contactsOf(ext));
    return gone;
  }
}

/** Digest credentials from the extension table: the password, or the stored HA1 values. */
export function extensionCredentials(extensions: ExtensionRepository): CredentialStore {
  return {
    async lookup(_realm, username): Promise<StoredCredentials | undefined> {
      const ext = await extensions.get(username);
      if (ext === undefined || !ext.enabled) return undefined;
      if (ext.sipPassword !== null) return { password: ext.sipPassword };
      if (ext.ha1Md5 === null && ext.ha1Sha256 === null && ext.ha1Sha512_256 === null) return undefined;
      return {
        ha1Md5: ext.ha1Md5 ?? undefined,
        ha1Sha256: ext.ha1Sha256 ?? undefined,
        ha1Sha512_256: ext.ha1Sha512_256 ?? undefined,
      };
    },
  };
}

/** The user part of a sip:/sips: AOR (the extension number), or undefined for anything else. */
function parseAorUser(uri: string): string | undefined {
  try {
    const parsed = parseUri(uri);
    return 'user' in parsed ? parsed.user : undefined;
  } catch {
    return undefined;
  }
}

function unquote(v: string | null): string | null {
  if (v === null) return null;
  return v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
}

function numberOrNull(v: string | null): number | null {
  if (v === null) return null;
  const n = Number(v);
  return Number.isInteger(n) ? n : null;
}
