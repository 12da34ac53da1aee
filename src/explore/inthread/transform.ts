/**
 * The build-time transform behind the in-thread explore engine: the protocol code (kernel model,
 * clients, coordinator, lab, Mem, and the scheduler itself) rewritten into stepped form, from the
 * one source, into `build/stepped/` (generated, gitignored).
 *
 * The one primitive: `Atomics.wait` — the place where a participant thread of the baton engine
 * gives up the CPU (SchedThread.waitTurn). In stepped form it becomes a `yield`: the participant's
 * generator returns control to the in-thread driver, which resumes whichever participant the
 * scheduler named (SH.RUNNING). Every function that (transitively, through type-resolved calls)
 * reaches a primitive becomes `function*`, and every call to one becomes `yield*`. Calls whose
 * target is not known statically — an interface method some implementation of which suspends, a
 * function-typed value (a callback parameter, a property such as KernelContext.pinCheck), a cast
 * to an opaque function type — go through `yield* __step(call)`, which delegates to a generator
 * and passes a plain value through, so both kinds of implementation work there.
 *
 * What cannot be stepped is reported (constructors, accessors and class field initialisers that
 * reach a primitive; a suspending function handed to code outside the model, such as
 * `Array.prototype.every`): the engine refuses to run on a build with such a report, and explore
 * falls back to the baton engine.
 *
 * TypeScript 7 has no JS API: the analysis uses TypeScript 5's checker (devDependency
 * `typescript5`), loaded only here, at build time; the edited sources are compiled with esbuild.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { transformSync } from 'esbuild';
import type * as TS from 'typescript5';

/** The driver module whose import closure is transformed (relative to the package root). */
export const STEPPED_ENTRY = 'src/explore/inthread/driver.ts';
/** Bumped whenever the transform's output changes for the same sources. */
const TRANSFORM_VERSION = 4;

/** A finished stepped build. */
export interface SteppedBuild {
  /** Directory of the generated modules (mirrors the package root). */
  outDir: string;
  /** The driver module, compiled. */
  entry: string;
  /** Sites that cannot be stepped (empty: the build is usable). */
  report: string[];
  files: number;
  generators: number;
  /** Wall time of this call (a cache hit is a few ms). */
  ms: number;
  cached: boolean;
}

/** Helpers prepended to every module that has a dynamic suspending call. */
const STEP_HELPER =
  'const __GEN = Object.getPrototypeOf(Object.getPrototypeOf((function* () {})()));\n' +
  'function __step(v) { return v !== null && typeof v === "object" && Object.getPrototypeOf(Object.getPrototypeOf(v)) === __GEN ? v : __done(v); }\n' +
  // A plain value through yield*: one reused iterator and result (read at once, never kept).
  'const __R = { done: true, value: undefined };\n' +
  'const __D = { [Symbol.iterator]() { return this; }, next() { return __R; } };\n' +
  'function __done(v) { __R.value = v; return __D; }\n';

function listTs(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) listTs(p, out);
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out.sort();
}

/** Cache key: every source under src/ and this transform's own version. */
function sourceHash(root: string): string {
  const h = createHash('sha256');
  h.update(`v${TRANSFORM_VERSION}\n`);
  for (const f of listTs(join(root, 'src'))) {
    h.update(relative(root, f));
    h.update(readFileSync(f));
  }
  return h.digest('hex').slice(0, 16);
}

/** Is the cached stepped build under `root/build/stepped` the one of today's sources (no build needed)? */
export function steppedBuildCurrent(root: string): boolean {
  const stamp = join(root, 'build', 'stepped', 'STAMP.json');
  return existsSync(stamp) && (JSON.parse(readFileSync(stamp, 'utf8')) as { hash: string }).hash === sourceHash(root);
}

/**
 * Build (or find cached) the stepped form of the driver's import closure under `root/build/stepped`.
 * Concurrent callers are safe: the output is written to a temporary directory and renamed.
 */
export async function buildStepped(root: string, opts: { force?: boolean } = {}): Promise<SteppedBuild> {
  const t0 = performance.now();
  const outDir = join(root, 'build', 'stepped');
  const entry = join(outDir, STEPPED_ENTRY.replace(/\.ts$/, '.js'));
  const stamp = join(outDir, 'STAMP.json');
  const hash = sourceHash(root);
  if (opts.force !== true && existsSync(stamp)) {
    const s = JSON.parse(readFileSync(stamp, 'utf8')) as { hash: string; report: string[]; files: number; generators: number };
    if (s.hash === hash) return { outDir, entry, report: s.report, files: s.files, generators: s.generators, ms: performance.now() - t0, cached: true };
  }
  const ts = ((await import('typescript5')) as unknown as { default: typeof TS }).default;
  const { files, report, generators } = transformClosure(ts, root);
  const tmp = `${outDir}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  for (const [rel, code] of files) {
    const p = join(tmp, rel.replace(/\.ts$/, '.js'));
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, code);
  }
  writeFileSync(join(tmp, 'STAMP.json'), JSON.stringify({ hash, report, files: files.size, generators }, null, 1));
  writeFileSync(join(tmp, 'package.json'), '{ "type": "module" }\n');
  rmSync(outDir, { recursive: true, force: true });
  try {
    renameSync(tmp, outDir);
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // another process renamed its (identical) build first
  }
  return { outDir, entry, report, files: files.size, generators, ms: performance.now() - t0, cached: false };
}

type FnNode = TS.SignatureDeclaration & { body?: TS.Node };

interface CallSite {
  node: TS.CallExpression | TS.NewExpression;
  owner: TS.Node;
  /** Statically resolved declarations in src (direct targets). */
  direct: TS.Node[];
  /** Dynamic: interface member name, or '*' for a function-typed value. */
  dynamic: string | null;
  wait: boolean;
}

/** Analyse and rewrite the closure of STEPPED_ENTRY; returns compiled JS per package-relative path. */
function transformClosure(ts: typeof TS, root: string): { files: Map<string, string>; report: string[]; generators: number } {
  const program = ts.createProgram([join(root, STEPPED_ENTRY)], {
    target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
    // No @types/node: calls into Node never suspend, and the program checks faster without it.
    strict: true, skipLibCheck: true, noEmit: true, lib: ['lib.es2022.d.ts'], types: [],
  });
  const t0 = performance.now();
  const checker = program.getTypeChecker();
  const srcDir = join(root, 'src');
  const sources = program.getSourceFiles().filter((f) => !f.isDeclarationFile && f.fileName.startsWith(srcDir));
  const inSrc = (n: TS.Node): boolean => n.getSourceFile().fileName.startsWith(srcDir) && !n.getSourceFile().isDeclarationFile;
  const isFn = (n: TS.Node): n is FnNode =>
    (ts.isFunctionDeclaration(n) || ts.isMethodDeclaration(n) || ts.isFunctionExpression(n) || ts.isArrowFunction(n) ||
      ts.isConstructorDeclaration(n) || ts.isGetAccessorDeclaration(n) || ts.isSetAccessorDeclaration(n)) && n.body !== undefined;
  const where = (n: TS.Node): string => {
    const sf = n.getSourceFile();
    const { line } = sf.getLineAndCharacterOfPosition(n.getStart());
    return `${relative(root, sf.fileName)}:${line + 1}`;
  };
  const memberName = (n: TS.Node): string | null => {
    const name = (n as { name?: TS.Node }).name;
    return name !== undefined && (ts.isIdentifier(name) || ts.isPrivateIdentifier(name) || ts.isStringLiteral(name)) ? name.text : null;
  };

  // Classes some class extends: calls to their methods may reach an override (dispatch by name).
  const extended = new Set<TS.Node>();
  for (const sf of sources) {
    const find = (n: TS.Node): void => {
      if (ts.isClassLike(n)) {
        for (const h of n.heritageClauses ?? []) {
          if (h.token !== ts.SyntaxKind.ExtendsKeyword) continue;
          for (const t of h.types) for (const d of checker.getTypeAtLocation(t.expression).getSymbol()?.declarations ?? []) extended.add(d);
          for (const t of h.types) for (const d of checker.getSymbolAtLocation(t.expression)?.declarations ?? []) extended.add(d);
        }
      }
      ts.forEachChild(n, find);
    };
    find(sf);
  }
  const entryFile = program.getSourceFile(join(root, STEPPED_ENTRY));
  const tm = (what: string): void => {
    if (process.env.PINLAB_STEPPED_TIMING === '1') console.error(`${what}: ${(performance.now() - t0).toFixed(0)} ms`);
  };
  tm('program');
  const calls: CallSite[] = [];
  const fns: FnNode[] = [];
  /** Function-like values not in callee position (arguments, assignments, returns) and the node using them. */
  const fnValues = new Set<FnNode>();
  const fieldInits: TS.Node[] = [];
  /** Declarations of what an identifier names, through imports. */
  const declsOf = (n: TS.Node): readonly TS.Declaration[] => {
    let sym = checker.getSymbolAtLocation(n);
    if (sym !== undefined && (sym.flags & ts.SymbolFlags.Alias) !== 0) sym = checker.getAliasedSymbol(sym);
    return sym?.declarations ?? [];
  };
  /** Function declarations referenced as values (passed, stored), with the reference. */
  const namedValues: [TS.Identifier, FnNode][] = [];
  const isValueUse = (n: TS.Identifier): boolean => {
    const p = n.parent;
    if ((ts.isCallExpression(p) || ts.isNewExpression(p)) && p.expression === n) return false;
    if (ts.isFunctionDeclaration(p) || ts.isImportSpecifier(p) || ts.isExportSpecifier(p) || ts.isImportClause(p)) return false;
    if (ts.isPropertyAccessExpression(p) && p.name === n) return false;
    return ts.isCallExpression(p) || ts.isPropertyAssignment(p) || ts.isArrayLiteralExpression(p) || ts.isReturnStatement(p) ||
      ts.isBinaryExpression(p) || ts.isVariableDeclaration(p) || ts.isShorthandPropertyAssignment(p);
  };
  for (const sf of sources) {
    const visit = (n: TS.Node, owner: TS.Node): void => {
      if (isFn(n)) {
        fns.push(n);
        if ((ts.isArrowFunction(n) || ts.isFunctionExpression(n)) && !(ts.isCallExpression(n.parent) && n.parent.expression === n)) {
          if (!ts.isVariableDeclaration(n.parent)) fnValues.add(n);
        }
        ts.forEachChild(n, (c) => visit(c, n));
        return;
      }
      if (ts.isPropertyDeclaration(n) && n.initializer !== undefined) {
        fieldInits.push(n);
        ts.forEachChild(n, (c) => visit(c, n));
        return;
      }
      if (ts.isCallExpression(n) || ts.isNewExpression(n)) calls.push(resolveCall(n, owner));
      if (ts.isIdentifier(n) && isValueUse(n)) {
        for (const d of declsOf(n)) if (ts.isFunctionDeclaration(d) && d.body !== undefined) namedValues.push([n, d]);
      }
      ts.forEachChild(n, (c) => visit(c, owner));
    };
    visit(sf, sf);
  }

  function resolveCall(n: TS.CallExpression | TS.NewExpression, owner: TS.Node): CallSite {
    const e = n.expression;
    const site: CallSite = { node: n, owner, direct: [], dynamic: null, wait: false };
    if (ts.isCallExpression(n) && ts.isPropertyAccessExpression(e) && ts.isIdentifier(e.expression) && e.expression.text === 'Atomics' && e.name.text === 'wait') {
      site.wait = true;
      return site;
    }
    const decl = checker.getResolvedSignature(n)?.declaration;
    if (decl === undefined) return site;
    if (!inSrc(decl)) return site; // lib and packages: never suspend
    if (isFn(decl)) {
      site.direct.push(decl);
      // A class method a subclass or an implementation may override: dynamic by name as well.
      if (ts.isMethodDeclaration(decl) && ts.isClassLike(decl.parent) && extended.has(decl.parent)) site.dynamic = memberName(decl);
    } else if (ts.isMethodSignature(decl) || ts.isPropertySignature(decl)) {
      site.dynamic = memberName(decl);
    } else if (ts.isFunctionTypeNode(decl) || ts.isCallSignatureDeclaration(decl)) {
      // A function-typed value: a property or interface member names it, else any callback.
      const p = decl.parent;
      site.dynamic = ts.isPropertySignature(p) || ts.isPropertyDeclaration(p) ? (memberName(p) ?? '*') : '*';
    }
    return site;
  }

  tm('calls resolved');
  // ---- fixpoint -----------------------------------------------------------------------------
  const suspending = new Set<TS.Node>();
  const suspendingNames = new Set<string>();
  let anyCallbackSuspends = false;
  const nameOfFn = (f: FnNode): string | null => {
    if (ts.isMethodDeclaration(f)) return memberName(f);
    const p = f.parent;
    if (ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p)) return memberName(p);
    if (ts.isBinaryExpression(p) && ts.isPropertyAccessExpression(p.left)) return p.left.name.text;
    return null;
  };
  // A call of a function-typed value suspends if some suspending function value fits its type.
  const valueTypes: TS.Type[] = [];
  const starCache = new Map<CallSite, [number, boolean]>();
  // Calls of a parameter: what the function's callers pass there, when every caller is known.
  const callersOf = new Map<TS.Node, CallSite[]>();
  for (const c of calls) {
    for (const d of c.direct) {
      const l = callersOf.get(d);
      if (l === undefined) callersOf.set(d, [c]);
      else l.push(c);
    }
  }
  const argSuspends = (a: TS.Expression): boolean | null => {
    if (ts.isArrowFunction(a) || ts.isFunctionExpression(a)) return suspending.has(a);
    if (!ts.isIdentifier(a)) return null;
    const d = declsOf(a)[0];
    return d !== undefined && ts.isFunctionDeclaration(d) ? suspending.has(d) : null;
  };
  const paramSuspends = (c: CallSite): boolean | null => {
    const e = c.node.expression;
    if (!ts.isIdentifier(e)) return null;
    const d = checker.getSymbolAtLocation(e)?.declarations?.[0];
    if (d === undefined || !ts.isParameter(d) || !isFn(d.parent) || valuesOf.has(d.parent)) return null;
    const at = d.parent.parameters.indexOf(d);
    const sites = callersOf.get(d.parent) ?? [];
    if (sites.length === 0) return null;
    let any = false;
    for (const s of sites) {
      const arg = s.node.arguments?.[at];
      if (arg === undefined) continue;
      const v = argSuspends(arg);
      if (v === null) return null;
      any ||= v;
    }
    return any;
  };
  const starSuspends = (c: CallSite): boolean => {
    const byArgs = paramSuspends(c);
    if (byArgs !== null) return byArgs;
    const hit = starCache.get(c);
    if (hit !== undefined && hit[0] === valueTypes.length) return hit[1];
    const callee = checker.getTypeAtLocation(c.node.expression);
    const yes = valueTypes.some((t) => checker.isTypeAssignableTo(t, checker.getNonNullableType(callee)));
    starCache.set(c, [valueTypes.length, yes]);
    return yes;
  };
  const siteSuspends = (c: CallSite): boolean =>
    c.wait || c.direct.some((d) => suspending.has(d)) ||
    (c.dynamic !== null && (suspendingNames.has(c.dynamic) || (c.dynamic === '*' && anyCallbackSuspends && starSuspends(c))));
  const valuesOf = new Map<TS.Node, TS.Node[]>();
  for (const f of fnValues) valuesOf.set(f, [f]);
  for (const [ref, d] of namedValues) {
    const l = valuesOf.get(d);
    if (l === undefined) valuesOf.set(d, [ref]);
    else l.push(ref);
  }
  const byOwner = new Map<TS.Node, CallSite[]>();
  for (const c of calls) {
    const l = byOwner.get(c.owner);
    if (l === undefined) byOwner.set(c.owner, [c]);
    else l.push(c);
  }
  for (let changed = true; changed; ) {
    changed = false;
    for (const f of fns) {
      if (suspending.has(f) || f.getSourceFile() === entryFile) continue; // the driver consumes generators
      if (!(byOwner.get(f) ?? []).some(siteSuspends)) continue;
      suspending.add(f);
      changed = true;
      const name = nameOfFn(f);
      if (name !== null) suspendingNames.add(name);
      for (const v of valuesOf.get(f) ?? []) {
        anyCallbackSuspends = true;
        valueTypes.push(checker.getTypeAtLocation(v));
      }
    }
  }

  tm('fixpoint');
  // ---- report -------------------------------------------------------------------------------
  const report: string[] = [];
  for (const f of suspending) {
    if (ts.isConstructorDeclaration(f)) report.push(`${where(f)}: a constructor reaches a scheduling point`);
    if (ts.isGetAccessorDeclaration(f) || ts.isSetAccessorDeclaration(f)) report.push(`${where(f)}: an accessor reaches a scheduling point`);
  }
  for (const f of fnValues) {
    if (!suspending.has(f)) continue;
    // Handed to a call whose parameter type is ours (it calls back through __step): fine; to a
    // built-in (every, map, forEach…) it would get a generator object back: not steppable.
    const p = f.parent;
    if (ts.isCallExpression(p) || ts.isNewExpression(p)) {
      const decl = checker.getResolvedSignature(p)?.declaration;
      if (decl === undefined || !inSrc(decl)) report.push(`${where(f)}: a function that reaches a scheduling point is passed to code outside the model`);
    }
  }
  for (const c of calls) {
    if (!siteSuspends(c)) continue;
    if (c.wait && !(isFn(c.owner) || ts.isSourceFile(c.owner))) continue;
    if (ts.isSourceFile(c.owner)) report.push(`${where(c.node)}: module top level reaches a scheduling point`);
    else if (ts.isPropertyDeclaration(c.owner)) report.push(`${where(c.node)}: a field initialiser reaches a scheduling point`);
    else if (ts.isNewExpression(c.node)) report.push(`${where(c.node)}: a constructor call reaches a scheduling point`);
  }

  // ---- rewrite ------------------------------------------------------------------------------
  const files = new Map<string, string>();
  let generators = 0;
  for (const sf of sources) {
    const text = sf.getFullText();
    const edits: { pos: number; text: string; order: number }[] = [];
    let helper = false;
    for (const f of fns) {
      if (f.getSourceFile() !== sf || !suspending.has(f)) continue;
      if (ts.isConstructorDeclaration(f) || ts.isGetAccessorDeclaration(f) || ts.isSetAccessorDeclaration(f)) continue;
      generators++;
      if (ts.isMethodDeclaration(f)) {
        edits.push({ pos: f.name.getStart(), text: '*', order: 0 });
      } else if (ts.isFunctionDeclaration(f) || ts.isFunctionExpression(f)) {
        const kw = f.getChildren().find((c) => c.kind === ts.SyntaxKind.FunctionKeyword)!;
        edits.push({ pos: kw.getEnd(), text: '*', order: 0 });
      } else if (ts.isArrowFunction(f)) {
        const usesThis = containsThis(ts, f.body);
        const start = f.getStart();
        const hasParens = f.getChildren().some((c) => c.kind === ts.SyntaxKind.OpenParenToken);
        const fspan = f.getEnd() - start;
        edits.push({ pos: start, text: usesThis ? '(function* ' : 'function* ', order: OPEN(fspan) - 3 });
        if (!hasParens) {
          edits.push({ pos: f.parameters[0]!.getStart(), text: '(', order: 0 });
          edits.push({ pos: f.parameters[0]!.getEnd(), text: ')', order: 0 });
        }
        const arrow = f.equalsGreaterThanToken;
        edits.push({ pos: arrow.getStart(), text: '/*', order: 0 }, { pos: arrow.getEnd(), text: '*/', order: 0 });
        if (!ts.isBlock(f.body)) {
          edits.push({ pos: f.body.getStart(), text: '{ return (', order: OPEN(f.body.getEnd() - f.body.getStart()) - 2 });
          edits.push({ pos: f.body.getEnd(), text: '); }', order: CLOSE(fspan) + 1 });
        }
        if (usesThis) edits.push({ pos: f.getEnd(), text: ').bind(this)', order: CLOSE(fspan) + 2 });
      }
    }
    for (const c of calls) {
      if (c.node.getSourceFile() !== sf || !siteSuspends(c) || !isFn(c.owner) || !suspending.has(c.owner)) continue;
      const start = c.node.getStart();
      const end = c.node.getEnd();
      const span = end - start;
      if (c.wait) {
        edits.push({ pos: start, text: '(yield 0, "ok")/*', order: OPEN(span) }, { pos: end, text: '*/', order: CLOSE(span) + 3 });
        continue;
      }
      const exact = c.dynamic === null && c.direct.some((d) => suspending.has(d)) && !(ts.isCallExpression(c.node) && c.node.questionDotToken !== undefined);
      if (exact && !hasOptionalChain(ts, c.node.expression)) {
        edits.push({ pos: start, text: '(yield* ', order: OPEN(span) }, { pos: end, text: ')', order: CLOSE(span) + 3 });
      } else {
        helper = true;
        edits.push({ pos: start, text: '(yield* __step(', order: OPEN(span) }, { pos: end, text: '))', order: CLOSE(span) + 3 });
      }
    }
    // Same position: closes (negative order) before opens, outer opens before inner ones.
    edits.sort((a, b) => a.pos - b.pos || a.order - b.order);
    let out = '';
    let at = 0;
    for (const e of edits) {
      out += text.slice(at, e.pos) + e.text;
      at = e.pos;
    }
    out += text.slice(at);
    const js = transformSync(out, { loader: 'ts', format: 'esm', target: 'es2022', sourcefile: relative(root, sf.fileName) }).code;
    files.set(relative(root, sf.fileName), (helper ? STEP_HELPER : '') + js);
  }
  tm('emitted');
  return { files, report, generators };
}

/**
 * Order of insertions at one position: every close (of a node ending there) before every open;
 * closes inner (shorter) first, opens outer (longer) first.
 */
const OPEN = (span: number): number => -span * 4;
const CLOSE = (span: number): number => -1e12 + span * 4;

function containsThis(ts: typeof TS, n: TS.Node): boolean {
  if (n.kind === ts.SyntaxKind.ThisKeyword) return true;
  if (ts.isFunctionDeclaration(n) || ts.isFunctionExpression(n) || ts.isClassLike(n)) return false;
  return ts.forEachChild(n, (c) => containsThis(ts, c) || undefined) === true;
}

function hasOptionalChain(ts: typeof TS, n: TS.Node): boolean {
  for (let e: TS.Node = n; ; ) {
    if ((ts.isPropertyAccessExpression(e) || ts.isElementAccessExpression(e) || ts.isCallExpression(e)) && e.questionDotToken !== undefined) return true;
    if (ts.isPropertyAccessExpression(e) || ts.isElementAccessExpression(e) || ts.isCallExpression(e) || ts.isNonNullExpression(e) || ts.isParenthesizedExpression(e)) e = e.expression;
    else return false;
  }
}
