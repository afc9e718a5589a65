//! Architecture rules for `src/`, checked by reading the sources (no compiler, no external crates).
//!
//! The module graph comes from `use` declarations and `crate::`/`super::`/`self::` paths (and
//! paths through a module brought in by `use`); comments, literals and `#[cfg(test)]` items are
//! ignored. The rules keep modules movable and the request path cheap:
//! 1. no import cycles between files;
//! 2. a domain reaches another domain through its `service`, never its `repo`;
//! 3. layers import only downward: kernel, infrastructure, schema toolkit, domains, wiring;
//! 4. only `app.rs` and `schema.rs` import every domain;
//! 5. no async-graphql schema extension: it wraps every field resolution.
//!
//! The checker is pure functions over `(path relative to src, source)` pairs, so each rule is also
//! tested on small synthetic trees.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, lowest first, with their top-level modules (each covers everything under it). A
/// file may import modules of its own layer or a lower one. The crate root (`lib.rs`) is wiring.
/// A new top-level module must be listed here, or it is reported as unranked.
const LAYERS: &[(&str, &str)] = &[
    ("kernel", "kernel"),
    (
        "infrastructure",
        "config telemetry db metrics rate_limit clients broker jobs state domain",
    ),
    ("schema toolkit", "graphql"),
    ("domains", "domains"),
    ("wiring", "app schema http startup cli"),
];

/// The only modules allowed to import every domain.
const DOMAIN_HUBS: &[&str] = &["app", "schema"];

/// A module path from the crate root: `[]` is `lib.rs`, `["jobs"]` is `jobs.rs` or `jobs/mod.rs`.
type Module = Vec<String>;

struct SourceFile {
    path: String,
    module: Module,
    imports: BTreeSet<Module>,
}

/// Reads every `.rs` file under `src`, with paths relative to it.
fn read_sources(src: &Path) -> std::io::Result<Vec<(PathBuf, String)>> {
    let (mut files, mut dirs) = (Vec::new(), vec![src.to_path_buf()]);
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path.strip_prefix(src).unwrap_or(&path).to_path_buf();
                files.push((relative, std::fs::read_to_string(&path)?));
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Runs every rule and returns one human-readable line per violation.
fn check(files: &[(PathBuf, String)]) -> Vec<String> {
    let mut violations = Vec::new();
    let mut tree = Vec::new();
    for (path, source) in files {
        let (code, shown) = (strip(source), format!("src/{}", path.display()));
        for (n, line) in code.lines().enumerate() {
            if line.contains(".extension(") {
                let n = n + 1;
                let why = "registers a schema extension, which wraps every field resolution";
                violations.push(format!("extension: {shown}:{n} {why}"));
            }
        }
        if let Some(module) = module_of(path) {
            tree.push((shown, module, code));
        }
    }
    let known: BTreeSet<Module> = tree.iter().map(|(_, module, _)| module.clone()).collect();
    let tree: Vec<SourceFile> = tree
        .into_iter()
        .map(|(path, module, code)| {
            let imports = imports(&code, &module, &known);
            SourceFile {
                path,
                module,
                imports,
            }
        })
        .collect();
    violations.extend(import_cycles(&tree));
    violations.extend(foreign_repos(&tree));
    violations.extend(upward_imports(&tree));
    violations.extend(domain_hubs(&tree));
    violations
}

/// The module a file defines; `None` for the binaries (`main.rs`, `bin/`).
fn module_of(path: &Path) -> Option<Module> {
    let mut parts: Vec<String> = path
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if parts == ["main.rs"] || parts.first().is_some_and(|p| p == "bin") {
        return None;
    }
    let file = parts.pop()?;
    match file.trim_end_matches(".rs") {
        "mod" => {}
        "lib" if parts.is_empty() => {}
        stem => parts.push(stem.to_string()),
    }
    Some(parts)
}

fn import_cycles(tree: &[SourceFile]) -> Vec<String> {
    let index: BTreeMap<&Module, usize> = tree
        .iter()
        .enumerate()
        .map(|(i, f)| (&f.module, i))
        .collect();
    let edges: Vec<Vec<usize>> = tree
        .iter()
        .map(|f| f.imports.iter().map(|m| index[m]).collect())
        .collect();
    let mut tarjan = Tarjan {
        edges: &edges,
        index: vec![None; tree.len()],
        ..Tarjan::default()
    };
    for v in 0..tree.len() {
        if tarjan.index[v].is_none() {
            tarjan.visit(v);
        }
    }
    tarjan
        .cycles
        .iter()
        .map(|cycle| {
            let mut files: Vec<&str> = cycle.iter().map(|&i| tree[i].path.as_str()).collect();
            files.sort_unstable();
            format!("cycle ({} files): {}", files.len(), files.join(", "))
        })
        .collect()
}

/// Tarjan's strongly connected components; `cycles` keeps those of more than one file.
#[derive(Default)]
struct Tarjan<'a> {
    edges: &'a [Vec<usize>],
    index: Vec<Option<usize>>,
    low: BTreeMap<usize, usize>,
    stack: Vec<usize>,
    cycles: Vec<Vec<usize>>,
}

impl Tarjan<'_> {
    fn visit(&mut self, v: usize) {
        let order = self.low.len();
        self.index[v] = Some(order);
        self.low.insert(v, order);
        self.stack.push(v);
        let edges = self.edges;
        for &w in &edges[v] {
            if self.index[w].is_none() {
                self.visit(w);
            }
            if self.stack.contains(&w) {
                let low = self.low[&v].min(self.low[&w]);
                self.low.insert(v, low);
            }
        }
        if self.index[v] == Some(self.low[&v]) {
            let at = self.stack.iter().position(|&w| w == v).unwrap_or_default();
            let component = self.stack.split_off(at);
            if component.len() > 1 {
                self.cycles.push(component);
            }
        }
    }
}

fn foreign_repos(tree: &[SourceFile]) -> Vec<String> {
    let mut out = Vec::new();
    for file in tree {
        for target in &file.imports {
            let foreign = domain_of(target).is_some_and(|d| Some(d) != domain_of(&file.module));
            if foreign && target.len() >= 3 && target[2] == "repo" {
                let target = target.join("::");
                out.push(format!(
                    "repo: {} imports {target}; use that domain's service",
                    file.path
                ));
            }
        }
    }
    out
}

fn upward_imports(tree: &[SourceFile]) -> Vec<String> {
    let (mut out, mut unranked) = (Vec::new(), BTreeMap::<&str, Vec<&str>>::new());
    for file in tree {
        let Some(own) = rank(&file.module) else {
            unranked
                .entry(&file.module[0])
                .or_default()
                .push(&file.path);
            continue;
        };
        let mut higher = BTreeMap::<usize, Vec<String>>::new();
        for target in &file.imports {
            if let Some(theirs) = rank(target)
                && theirs > own
            {
                higher.entry(theirs).or_default().push(target.join("::"));
            }
        }
        for (layer, targets) in higher {
            let (own, layer, targets) = (LAYERS[own].0, LAYERS[layer].0, targets.join(", "));
            out.push(format!(
                "layer: {} ({own}) imports the {layer} layer: {targets}",
                file.path
            ));
        }
    }
    out.extend(unranked.into_iter().map(|(module, files)| {
        let files = files.join(", ");
        format!(
            "unranked module `{module}` ({files}); give it a layer in tests/api/architecture.rs"
        )
    }));
    out
}

fn domain_hubs(tree: &[SourceFile]) -> Vec<String> {
    // The folders under `src/domains/` (a file such as `domains/ids.rs` is no domain).
    let domains: BTreeSet<&str> = tree
        .iter()
        .filter_map(|f| f.path.strip_prefix("src/domains/")?.split_once('/'))
        .map(|(domain, _)| domain)
        .collect();
    let mut out = Vec::new();
    for file in tree {
        let reached: BTreeSet<&str> = file.imports.iter().filter_map(|m| domain_of(m)).collect();
        let hub = file.module.len() == 1 && DOMAIN_HUBS.contains(&file.module[0].as_str());
        if domains.len() >= 3 && !hub && reached.is_superset(&domains) {
            let path = &file.path;
            out.push(format!(
                "domains: {path} imports every domain; only app.rs and schema.rs may"
            ));
        }
    }
    out
}

/// The domain a module belongs to: `customers` for `domains::customers::repo`.
fn domain_of(module: &[String]) -> Option<&str> {
    match module {
        [top, domain, ..] if top == "domains" => Some(domain),
        _ => None,
    }
}

/// The index in `LAYERS` of a module's layer; `None` for an unlisted top-level module.
fn rank(module: &[String]) -> Option<usize> {
    let Some(top) = module.first() else {
        return Some(LAYERS.len() - 1);
    };
    LAYERS
        .iter()
        .position(|(_, members)| members.split_whitespace().any(|m| m == top))
}

/// The modules a file refers to, each the longest known prefix of a path, without the file itself
/// and the crate root.
fn imports(code: &str, own: &Module, known: &BTreeSet<Module>) -> BTreeSet<Module> {
    let toks = tokens(code);
    let (mut uses, mut paths) = (Vec::new(), Vec::new());
    let mut i = 0;
    while i < toks.len() {
        // `x::name` and `x.name` are not paths that start with `name`.
        let continues = i > 0 && matches!(toks[i - 1], "::" | ".");
        if toks[i] == "use" && !continues {
            i += 1;
            use_tree(&toks, &mut i, &[], &mut uses);
            while toks.get(i).is_some_and(|&t| t != ";") {
                i += 1;
            }
        } else if is_ident(toks[i]) && !continues {
            let mut path = vec![toks[i]];
            while toks.get(i + 1) == Some(&"::") && toks.get(i + 2).is_some_and(|t| is_ident(t)) {
                path.push(toks[i + 2]);
                i += 2;
            }
            if path.len() > 1 {
                paths.push(path);
            }
        }
        i += 1;
    }
    // A `use` that names a module makes it an alias; aliases of aliases need another round.
    let mut aliases = BTreeMap::new();
    for _ in 0..3 {
        for (path, name) in &uses {
            if let (Some(name), Some(module)) = (name, absolute(path, own, &aliases))
                && known.contains(&module)
            {
                aliases.insert(*name, module);
            }
        }
    }
    let longest_known = |path: Module| {
        (0..=path.len())
            .rev()
            .map(|n| path[..n].to_vec())
            .find(|m| known.contains(m))
    };
    (uses.iter().map(|(path, _)| path).chain(&paths))
        .filter_map(|path| longest_known(absolute(path, own, &aliases)?))
        .filter(|module| !module.is_empty() && module != own)
        .collect()
}

/// Makes a path absolute from the crate root; `None` for paths into other crates.
fn absolute(path: &[&str], own: &Module, aliases: &BTreeMap<&str, Module>) -> Option<Module> {
    let supers = path.iter().take_while(|&&s| s == "super").count();
    let (mut module, rest) = match *path.first()? {
        "crate" => (Vec::new(), &path[1..]),
        "self" => (own.clone(), &path[1..]),
        "super" if supers <= own.len() => (own[..own.len() - supers].to_vec(), &path[supers..]),
        name => (aliases.get(name)?.clone(), &path[1..]),
    };
    module.extend(rest.iter().map(|&s| s.to_owned()));
    Some(module)
}

/// Flattens the `use` tree at `toks[*i]` into `(path, name it binds)`; a glob binds nothing.
fn use_tree<'a>(
    toks: &[&'a str],
    i: &mut usize,
    prefix: &[&'a str],
    out: &mut Vec<(Vec<&'a str>, Option<&'a str>)>,
) {
    let mut path = prefix.to_vec();
    *i += usize::from(toks.get(*i) == Some(&"::"));
    while let Some(&tok) = toks.get(*i) {
        *i += 1;
        match tok {
            "{" => {
                while toks.get(*i).is_some_and(|&t| t != "}") {
                    let start = *i;
                    use_tree(toks, i, &path, out);
                    *i += usize::from(toks.get(*i) == Some(&","));
                    if *i == start {
                        break;
                    }
                }
                *i += 1;
            }
            "*" => out.push((path, None)),
            segment if is_ident(segment) => {
                path.push(segment);
                if toks.get(*i) == Some(&"::") {
                    *i += 1;
                    continue;
                }
                if path.last() == Some(&"self") {
                    path.pop();
                }
                let mut name = path.last().copied();
                if toks.get(*i) == Some(&"as") {
                    name = toks.get(*i + 1).copied().filter(|&n| n != "_");
                    *i += 2;
                }
                out.push((path, name));
            }
            _ => *i -= 1,
        }
        return;
    }
}

/// Words (identifiers, keywords, numbers, lifetimes), `::` and single punctuation characters.
fn tokens(code: &str) -> Vec<&str> {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let (mut out, mut chars) = (Vec::new(), code.char_indices().peekable());
    while let Some((start, c)) = chars.next() {
        let mut end = start + c.len_utf8();
        if word(c) || c == '\'' {
            while let Some(&(at, next)) = chars.peek()
                && word(next)
            {
                end = at + next.len_utf8();
                chars.next();
            }
        } else if c == ':' && chars.next_if(|&(_, next)| next == ':').is_some() {
            end += 1;
        } else if c.is_whitespace() {
            continue;
        }
        out.push(&code[start..end]);
    }
    out
}

fn is_ident(tok: &str) -> bool {
    tok.starts_with(|c: char| c.is_alphabetic() || c == '_')
}

/// Blanks comments, string and char literals, then `#[cfg(test)]` items; newlines stay, so line
/// numbers still match the source.
fn strip(source: &str) -> String {
    let mut s: Vec<char> = source.chars().collect();
    let mut i = 0;
    while i < s.len() {
        i = match literal_end(&s, i) {
            Some(end) => blank(&mut s, i, end),
            None => i + 1,
        };
    }
    let attribute: Vec<char> = "#[cfg(test)]".chars().collect();
    let mut i = 0;
    while i < s.len() {
        i = if s[i..].starts_with(&attribute) {
            let end = item_end(&s, i + attribute.len());
            blank(&mut s, i, end)
        } else {
            i + 1
        };
    }
    s.into_iter().collect()
}

fn blank(s: &mut [char], from: usize, to: usize) -> usize {
    s[from..to]
        .iter_mut()
        .filter(|c| **c != '\n')
        .for_each(|c| *c = ' ');
    to
}

/// The end of the comment or literal starting at `s[i]`, if one does (a lifetime is neither).
fn literal_end(s: &[char], i: usize) -> Option<usize> {
    let at = |k: usize| s.get(k).copied();
    match s[i] {
        '/' if at(i + 1) == Some('/') => {
            Some((i..s.len()).find(|&k| s[k] == '\n').unwrap_or(s.len()))
        }
        '/' if at(i + 1) == Some('*') => {
            let (mut depth, mut k) = (0, i);
            while k < s.len() {
                match (s[k], at(k + 1)) {
                    ('/', Some('*')) => (depth, k) = (depth + 1, k + 2),
                    ('*', Some('/')) if depth == 1 => return Some(k + 2),
                    ('*', Some('/')) => (depth, k) = (depth - 1, k + 2),
                    _ => k += 1,
                }
            }
            Some(s.len())
        }
        '"' => Some(escaped_end(s, i + 1, '"')),
        '\'' if at(i + 1) == Some('\\') => Some(escaped_end(s, i + 1, '\'')),
        '\'' if at(i + 2) == Some('\'') => Some(i + 3),
        // Byte, C and raw strings, byte chars; not the end of an identifier such as `br`.
        'b' | 'c' | 'r' if i == 0 || !(s[i - 1].is_alphanumeric() || s[i - 1] == '_') => {
            let k = if s[i] == 'r' { i } else { i + 1 };
            match at(k)? {
                '"' => Some(escaped_end(s, k + 1, '"')),
                '\'' if s[i] == 'b' => Some(escaped_end(s, k + 1, '\'')),
                'r' => {
                    let hashes = s[k + 1..].iter().take_while(|&&c| c == '#').count();
                    let open = k + 1 + hashes;
                    let close: Vec<char> = std::iter::once('"')
                        .chain(std::iter::repeat_n('#', hashes))
                        .collect();
                    (at(open) == Some('"')).then(|| {
                        let end = (open + 1..s.len()).find(|&j| s[j..].starts_with(&close));
                        end.map_or(s.len(), |j| j + close.len())
                    })
                }
                _ => None,
            }
        }
        _ => None,
    }
}

fn escaped_end(s: &[char], mut k: usize, quote: char) -> usize {
    while k < s.len() {
        match s[k] {
            '\\' => k += 2,
            c if c == quote => return k + 1,
            _ => k += 1,
        }
    }
    s.len()
}

/// The end of the item starting at `s[i]`: its first `;` or balanced `{…}` outside brackets.
fn item_end(s: &[char], mut i: usize) -> usize {
    let (mut brackets, mut braces) = (0i32, 0i32);
    while i < s.len() {
        match s[i] {
            '(' | '[' => brackets += 1,
            ')' | ']' => brackets -= 1,
            ';' if brackets == 0 && braces == 0 => return i + 1,
            '{' if brackets == 0 => braces += 1,
            '}' if brackets == 0 && braces == 1 => return i + 1,
            '}' if brackets == 0 => braces -= 1,
            _ => {}
        }
        i += 1;
    }
    s.len()
}

#[test]
fn the_source_tree_follows_the_layer_rules() {
    let src = Path::new(option_env!("CARGO_MANIFEST_DIR").unwrap_or(".")).join("src");
    let violations = check(&read_sources(&src).expect("read src/"));
    let (count, list) = (violations.len(), violations.join("\n"));
    assert!(
        violations.is_empty(),
        "{count} architecture violation(s):\n{list}"
    );
}

/// A synthetic tree that follows every rule; tests add or replace files.
const CLEAN: &[(&str, &str)] = &[
    (
        "lib.rs",
        "pub mod kernel; pub mod jobs; pub mod state; pub mod graphql; pub mod domains;",
    ),
    ("kernel.rs", "pub struct Id;"),
    ("state.rs", "use crate::kernel::Id; pub struct State;"),
    ("jobs/mod.rs", "pub mod x; use crate::state::State;"),
    ("jobs/x.rs", "pub struct Y;"),
    ("graphql/mod.rs", "use crate::{kernel::Id, state::State};"),
    ("domains/mod.rs", "pub mod a; pub mod b; pub mod c;"),
    ("domains/a/mod.rs", "pub mod repo; pub mod service;"),
    ("domains/a/repo.rs", "use crate::kernel::Id;"),
    (
        "domains/a/service.rs",
        "use super::repo; fn f() { repo::x(crate::domains::b::service::g) }",
    ),
    ("domains/b/service.rs", "use crate::{graphql, jobs::x::Y};"),
    (
        "domains/c/service.rs",
        "use crate::domains::a::{self, service::f}; fn g() { a::service::f() }",
    ),
    (
        "app.rs",
        "use crate::domains::{a::service as a, b::service::*, c::service::h};",
    ),
    ("main.rs", "use waba_bot::domains::a::repo::Anything;"),
    (
        "bin/bench.rs",
        "use crate::domains::{a::repo::X, b::service::Y, c::service::Z};",
    ),
];

/// Checks the clean tree with `changes` applied; each `expected` line starts one violation.
fn assert_violations(changes: &[(&str, &str)], expected: &[&str]) {
    let mut files: BTreeMap<&str, &str> = CLEAN.iter().copied().collect();
    files.extend(changes.iter().copied());
    let files: Vec<_> = files
        .into_iter()
        .map(|(p, s)| (p.into(), s.to_string()))
        .collect();
    let found = check(&files);
    let ok =
        found.len() == expected.len() && found.iter().zip(expected).all(|(f, e)| f.starts_with(e));
    assert!(ok, "expected {expected:#?}\nfound {found:#?}");
}

#[test]
fn a_clean_tree_has_no_violations() {
    assert_violations(&[], &[]);
}

#[test]
fn two_files_importing_each_other_form_a_cycle() {
    let state = "use crate::{kernel::Id, jobs::x::Y};";
    let changes = [("state.rs", state), ("jobs/x.rs", "use crate::state::S;")];
    assert_violations(&changes, &["cycle (2 files): src/jobs/x.rs, src/state.rs"]);
}

#[test]
fn a_module_alias_closes_a_cycle() {
    let state = "use crate::jobs; fn run(_: jobs::x::Y, _: other::jobs::x::Z, _: my_jobs::x::Y) {}";
    let changes = [
        ("state.rs", state),
        ("jobs/mod.rs", "pub mod x;"),
        ("jobs/x.rs", "fn f(_: crate::state::S) {}"),
    ];
    assert_violations(&changes, &["cycle (2 files): src/jobs/x.rs, src/state.rs"]);
}

#[test]
fn another_domains_repo_is_off_limits() {
    let service = "use crate::domains::{a::repo::find, b::service as own};";
    let changes = [
        ("domains/b/service.rs", service),
        ("graphql/mod.rs", "fn f() { crate::domains::a::repo::f() }"),
    ];
    assert_violations(
        &changes,
        &[
            "repo: src/domains/b/service.rs imports domains::a::repo;",
            "repo: src/graphql/mod.rs imports domains::a::repo;",
            "layer: src/graphql/mod.rs (schema toolkit) imports the domains layer: domains::a::repo",
        ],
    );
}

#[test]
fn the_kernel_cannot_import_a_domain() {
    let kernel = "use crate::domains; fn f(_: domains::c::model::S) {}";
    let changes = [
        ("kernel.rs", kernel),
        ("domains/c/model.rs", "pub struct S;"),
    ];
    assert_violations(
        &changes,
        &["layer: src/kernel.rs (kernel) imports the domains layer: domains, domains::c::model"],
    );
}

#[test]
fn a_new_top_level_module_needs_a_layer() {
    let changes = [
        ("events.rs", "use crate::kernel::Id;"),
        ("state.rs", "use crate::events::E;"),
    ];
    assert_violations(
        &changes,
        &["unranked module `events` (src/events.rs); give it a layer"],
    );
}

#[test]
fn only_the_wiring_imports_every_domain() {
    let http = "use crate::domains::{a::service::f, b::service::g, c::service::h};";
    assert_violations(
        &[("http/mod.rs", http)],
        &["domains: src/http/mod.rs imports every domain;"],
    );
}

#[test]
fn schema_extensions_are_found_in_code_only() {
    let source = "fn build<'a>(b: B<'a>) -> B<'static> {\n    let _ = ('\"', '\\'', '\\u{22}');\n    \
        // b.extension(Tracing)\n    /* /* nested */ b.extension(Tracing) */\n    \
        let _ = (\".extension(\", b\".extension(\", r#\"\".extension(\"#);\n    b.extension(Tracing)\n}";
    assert_violations(
        &[("graphql/mod.rs", source)],
        &["extension: src/graphql/mod.rs:6 "],
    );
}

#[test]
fn cfg_test_items_are_ignored() {
    let source = "pub struct Id;\n#[cfg(test)]\nmod tests {\n    use crate::domains::a::repo::find;\n    \
        fn f() { crate::domains::b::service::g(); x.extension(y); }\n}\n#[cfg(test)] use crate::domains;";
    assert_violations(&[("kernel.rs", source)], &[]);
}

#[test]
fn super_is_the_parent_of_the_files_module() {
    let changes = [
        // From `jobs/x.rs` `super` is `jobs`; from `jobs/mod.rs` `self` is `jobs`.
        ("jobs/mod.rs", "pub mod x; pub use self::x::Y;"),
        ("jobs/x.rs", "use super::Queue; pub struct Y;"),
        // From `domains/b/mod.rs` `super` is `domains`.
        (
            "domains/b/mod.rs",
            "pub mod service; use super::a::repo::find;",
        ),
        ("domains/c/service.rs", "use super::super::a::repo;"),
    ];
    assert_violations(
        &changes,
        &[
            "cycle (2 files): src/jobs/mod.rs, src/jobs/x.rs",
            "repo: src/domains/b/mod.rs imports domains::a::repo;",
            "repo: src/domains/c/service.rs imports domains::a::repo;",
        ],
    );
}
