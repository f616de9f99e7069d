// One line that says what a run is about to do (after LOAD_SCALE), so nobody starts a 30-minute soak
// or a 500-VU spike by accident without seeing it first.
import { BUNDLES, type BundleName } from "../lib/bundles.ts";
import { formatDuration, profilePeakVUs, profileSeconds, scaleProfile, type ProfileSpec } from "../lib/profile.ts";

export async function describePlan(bundle: BundleName, loadScale: number): Promise<string> {
  const { profile: name, scenario } = BUNDLES[bundle];
  const { profile } = (await import(`../profiles/${name}.ts`)) as { profile: ProfileSpec };
  const scaled = scaleProfile(profile, loadScale);
  const scale = loadScale === 1 ? "" : ` (LOAD_SCALE ${loadScale}; unscaled: ${profile.description})`;
  return `${bundle}: scenario ${scenario}, up to ${profilePeakVUs(scaled)} VUs for ${formatDuration(profileSeconds(scaled))}${scale}`;
}
