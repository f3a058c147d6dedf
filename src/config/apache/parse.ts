// Apache configuration files → a tree of directives and sections, each with its file:line. Everything httpd does
// while READING is done here, in file order: Include/IncludeOptional, Define/UnDefine, ${VAR} substitution,
// ServerRoot (it changes how later relative paths resolve), and the conditional sections.
//
// Conditional rule: `<IfModule x>` follows LoadModule as httpd does: once a LoadModule has been read, a module
// is loaded when a LoadModule before the test named it or when it is compiled into Debian's apache2 (`apache2 -l`).
// Before any LoadModule (a bare virtual-host file, which relies on a server that loads what it needs), every
// module counts as loaded, since Stickler implements the proxy, balancer and TLS modules itself. `mod_x.c`,
// `x_module` and `x` name the same module. `<IfDefine>` tests names set with
// `Define`; `<IfFile>` tests the file system; `<IfDirective>`/`<IfSection>` test Stickler's directive table;
// `<IfVersion>` compares with the httpd release Stickler follows (if-version.ts).
// Like httpd, nothing inside a false conditional is looked at beyond its nesting.
import { dirname, isAbsolute, resolve } from 'node:path';
import type { Source } from '../model.ts';
import { classify, readLogicalLines } from './lexer.ts';
import type { DirectiveRole, SectionRole } from './directives.ts';
import { allDirectiveNames, allSectionNames, lookupDirective, lookupSection } from './directives.ts';
import { ifVersionHolds } from './if-version.ts';
import { didYouMean } from './nearest.ts';
import type { Report } from './report.ts';

export interface DirectiveNode {
  kind: 'directive';
  /** Canonical spelling from the directive table. */
  name: string;
  args: string[];
  /** The arguments as written, before word splitting (see lexer.ts). */
  rest: string;
  source: Source;
  role: DirectiveRole;
  /** Directory that relative paths in this directive resolve against (ServerRoot in effect, else the main file's). */
  root: string;
}

export interface SectionNode {
  kind: 'section';
  name: string;
  args: string[];
  source: Source;
  role: SectionRole;
  root: string;
  children: ConfigNode[];
}

export type ConfigNode = DirectiveNode | SectionNode;

/** The file system as the parser needs it; load.ts gives the real one. */
export interface ConfigFiles {
  /** Files an Include argument names: a file, every file under a directory, or glob matches; sorted, [] if none. */
  expand(absolutePattern: string): string[];
  /** The text of a file; throws an Error whose message says why it cannot be read. */
  read(absolutePath: string): string;
  exists(absolutePath: string): boolean;
}

/** httpd refuses deeper Include nesting too (AP_MAX_INCLUDE_DEPTH). */
const MAX_INCLUDE_DEPTH = 128;

interface Frame {
  name: string;
  source: Source;
  /** Where this section's children go: its own node, or the parent's list for a true conditional. */
  into: ConfigNode[];
  /** False inside a false conditional or a section whose content is dropped. */
  active: boolean;
}

export class ConfigParser {
  readonly #files: ConfigFiles;
  readonly #report: Report;
  readonly #defines = new Map<string, string>();
  #root: string;
  readonly #includeChain: string[] = [];
  readonly #env: Readonly<Record<string, string | undefined>>;
  /** undefined until the first LoadModule: then every module counts as loaded. */
  #modules: Set<string> | undefined;
  /** Sections left open: everything after their opening line may sit in the wrong section. */
  structuralErrors = 0;

  /** `env` backs ${VAR} for names no Define set, as httpd falls back to its environment. */
  constructor(files: ConfigFiles, report: Report, mainFile: string, env: Readonly<Record<string, string | undefined>>) {
    this.#files = files;
    this.#report = report;
    this.#root = dirname(mainFile);
    this.#env = env;
  }

  parseText(text: string, file: string): ConfigNode[] {
    const top: ConfigNode[] = [];
    this.#includeChain.push(file);
    const stack: Frame[] = [];
    for (const { line, text: raw } of readLogicalLines(text)) {
      const source = { file, line };
      const frame = stack.at(-1);
      const active = frame?.active ?? true;
      const into = frame?.into ?? top;
      const classified = classify(active ? this.#substitute(raw, source) : raw);
      if (!classified.ok) {
        if (active) this.#report.error(source, classified.directive, classified.message);
        continue;
      }
      const st = classified.statement;
      if (st.kind === 'open') stack.push(this.#open(st.name, st.args, source, into, active));
      else if (st.kind === 'close') this.#close(st.name, source, stack);
      else if (active) this.#directive(st.name, st.args, st.rest, source, into);
    }
    for (const open of stack) {
      this.structuralErrors++;
      this.#report.error(open.source, `<${open.name}>`, `<${open.name}> opened here is never closed (expected </${open.name}> before end of file)`);
    }
    this.#includeChain.pop();
    return top;
  }

  #open(written: string, args: string[], source: Source, into: ConfigNode[], parentActive: boolean): Frame {
    const known = lookupSection(written);
    const name = known?.name ?? written;
    if (!parentActive) return { name, source, into, active: false };
    if (known === undefined) {
      this.#report.error(source, `<${written}>`, `unknown section${didYouMean(written, allSectionNames())}; expected an Apache httpd section such as <VirtualHost>, <Proxy> or <Location>`);
      return { name, source, into, active: false };
    }
    if (name === 'IfVersion') {
      const holds = ifVersionHolds(args);
      if (typeof holds === 'string') this.#report.error(source, '<IfVersion>', holds);
      return { name, source, into, active: holds === true };
    }
    if (known.role === 'conditional') {
      if (args.length !== 1) {
        this.#report.error(source, `<${name}>`, `expected exactly one argument, got ${args.length}`);
        return { name, source, into, active: false };
      }
      return { name, source, into, active: this.#condition(name, args[0] ?? '') };
    }
    const node: SectionNode = { kind: 'section', name, args, source, role: known.role, root: this.#root, children: [] };
    into.push(node);
    return { name, source, into: node.children, active: true };
  }

  #condition(section: string, arg: string): boolean {
    const negated = arg.startsWith('!');
    const subject = negated ? arg.slice(1) : arg;
    let holds: boolean;
    if (section === 'IfModule') holds = this.#modules === undefined || this.#modules.has(moduleName(subject));
    else if (section === 'IfDefine') holds = this.#defines.has(subject);
    else if (section === 'IfFile') holds = this.#files.exists(this.#absolute(subject));
    else if (section === 'IfDirective') holds = lookupDirective(subject) !== undefined;
    else holds = lookupSection(subject) !== undefined;
    return holds !== negated;
  }

  #close(written: string, source: Source, stack: Frame[]): void {
    const tag = `</${written}>`;
    const target = stack.findLastIndex((f) => f.name.toLowerCase() === written.toLowerCase());
    const top = stack.at(-1);
    if (top === undefined || target === -1) {
      if (top === undefined) {
        this.#report.error(source, tag, `closing tag without a matching <${written}>; expected an opening <${written}> before it`);
      } else if (top.active) {
        this.#report.error(source, tag, `does not close <${top.name}> opened at line ${top.source.line}, and no <${written}> is open; expected </${top.name}>`);
      }
      return;
    }
    for (const unclosed of stack.splice(target + 1).reverse()) {
      if (unclosed.active) {
        this.structuralErrors++;
        this.#report.error(unclosed.source, `<${unclosed.name}>`, `<${unclosed.name}> opened here is never closed (expected </${unclosed.name}> before ${tag} at line ${source.line})`);
      }
    }
    stack.pop();
  }

  #directive(written: string, args: string[], rest: string, source: Source, into: ConfigNode[]): void {
    const entry = lookupDirective(written);
    if (entry === undefined) {
      this.#report.error(source, written, `unknown directive${didYouMean(written, allDirectiveNames())}; expected an Apache httpd 2.4 directive`);
      return;
    }
    const { name, role } = entry;
    if (name === 'LoadModule' && args[0] !== undefined) (this.#modules ??= new Set(STATIC_MODULES)).add(moduleName(args[0]));
    if (role.role !== 'parser') {
      into.push({ kind: 'directive', name, args, rest, source, role, root: this.#root });
      return;
    }
    const need = name === 'Define' ? [1, 2] : [1, 1];
    if (args.length < (need[0] ?? 1) || args.length > (need[1] ?? 1)) {
      const expected = name === 'Define' ? 'a name and an optional value' : 'exactly one argument';
      this.#report.error(source, name, `expected ${expected}, got ${args.length} argument(s)`);
      return;
    }
    const arg = args[0] ?? '';
    if (name === 'Define') this.#defines.set(arg, args[1] ?? '');
    else if (name === 'UnDefine') this.#defines.delete(arg);
    else if (name === 'ServerRoot') this.#root = this.#absolute(arg);
    else this.#include(arg, name === 'IncludeOptional', source, into);
  }

  #include(arg: string, optional: boolean, source: Source, into: ConfigNode[]): void {
    const directive = optional ? 'IncludeOptional' : 'Include';
    if (this.#includeChain.length > MAX_INCLUDE_DEPTH) {
      this.#report.error(source, directive, `Include nesting is deeper than ${MAX_INCLUDE_DEPTH} levels; expected no Include loop`);
      return;
    }
    const pattern = this.#absolute(arg);
    const files = this.#files.expand(pattern);
    if (files.length === 0) {
      if (!optional) {
        this.#report.error(source, directive, `"${arg}" (${pattern}) matches no file; expected an existing file, directory or wildcard with matches (IncludeOptional allows none)`);
      }
      return;
    }
    for (const file of files) {
      if (this.#includeChain.includes(file)) {
        this.#report.error(source, directive, `"${file}" is already being read (Include loop); expected each file to be included once per chain`);
        continue;
      }
      let text: string;
      try {
        text = this.#files.read(file);
      } catch (e) {
        this.#report.error(source, directive, `cannot read "${file}": ${(e as Error).message}; expected a readable file`);
        continue;
      }
      into.push(...this.parseText(text, file));
    }
  }

  /**
   * httpd's ap_resolve_env: Define'd names first, then the environment (with envvars applied). httpd only warns and
   * leaves an unknown name as written, then fails later on a path such as `${APACHE_LOG_DIR}/error.log`; an error
   * here names the cause instead.
   */
  #substitute(text: string, source: Source): string {
    return text.replace(/\$\{([A-Za-z0-9_.]+)\}/g, (whole, name: string) => {
      const value = this.#defines.get(name) ?? this.#env[name];
      if (value !== undefined) return value;
      this.#report.error(source, whole, `config variable \${${name}} is not defined; expected a Define ${name} ... before this line, the variable in the environment, or an envvars file that exports it (--envvars FILE)`);
      return whole;
    });
  }

  #absolute(path: string): string {
    return isAbsolute(path) ? path : resolve(this.#root, path);
  }
}

/** Modules compiled into Debian's apache2 (`apache2 -l`): loaded without a LoadModule. */
const STATIC_MODULES = ['core', 'so', 'watchdog', 'http', 'http_core', 'log_config', 'logio', 'version', 'unixd'];

/** `mod_ssl.c`, `ssl_module` and `ssl` are one module. */
export function moduleName(written: string): string {
  return written.toLowerCase().replace(/^mod_(.*)\.c$/, '$1').replace(/_module$/, '');
}

/** Resolves a path from a directive against the ServerRoot in effect where it was written. */
export function resolveFrom(node: { root: string }, path: string): string {
  return isAbsolute(path) ? path : resolve(node.root, path);
}
