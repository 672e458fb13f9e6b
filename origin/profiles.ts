/**
 * Encoding profiles are data (SPEC §7). The seed's hybrid pipeline (`h264_nvenc -preset p5`, `scale_cuda`,
 * `aac 128k`, 4 s segments, 5 in the playlist) for the 1080p profiles; a tiny libx264-friendly profile for
 * tests and the demo. Frames are passed through at the contribution's rate (no rate conversion, so output
 * timestamps stay the feed's); `fps` is the rate the profile expects and sizes the keyframe-interval cap.
 */
export interface Profile {
  id: string;
  width: number;
  height: number;
  fps: number;
  /** ffmpeg bitrate notation */
  videoBitrate: string;
  audioBitrate: string;
  segmentSeconds: number;
  /** segments listed in the media playlist */
  listSize: number;
  /** libx264 preset used when there is no usable NVENC */
  x264Preset: string;
  /** NVENC preset (p1 fastest … p7 best), the seed's capacity figures are for p5 */
  nvencPreset: string;
  /** row of the GPU capacity table this profile is counted in (see capacity.ts) */
  capacityClass: 'sports-1080p' | 'news-1080p' | 'small';
  /** CPU cores one libx264 encode of this profile costs (see capacity.ts for where each figure comes from) */
  cpuCores: number;
}

export const PROFILES: Readonly<Record<string, Profile>> = {
  'sports-1080p': {
    id: 'sports-1080p',
    width: 1920,
    height: 1080,
    fps: 50,
    videoBitrate: '6M',
    audioBitrate: '128k',
    segmentSeconds: 4,
    listSize: 5,
    x264Preset: 'veryfast',
    nvencPreset: 'p5',
    capacityClass: 'sports-1080p',
    cpuCores: 4,
  },
  'news-1080p': {
    id: 'news-1080p',
    width: 1920,
    height: 1080,
    fps: 25,
    videoBitrate: '3M',
    audioBitrate: '128k',
    segmentSeconds: 4,
    listSize: 5,
    x264Preset: 'veryfast',
    nvencPreset: 'p5',
    capacityClass: 'news-1080p',
    cpuCores: 2,
  },
  'test-180p': {
    id: 'test-180p',
    width: 320,
    height: 180,
    fps: 15,
    videoBitrate: '200k',
    audioBitrate: '64k',
    segmentSeconds: 1,
    listSize: 6,
    x264Preset: 'ultrafast',
    nvencPreset: 'p5',
    capacityClass: 'small',
    // measured: 0.033 cores (3.3 % of one core over 20 s); rounded up for start-up and audio
    cpuCores: 0.05,
  },
};

export function findProfile(id: string): Profile | undefined {
  return Object.hasOwn(PROFILES, id) ? PROFILES[id] : undefined;
}
