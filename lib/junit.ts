// JUnit XML of a run, so CI systems show each threshold and each invariant as its own test case.
// Pure module: no k6 import.
import { invariantOutcomes, type SummaryModel } from "./summary-model.ts";
import type { RunContext } from "./summary-text.ts";

export function xmlEscape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&apos;");
}

interface Case {
  name: string;
  failure: string | null;
  skipped: string | null;
}

function suite(name: string, cases: Case[]): string {
  const failures = cases.filter((c) => c.failure !== null).length;
  const skipped = cases.filter((c) => c.skipped !== null).length;
  const body = cases
    .map((c) => {
      const open = `    <testcase classname="${xmlEscape(name)}" name="${xmlEscape(c.name)}"`;
      if (c.failure !== null) return `${open}><failure message="${xmlEscape(c.failure)}"/></testcase>`;
      if (c.skipped !== null) return `${open}><skipped message="${xmlEscape(c.skipped)}"/></testcase>`;
      return `${open}/>`;
    })
    .join("\n");
  return `  <testsuite name="${xmlEscape(name)}" tests="${cases.length}" failures="${failures}" errors="0" skipped="${skipped}">\n${body}\n  </testsuite>`;
}

export function renderJunit(model: SummaryModel, ctx: RunContext): string {
  const thresholds: Case[] = model.thresholds
    .filter((t) => !t.tracking)
    .map((t) => ({
      name: `${t.metric} ${t.expression}`,
      failure: t.ok === false ? `threshold crossed: ${t.metric} ${t.expression}` : null,
      skipped: t.ok === null ? "no data to evaluate" : null,
    }));
  const invariants: Case[] = invariantOutcomes(model, ctx.checks).map((o) => ({
    name: o.name,
    failure: o.passed === false ? `violated (${o.violations})` : null,
    skipped: o.passed === null ? "not checked" : null,
  }));
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<testsuites name="${xmlEscape(`liventix-load ${ctx.bundle}`)}">`,
    suite(`${ctx.bundle}.thresholds`, thresholds),
    suite(`${ctx.bundle}.invariants`, invariants),
    `</testsuites>`,
    "",
  ].join("\n");
}
