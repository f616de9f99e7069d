// Where the embedded default target listens and which keys it accepts. These are the public demo
// values that `supabase start` also uses (JWT secret and the anon / service_role keys signed with it),
// so they are not secrets; a real project's keys come from the environment and are always redacted.
// Pure module: the k6 config reads it for defaults, the target reads it to serve.

export const LOCAL_API_PORT = 54321;
export const LOCAL_DB_PORT = 54322;
export const LOCAL_SUPABASE_URL = `http://127.0.0.1:${LOCAL_API_PORT}`;

export const LOCAL_JWT_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long";
export const LOCAL_ANON_KEY =
  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZS1kZW1vIiwicm9sZSI6ImFub24iLCJleHAiOjE5ODM4MTI5OTZ9.CRXP1A7WOeoJeXxjNni43kdQwgnWNReilDMblYTn_I0";
export const LOCAL_SERVICE_ROLE_KEY =
  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZS1kZW1vIiwicm9sZSI6InNlcnZpY2Vfcm9sZSIsImV4cCI6MTk4MzgxMjk5Nn0.EGIM96RAZx35lJzdJsyH-qQwv8Hdp7fsn3W0YpN81IU";

/** The local database password; the embedded server only listens on 127.0.0.1. */
export const LOCAL_DB_PASSWORD = "postgres";

/** Shared secret of the simulated payment provider; the webhook body is signed with HMAC-SHA256. */
export const LOCAL_WEBHOOK_SECRET = "whsec_liventix_local_only";
export const WEBHOOK_SIGNATURE_HEADER = "x-webhook-signature";
