// Double of `k6/x/sql/driver/postgres`: an opaque driver id that only sql.open() recognises.
export const POSTGRES_DRIVER = Object.freeze({ driver: "postgres" });

