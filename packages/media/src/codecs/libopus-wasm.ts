// libopus compiled to WebAssembly, taken as a file from the npm package @evan/opus (MIT, libopus 1.x built with
// emscripten). We call libopus' C API on it directly: that package's own wrapper decodes with decode_fec = 0 and has
// no call for packet-loss concealment, both of which the engine needs. Needs no native toolchain.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { CodecError, UnsupportedCodecError } from './errors.js';

/** The part of the WebAssembly JS API used here (the project's TypeScript libs carry no DOM/WebAssembly types). */
interface WasmModule {
  readonly kind: 'module';
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: Record<string, Record<string, () => unknown>>) => { exports: unknown };
  validate(bytes: Uint8Array): boolean;
}
const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** The exports of the module we use (opus.h signatures; pointers are offsets into `memory`). */
interface LibOpusExports {
  readonly memory: { readonly buffer: ArrayBuffer };
  _initialize?(): void;
  malloc(bytes: number): number;
  free(ptr: number): void;
  opus_strerror(code: number): number;
  opus_decoder_get_size(channels: number): number;
  opus_decoder_init(st: number, rate: number, channels: number): number;
  opus_decode(st: number, data: number, len: number, pcm: number, frameSize: number, decodeFec: number): number;
  opus_decoder_ctl_get(st: number, request: number): number;
  opus_encoder_get_size(channels: number): number;
  opus_encoder_init(st: number, rate: number, channels: number, application: number): number;
  opus_encode(st: number, pcm: number, frameSize: number, data: number, maxBytes: number): number;
  opus_encoder_ctl_set(st: number, request: number, value: number): number;
  opus_encoder_ctl_get(st: number, request: number): number;
}

/** The compiled module (SIMD build where the engine validates it), or why it could not be had; made on first use. */
let compiled: WasmModule | Error | undefined;

function compile(): WasmModule {
  if (compiled === undefined) {
    try {
      const req = createRequire(import.meta.url);
      const dir = join(dirname(req.resolve('@evan/opus/package.json')), 'wasm');
      const simd = readFileSync(join(dir, 'simd.wasm'));
      compiled = new Wasm.Module(Wasm.validate(simd) ? simd : readFileSync(join(dir, 'opus.wasm')));
    } catch (err) {
      compiled = err instanceof Error ? err : new Error(String(err));
    }
  }
  if (compiled instanceof Error) {
    throw new UnsupportedCodecError('opus', `libopus WebAssembly module unavailable (${compiled.message})`);
  }
  return compiled;
}

/**
 * One instance of libopus: its heap holds the state of every encoder and decoder made on it. One per thread
 * (`LibOpus.shared`) so sessions share one heap; the heap views are remade when malloc grows the memory.
 */
export class LibOpus {
  readonly api: LibOpusExports;
  heapU8!: Uint8Array;
  heap16!: Int16Array;
  private readonly registry = new FinalizationRegistry<number>((ptr) => this.api.free(ptr));
  private static instance: LibOpus | undefined;

  constructor() {
    const nothing = (): number => 0;
    const instance = new Wasm.Instance(compile(), {
      // emscripten's standalone runtime imports these; libopus never writes files or exits
      wasi_snapshot_preview1: { proc_exit: nothing, fd_close: nothing, fd_write: nothing, fd_seek: nothing },
      env: { emscripten_notify_memory_growth: () => this.views() },
    });
    this.api = instance.exports as unknown as LibOpusExports;
    this.api._initialize?.();
    this.views();
  }

  /** The thread's instance, made on first use (throws UnsupportedCodecError when the module cannot be loaded). */
  static shared(): LibOpus {
    LibOpus.instance ??= new LibOpus();
    return LibOpus.instance;
  }

  private views(): void {
    this.heapU8 = new Uint8Array(this.api.memory.buffer);
    this.heap16 = new Int16Array(this.api.memory.buffer);
  }

  /** Allocates heap bytes owned by `owner`: freed when owner is collected (codec objects have no close call). */
  alloc(bytes: number, owner: object): number {
    const ptr = this.api.malloc(bytes);
    if (ptr === 0) throw new CodecError('OUT_OF_MEMORY', `libopus heap cannot give ${bytes} bytes`);
    this.registry.register(owner, ptr);
    return ptr;
  }

  /** libopus' text for a negative return code. */
  errorText(code: number): string {
    const at = this.api.opus_strerror(code);
    const u8 = this.heapU8;
    let end = at;
    while (end < u8.length && u8[end] !== 0 && end - at < 200) end++;
    return new TextDecoder().decode(u8.subarray(at, end));
  }
}
