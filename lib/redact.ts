// Keeps secrets out of everything the suite prints or writes (stdout summary, summary.json, junit.xml,
// report.html, CLI messages): the configured keys and passwords by value, plus anything that looks like
// a credential whatever its origin (JWTs, passwords inside connection strings). Pure module.

const MASK = "***";
const JWT = /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}/g;
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/[^:@/\s]+):([^@/\s]*)@/gi;
const KEYISH = /\b(sk|pk|whsec|sbp|sb_secret|sb_publishable)_[A-Za-z0-9_]{8,}/g;

/** The password part of a connection string, if any, so it can be masked wherever else it appears. */
export function passwordOf(url: string | null | undefined): string | null {
  if (!url) return null;
  const m = /^[a-z][a-z0-9+.-]*:\/\/[^:@/\s]+:([^@/\s]+)@/i.exec(url);
  return m ? decodeURIComponentSafe(m[1]!) : null;
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

export function redactText(text: string, secrets: ReadonlyArray<string | null | undefined> = []): string {
  let out = text;
  // Longest first, so that a secret containing another is masked whole.
  const values = secrets.filter((s): s is string => typeof s === "string" && s.length >= 4).sort((a, b) => b.length - a.length);
  for (const secret of values) out = out.split(secret).join(MASK);
  return out.replace(URL_CREDENTIALS, `$1:${MASK}@`).replace(JWT, MASK).replace(KEYISH, MASK);
}

/** Redacts every string inside a JSON-able value (keys too), returning a new value. */
export function redactValue<T>(value: T, secrets: ReadonlyArray<string | null | undefined> = []): T {
  return JSON.parse(redactText(JSON.stringify(value), secrets)) as T;
}

/** Every secret a run's config holds, for redactText. */
export function configSecrets(cfg: {
  anonKey: string;
  serviceRoleKey: string | null;
  webhookSecret: string;
  databaseUrl: string | null;
}): (string | null)[] {
  return [cfg.anonKey, cfg.serviceRoleKey, cfg.webhookSecret, cfg.databaseUrl, passwordOf(cfg.databaseUrl)];
}
