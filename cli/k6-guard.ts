// Refuses heavy or contended load (stress, spike, race, soak) against a host that is not this machine
// unless the user listed it in LOAD_ALLOW_HOSTS: a flash-sale test pointed at production by mistake is
// an outage. Pure module.
import { HEAVY_BUNDLES, type BundleName } from "../lib/bundles.ts";
import { isLoopbackUrl, urlHost } from "../lib/config.ts";

export function allowedHosts(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
}

/** Why the run is refused, or null when it may go ahead. */
export function guardRefusal(bundle: BundleName, supabaseUrl: string | undefined, allowHosts: string | undefined): string | null {
  if (!supabaseUrl || isLoopbackUrl(supabaseUrl) || !HEAVY_BUNDLES.includes(bundle)) return null;
  const host = urlHost(supabaseUrl);
  if (allowedHosts(allowHosts).includes(host)) return null;
  return (
    `liventix-load: refusing to run "${bundle}" against ${host}: it is not this machine and heavy profiles ` +
    `(${HEAVY_BUNDLES.join(", ")}) can take a real backend down.\n` +
    `If ${host} is a staging project meant for this, allow it explicitly: LOAD_ALLOW_HOSTS=${host} npm run load -- ${bundle}`
  );
}
