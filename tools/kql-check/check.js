#!/usr/bin/env node
// Checks KQL queries with Microsoft's own Kusto.Language analyser (the npm build of
// Kusto.Language, @kusto/language-service-next), against ruleproof's typed table schemas
// (crates/kql/tables/*.yml). A query that names an unknown column, compares an int with a
// string, nests too deeply or has a syntax error is reported with its file:line:col.
//
// Usage: node check.js --tables DIR [--quiet] PATH...
//   PATH is a .kql file or a directory searched for .kql files.
// Exit codes: 0 every query is clean, 1 some query has an error, 2 usage or I/O error.
'use strict';

const fs = require('fs');
const path = require('path');
const yaml = require('js-yaml');
require('@kusto/language-service-next/bridge.min.js');
require('@kusto/language-service-next/Kusto.Language.Bridge.min.js');

/* global Kusto */
const K = Kusto.Language;
const S = K.Symbols;

function usage(message) {
  process.stderr.write(`kql-check: ${message}\nusage: node check.js --tables DIR [--quiet] PATH...\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const args = { tables: null, quiet: false, paths: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--tables') {
      args.tables = argv[++i];
      if (!args.tables) usage('--tables needs a directory');
    } else if (arg === '--quiet') {
      args.quiet = true;
    } else if (arg.startsWith('-')) {
      usage(`unknown option ${arg}`);
    } else {
      args.paths.push(arg);
    }
  }
  if (!args.tables) usage('--tables is required');
  if (args.paths.length === 0) usage('no query file or directory given');
  return args;
}

// A column name as a Kusto schema string writes it.
function columnName(name) {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? name : `['${name.replace(/'/g, "\\'")}']`;
}

// Every table schema of the directory, as Kusto.Language table symbols.
function loadTables(dir) {
  const tables = [];
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.yml')).sort()) {
    const where = path.join(dir, file);
    const doc = yaml.load(fs.readFileSync(where, 'utf8'));
    if (!doc || typeof doc.table !== 'string' || typeof doc.columns !== 'object') {
      throw new Error(`${where}: expected 'table' and 'columns'`);
    }
    const schema = Object.entries(doc.columns)
      .map(([name, type]) => `${columnName(name)}:${type}`)
      .join(', ');
    tables.push(new S.TableSymbol.$ctor7(doc.table, `(${schema})`, null));
  }
  return tables;
}

function kqlFiles(target, out) {
  const stat = fs.statSync(target);
  if (stat.isDirectory()) {
    for (const entry of fs.readdirSync(target).sort()) {
      kqlFiles(path.join(target, entry), out);
    }
  } else if (target.endsWith('.kql') || target.endsWith('.csl')) {
    out.push(target);
  }
  return out;
}

// 1-based line and column of a character offset.
function lineCol(text, offset) {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return [line, column];
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  let tables;
  let files = [];
  try {
    tables = loadTables(args.tables);
    for (const target of args.paths) kqlFiles(target, files);
  } catch (e) {
    process.stderr.write(`kql-check: ${e.message}\n`);
    process.exit(2);
  }
  const database = new S.DatabaseSymbol.ctor('ruleproof', tables);
  const cluster = new S.ClusterSymbol.ctor('ruleproof', [database]);
  const globals = K.GlobalState.Default.WithCluster(cluster).WithDatabase(database);
  let failed = 0;
  for (const file of files) {
    const text = fs.readFileSync(file, 'utf8');
    const diagnostics = K.KustoCode.ParseAndAnalyze(text, globals).GetDiagnostics();
    let errors = 0;
    for (let i = 0; i < diagnostics.Count; i++) {
      const d = diagnostics.getItem(i);
      if (d.Severity !== 'Error') continue;
      errors++;
      const [line, column] = lineCol(text, d.Start);
      process.stdout.write(`${file}:${line}:${column}: error: ${d.Message} (${d.Code})\n`);
    }
    if (errors > 0) failed++;
  }
  const clean = files.length - failed;
  if (!args.quiet || failed > 0) {
    process.stdout.write(`kql-check: ${files.length} queries, ${clean} clean, ${failed} with errors\n`);
  }
  process.exit(failed > 0 ? 1 : 0);
}

main();
