/**
 * The gateway's choice of variant for `(account, channel, sequence)`: one HMAC per account (its codeword,
 * kept in an LRU) and one per channel per 256 segments (the mask block, shared by every viewer), so a segment
 * request costs two map lookups and a bit test once both are warm. Concurrent first requests share one
 * computation.
 */
import { LRUCache } from 'lru-cache';
import { codeword, maskBlockOf, type Variant, variantOf } from './watermark-code.ts';
import { accountCode, importWatermarkKey, maskBlock, type WatermarkKey } from './watermark-keys.ts';

export interface VariantChooserOptions {
  secret: string;
  /** accounts whose codeword is kept (32 bytes each plus bookkeeping) */
  maxAccounts?: number;
}

export class VariantChooser {
  private readonly key: Promise<WatermarkKey>;
  private readonly codewords: LRUCache<string, Promise<Uint8Array>>;
  private readonly masks = new LRUCache<string, Promise<Uint8Array>>({ max: 4_096 });

  constructor(opts: VariantChooserOptions) {
    this.key = importWatermarkKey(opts.secret);
    this.codewords = new LRUCache({ max: opts.maxAccounts ?? 100_000 });
  }

  async variant(sub: string, channel: string, seq: number): Promise<Variant> {
    const block = maskBlockOf(seq);
    const [cw, mask] = await Promise.all([
      this.memo(this.codewords, sub, async (key) => codeword(await accountCode(key, sub))),
      this.memo(this.masks, `${channel}/${block}`, (key) => maskBlock(key, channel, block)),
    ]);
    return variantOf(cw, mask, seq);
  }

  private memo(
    cache: LRUCache<string, Promise<Uint8Array>>,
    id: string,
    compute: (key: WatermarkKey) => Promise<Uint8Array>,
  ): Promise<Uint8Array> {
    const known = cache.get(id);
    if (known) return known;
    const made = this.key.then(compute);
    cache.set(id, made);
    made.catch(() => cache.delete(id));
    return made;
  }
}
