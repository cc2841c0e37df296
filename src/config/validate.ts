/**
 * The runtime API for config.json: load a bundle, validate a spec, an exec process or an update
 * resources object. Schema validation uses the functions precompiled at build time into
 * dist/src/config/schema/validators.js (see src/config/schema/build-validator.ts); that module is required lazily, so
 * importing this file costs nothing to commands that never validate.
 *
 * Every problem is one line: `<label>: <JSON pointer>: <rule>`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { RuntimeError } from '../base/errors';
import { requireCached } from '../base/codeCache';
import { codeCacheDir, validatorsFile } from '../base/paths';
import { CONFIG_FILE, readConfig } from './load';

/** Reads and parses config.json without validating it (for `runts validate`, which lists every problem). */
export { readConfig };
import { Problem, checkProcess, checkResources, checkSpec } from './semantic';
import type { LinuxResources, Process, Spec } from './types';

/** The subset of an ajv error object that we print. */
interface SchemaError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

type ValidateFunction = ((data: unknown) => boolean) & { errors?: SchemaError[] | null };

interface Validators {
  config: ValidateFunction;
  process: ValidateFunction;
  resources: ValidateFunction;
}

let validators: Validators | undefined;

function loadValidators(): Validators {
  // Bundled apart (src/build/bundle.ts): the entry has their code cache deserialized off the main
  // thread while create loads (src/cli/entry.ts).
  return (validators ??= requireCached(validatorsFile(), codeCacheDir(), require) as Validators);
}

export interface Bundle {
  spec: Spec;
  /** Absolute bundle directory. */
  bundle: string;
  /** Absolute, symlink-free path of the root filesystem. */
  rootfs: string;
}

/**
 * Reads, parses and validates `<bundleDir>/config.json` for create/run. Throws a RuntimeError
 * carrying the first problem. A missing process.user is filled in as uid 0 / gid 0, as runc does.
 */
export function loadBundle(bundleDir: string): Bundle {
  const { bundle, document } = readConfig(bundleDir);
  const problems = validateSpec(document, bundle);
  if (problems.length > 0) throw new RuntimeError(problems[0]);
  const spec = document as Spec;
  if (spec.process && !spec.process.user) spec.process.user = { uid: 0, gid: 0 };
  return { spec, bundle, rootfs: realRootfs(bundle, spec) };
}

function realRootfs(bundle: string, spec: Spec): string {
  // checkSpec has made sure root.path names an existing directory. realpath(3) in one call, where
  // Node's JS realpathSync lstats its way along the path (~0.1 ms with its first-call compiling).
  return fs.realpathSync.native(path.resolve(bundle, spec.root!.path));
}

/**
 * Every problem of a config: schema errors first; the semantic checks (which need a
 * well-formed document) run only when the schema passes.
 */
export function validateSpec(spec: unknown, bundleDir: string): string[] {
  const schemaProblems = schemaErrors(loadValidators().config, spec);
  const problems = schemaProblems.length > 0 ? schemaProblems : checkSpec(spec as Spec, path.resolve(bundleDir));
  return problems.map((p) => formatProblem(CONFIG_FILE, p));
}

/** Problems of a process object given to `exec --process FILE`. */
export function validateProcess(obj: unknown, label = 'process.json'): string[] {
  const schemaProblems = schemaErrors(loadValidators().process, obj);
  const problems = schemaProblems.length > 0 ? schemaProblems : checkProcess(obj as Process, '/');
  return problems.map((p) => formatProblem(label, p));
}

/** Problems of a resources object given to `update --resources FILE`. */
export function validateResources(obj: unknown, label = 'resources'): string[] {
  const schemaProblems = schemaErrors(loadValidators().resources, obj);
  const problems = schemaProblems.length > 0 ? schemaProblems : checkResources(obj as LinuxResources, '/');
  return problems.map((p) => formatProblem(label, p));
}

function schemaErrors(validate: ValidateFunction, data: unknown): Problem[] {
  if (validate(data)) return [];
  return (validate.errors ?? []).map(describeSchemaError);
}

function describeSchemaError(err: SchemaError): Problem {
  let message = err.message ?? `must pass "${err.keyword}"`;
  if (err.keyword === 'enum' && Array.isArray(err.params.allowedValues)) {
    message += ': ' + err.params.allowedValues.map((v) => JSON.stringify(v)).join(', ');
  }
  return { pointer: err.instancePath === '' ? '/' : err.instancePath, message };
}

/** One line per problem, always: control characters a config put in a path or value are escaped. */
function formatProblem(label: string, problem: Problem): string {
  return `${label}: ${escapeControls(problem.pointer)}: ${escapeControls(problem.message)}`;
}

function escapeControls(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]/g, (c) => JSON.stringify(c).slice(1, -1));
}
