#!/usr/bin/env node
// The `ccrescue` command of the npm package: finds the native ccrescue binary that npm installed
// from this platform's package (an optional dependency, see ../platforms.json) and runs it with
// the same arguments, terminal and environment. Its exit status comes back unchanged, and so does
// death by a signal: Ctrl-C that ends ccrescue ends this launcher by SIGINT too, so the shell
// sees 130 and a script running `ccrescue` stops. CCRESCUE_BINARY overrides which binary runs.
'use strict';

const { spawn } = require('child_process');
const os = require('os');
const path = require('path');

const OVERRIDE = 'CCRESCUE_BINARY';
const self = require('../package.json');
const { platforms } = require('../platforms.json');

function fail(lines) {
  process.stderr.write(`ccrescue: ${lines.join('\n')}\n`);
  process.exit(1);
}

function show(value) {
  return JSON.stringify(String(value)); // quoted, with control characters escaped
}

function binaryPath() {
  const override = process.env[OVERRIDE];
  if (override) {
    return { file: override, from: `${OVERRIDE}=${show(override)}` };
  }
  const here = `${process.platform} ${process.arch}`;
  const platform = platforms.find((p) => p.os === process.platform && p.cpu === process.arch);
  if (!platform) {
    const known = platforms.map((p) => `${p.os} ${p.cpu}`).join(', ');
    fail([
      `there is no prebuilt ccrescue for ${here} (there is for ${known}).`,
      'With a Rust toolchain (https://rustup.rs), build it: cargo install ccrescue',
      `then run ~/.cargo/bin/ccrescue, or set ${OVERRIDE} to its path to keep using this command.`,
    ]);
  }
  let manifest;
  try {
    manifest = require.resolve(`${platform.package}/package.json`);
  } catch (e) {
    const wanted = `${platform.package}@${self.version}`;
    fail([
      `the ccrescue binary for ${here} is missing: npm did not install the package ${platform.package}`,
      '(an optional dependency of ccrescue; npm leaves those out under --omit=optional, --no-optional',
      'or omit=optional in an .npmrc). To get it:',
      '  npm install -g ccrescue --include=optional    if you installed ccrescue with -g',
      `  npm install ${wanted}${' '.repeat(Math.max(1, 34 - wanted.length))}in the project you installed ccrescue into`,
      '  npx --include=optional ccrescue               with npx',
      `or set ${OVERRIDE} to the path of a ccrescue binary.`,
    ]);
  }
  const installed = require(manifest).version;
  if (installed !== self.version) {
    process.stderr.write(
      `ccrescue: warning: ${platform.package} is version ${installed} but this launcher is ${self.version}; ` +
        `reinstall both at one version: npm install -g ccrescue@${self.version}\n`,
    );
  }
  return { file: path.join(path.dirname(manifest), 'bin', platform.binary), from: platform.package };
}

function run() {
  const { file, from } = binaryPath();
  const child = spawn(file, process.argv.slice(2), { stdio: 'inherit' });

  // While ccrescue runs, the launcher never dies of a signal on its own: it passes the signal on
  // (on unix; a console's Ctrl-C already reaches every process on Windows) and then ends the way
  // ccrescue ended. Ctrl-C at a terminal reaches both processes; ccrescue is built to take a
  // second one while it is already stopping.
  const forwarded = process.platform === 'win32' ? ['SIGINT', 'SIGBREAK'] : ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];
  const handlers = forwarded.map((signal) => {
    const handler = () => {
      if (process.platform !== 'win32') {
        try {
          child.kill(signal);
        } catch (e) {
          // already gone: its exit ends us
        }
      }
    };
    process.on(signal, handler);
    return [signal, handler];
  });

  child.on('error', (e) => {
    fail([
      `could not run ${show(file)} (from ${from}): ${e.message}.`,
      from.startsWith(OVERRIDE)
        ? `Point ${OVERRIDE} at an executable ccrescue binary, or unset it.`
        : 'Reinstall: npm install -g ccrescue --include=optional (or in your project, without -g).',
    ]);
  });

  child.on('exit', (code, signal) => {
    for (const [s, h] of handlers) process.off(s, h);
    if (signal) {
      // Die by the same signal (with our handler removed, its default action ends us), so the
      // shell sees what it would have seen running ccrescue directly. The timer covers a
      // signal whose default action does not end a process.
      process.kill(process.pid, signal);
      setTimeout(() => process.exit(128 + (os.constants.signals[signal] || 0)), 100);
      return;
    }
    process.exit(code === null ? 1 : code);
  });
}

run();
