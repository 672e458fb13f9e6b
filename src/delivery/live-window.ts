/**
 * What the gateway knows of each channel's live window, learnt from the media playlists it serves: the
 * lowest segment still listed (a 404 at or above it is a node that has not written the segment yet, worth
 * asking the other node) and the live edge (the key route hands out no key ahead of it).
 */
import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.ts';
import type { PlaylistPosition } from './playlist.ts';

interface Seen {
  lowest: number;
  edge: number;
  at: number;
}

const MAX_TRACKED = 10_000;

export class LiveWindow {
  private readonly renditions = new LRUCache<string, Seen>({ max: MAX_TRACKED });
  private readonly channels = new LRUCache<string, Seen>({ max: MAX_TRACKED });
  private readonly clock: Clock;

  constructor(clock: Clock) {
    this.clock = clock;
  }

  /** Records a media playlist of `{channel}/{dir}` that is being served. */
  record(channel: string, dir: string, pos: PlaylistPosition): void {
    const at = this.clock.now();
    const lowest = pos.mediaSequence;
    const edge = pos.mediaSequence + pos.segments - 1;
    const seen = { lowest, edge, at };
    this.renditions.set(`${channel}/${dir}`, seen);
    // Renditions of a channel share one numbering (SPEC §7), so the latest playlist gives the channel's edge.
    this.channels.set(channel, seen);
  }

  /** False only when segment `seq` is known to have left the window of `{channel}/{dir}`. */
  mayHave(channel: string, dir: string, seq: number): boolean {
    const seen = this.renditions.get(`${channel}/${dir}`);
    return seen === undefined || seq >= seen.lowest;
  }

  /** The highest segment number seen on the channel, if seen within `maxAgeMs`. */
  edge(channel: string, maxAgeMs: number): number | undefined {
    const seen = this.channels.get(channel);
    return seen && this.clock.now() - seen.at <= maxAgeMs ? seen.edge : undefined;
  }
}
