import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { parseDuration } from "./duration";

export interface Rule {
  match: RegExp;
  ttlMs: number;
  raw: string;
}

export interface Config {
  service: string;
  rules: Rule[];
}

export const DEFAULT_CONFIG = path.join(__dirname, "..", "config", "default.yaml");

export function loadConfig(file = process.env.CONFIG_FILE || DEFAULT_CONFIG): Config {
  const data = parse(fs.readFileSync(file, "utf8"));
  const rules: Rule[] = data.rules.map((r: { match: string; ttl: string }) => ({
    match: new RegExp(r.match),
    ttlMs: parseDuration(r.ttl),
    raw: r.ttl,
  }));
  return { service: data.service, rules };
}

export function ttlFor(config: Config, url: string): Rule | undefined {
  return config.rules.find((r) => r.match.test(url));
}
