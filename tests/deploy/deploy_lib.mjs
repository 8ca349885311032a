// Shared by the deploy checks: rendering the kustomize overlays, reading mproxyd's --help, reading
// config.proto, and loading the npm packages from the build directory (where npm_install.sh put
// them: the source tree gets no node_modules).
import { execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";

export const sourceDir = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
export const kubernetesDir = path.join(sourceDir, "deploy/kubernetes");
export const overlays = ["dev", "production"];

// Arguments: --mproxyd PATH --modules DIR (the build directory holding node_modules).
export function parseArguments(argv) {
  const options = {};
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i].replace(/^--/, "");
    if (argv[i + 1] === undefined) throw new Error(`${argv[i]} needs a value`);
    options[name] = argv[i + 1];
  }
  for (const required of ["mproxyd", "modules"])
    if (!options[required]) throw new Error(`usage: --mproxyd PATH --modules DIR (missing --${required})`);
  return options;
}

// import() of a package installed under modulesDir, whatever directory this file is in. The
// packages resolve to CommonJS there, whose exports may sit under `default` only.
export async function importFrom(modulesDir, specifier) {
  const require = createRequire(path.resolve(modulesDir, "package.json"));
  const module = await import(pathToFileURL(require.resolve(specifier)).href);
  return { ...(module.default ?? {}), ...module };
}

// The kubectl that renders: $KUBECTL, else the one on PATH. Any kustomize from v2.0 works (the
// manifests use only what it has).
export function renderOverlay(overlay) {
  const kubectl = process.env.KUBECTL || "kubectl";
  return execFileSync(kubectl, ["kustomize", path.join(kubernetesDir, "overlays", overlay)], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
}

export function parseObjects(YAML, text) {
  return YAML.parseAllDocuments(text)
    .map((document) => {
      if (document.errors.length) throw new Error(document.errors.map(String).join("\n"));
      return document.toJS();
    })
    .filter((object) => object !== null);
}

// Every long flag mproxyd --help lists.
export function mproxydFlags(mproxyd) {
  const help = execFileSync(mproxyd, ["--help"], { encoding: "utf8" });
  return new Set([...help.matchAll(/^\s*(?:-\w,)?(--[a-z0-9][a-z0-9-]*)/gm)].map((m) => m[1]));
}

// config.proto (and the rules.proto it imports) as {Message: {field: type}} and {Enum: [values]}.
export function readConfigSchema() {
  const messages = {};
  const enums = {};
  for (const file of ["config.proto", "rules.proto"]) {
    const text = readFileSync(path.join(sourceDir, "proto/mproxy/v1", file), "utf8").replace(/\/\/.*$/gm, "");
    for (const [, name, body] of text.matchAll(/\bmessage\s+(\w+)\s*\{([^{}]*)\}/g)) {
      messages[name] = {};
      for (const [, type, field] of body.matchAll(/^\s*(?:optional\s+|repeated\s+)?([\w.]+)\s+(\w+)\s*=\s*\d+/gm))
        messages[name][field] = type;
    }
    for (const [, name, body] of text.matchAll(/\benum\s+(\w+)\s*\{([^{}]*)\}/g))
      enums[name] = [...body.matchAll(/^\s*(\w+)\s*=/gm)].map((m) => m[1]);
  }
  return { messages, enums };
}

const snakeCase = (key) => key.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase());
const scalarChecks = {
  string: (v) => typeof v === "string",
  bool: (v) => typeof v === "boolean",
  double: (v) => typeof v === "number",
  uint32: (v) => Number.isInteger(v) && v >= 0,
  uint64: (v) => Number.isInteger(v) && v >= 0,
};

// Problems of `value` read as protobuf JSON of `message` ("limits.max_connections: ..."), the way
// mproxyd reads its --config: unknown keys and wrong types are errors.
export function configProblems(schema, message, value, where = "") {
  const fields = schema.messages[message];
  if (!fields) return [`${where || "(root)"}: config.proto has no message ${message}`];
  if (typeof value !== "object" || value === null || Array.isArray(value))
    return [`${where || "(root)"}: expected a ${message} object`];
  const problems = [];
  for (const [key, item] of Object.entries(value)) {
    const field = snakeCase(key);
    const at = where ? `${where}.${field}` : field;
    const type = fields[field];
    if (!type) {
      problems.push(`${at}: no such field in ${message}`);
      continue;
    }
    for (const [index, element] of (Array.isArray(item) ? item : [item]).entries()) {
      const atElement = Array.isArray(item) ? `${at}[${index}]` : at;
      if (schema.messages[type]) problems.push(...configProblems(schema, type, element, atElement));
      else if (schema.enums[type]) {
        if (!schema.enums[type].includes(element)) problems.push(`${atElement}: ${element} is not a ${type}`);
      } else if (!scalarChecks[type]) problems.push(`${atElement}: cannot check type ${type}`);
      else if (!scalarChecks[type](element)) problems.push(`${atElement}: ${JSON.stringify(element)} is not a ${type}`);
    }
  }
  return problems;
}

export const deadlineMs = 30_000;

// Resolves with the first match of `pattern` in the process's output, rejects at the deadline or
// when the process exits first.
export function waitForOutput(child, output, pattern, what, timeoutMs = deadlineMs) {
  return new Promise((resolve, reject) => {
    const check = () => {
      const match = output.text.match(pattern);
      if (match) finish(() => resolve(match));
    };
    const timer = setTimeout(() => finish(() => reject(new Error(`no ${what} within ${timeoutMs} ms:\n${output.text}`))), timeoutMs);
    const exited = (code) => finish(() => reject(new Error(`mproxyd exited (${code}) before ${what}:\n${output.text}`)));
    const finish = (settle) => {
      clearTimeout(timer);
      output.listeners.delete(check);
      child.off("exit", exited);
      settle();
    };
    output.listeners.add(check);
    child.on("exit", exited);
    check();
  });
}

// Starts mproxyd with `args`; its stdout and stderr are gathered in `output.text`, and
// waitFor(pattern) resolves on the first match (see waitForOutput).
export function startMproxyd(mproxyd, args) {
  const child = spawn(mproxyd, args, { stdio: ["ignore", "pipe", "pipe"] });
  const output = { text: "", listeners: new Set() };
  const collect = (chunk) => {
    output.text += chunk;
    for (const listener of [...output.listeners]) listener();
  };
  child.stdout.on("data", collect);
  child.stderr.on("data", collect);
  const exit = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  const waitFor = (pattern, what, timeoutMs) => waitForOutput(child, output, pattern, what, timeoutMs);
  const stop = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  };
  return { child, output, exit, waitFor, stop };
}
