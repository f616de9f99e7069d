// The connection string the xk6-sql postgres driver gets. It is lib/pq underneath, which defaults to
// sslmode=require, while a local PostgreSQL (the embedded target) has no TLS: loopback URLs without an
// explicit sslmode get sslmode=disable; remote ones keep the safe default. Pure module.
import { isLoopbackUrl } from "./config.ts";

export function sqlDriverUrl(url: string): string {
  if (/[?&]sslmode=/i.test(url) || !isLoopbackUrl(url)) return url;
  return `${url}${url.includes("?") ? "&" : "?"}sslmode=disable`;
}
