// Starts `hearth serve` as a child process on 127.0.0.1 (port 0 the first time) with a
// fresh data directory, and can restart it on the same port and data directory.
//
// The server prints `Hearth is listening on http://ADDR` on stdout once it accepts
// connections (crates/hearth-server/src/main.rs); that line is what we wait for.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** The hearth binary: $HEARTH_BIN, or target/debug/hearth. */
export function hearthBin() {
  const bin = process.env.HEARTH_BIN
    ? path.resolve(REPO_ROOT, process.env.HEARTH_BIN)
    : path.join(REPO_ROOT, 'target/debug/hearth');
  if (!existsSync(bin)) {
    throw new Error(`no hearth binary at ${bin}: run scripts/e2e, or cargo build -p hearth-server`);
  }
  return bin;
}

// Every child we started, so that none outlives the test process whatever happens.
const children = new Set();
function killAll() {
  for (const child of children) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  children.clear();
}
process.once('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
    killAll();
    process.exit(128 + ({ SIGINT: 2, SIGTERM: 15, SIGHUP: 1 })[sig]);
  });
}

const LISTEN_PREFIX = 'Hearth is listening on http://';

/** Spawns one hearth process and resolves with {child, addr} once it listens. */
function spawnHearth({ bin, listen, dataDir, env, startTimeoutMs }) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['serve', '--listen', listen, '--data-dir', dataDir], {
      cwd: dataDir,
      env: {
        ...process.env,
        HEARTH_LOG: 'error',
        // Fast and still durable enough for tests that restart gracefully.
        HEARTH_SQLITE_SYNCHRONOUS: process.env.HEARTH_SQLITE_SYNCHRONOUS ?? 'normal',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    let stderrTail = '';
    let stdoutBuf = '';
    let settled = false;
    const fail = (err) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      try {
        child.kill('SIGKILL');
      } catch {
        // gone
      }
      reject(err);
    };
    const timer = setTimeout(
      () => fail(new Error(`hearth did not listen within ${startTimeoutMs} ms; stderr:\n${stderrTail}`)),
      startTimeoutMs,
    );
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => {
      stderrTail = (stderrTail + chunk).slice(-8000);
      if (process.env.E2E_SERVER_LOG) process.stderr.write(`[hearth] ${chunk}`);
    });
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      if (settled) return; // keep draining so the pipe never fills
      stdoutBuf += chunk;
      let nl;
      while ((nl = stdoutBuf.indexOf('\n')) >= 0) {
        const line = stdoutBuf.slice(0, nl).trim();
        stdoutBuf = stdoutBuf.slice(nl + 1);
        if (line.startsWith(LISTEN_PREFIX)) {
          settled = true;
          clearTimeout(timer);
          resolve({ child, addr: line.slice(LISTEN_PREFIX.length), stderr: () => stderrTail });
          return;
        }
      }
    });
    child.on('error', fail);
    child.on('exit', (code, signal) => {
      children.delete(child);
      fail(new Error(`hearth exited (code ${code}, signal ${signal}) before listening; stderr:\n${stderrTail}`));
    });
  });
}

/** Sends SIGTERM and waits for the exit; SIGKILL after `graceMs`. */
function stopChild(child, graceMs = 10_000) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      children.delete(child);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * Starts a hearth server on 127.0.0.1, port 0, with a fresh temporary data directory.
 * Returns {url, addr, port, dataDir, stop(), restart(), kill()}:
 *   stop()    SIGTERM, wait for exit, delete the data directory (unless E2E_KEEP_DATA)
 *   restart() SIGTERM, wait, start a new process on the same port and data directory
 *             (options.downtime(): an async function run while the server is down)
 *   kill()    SIGKILL (a crash), without cleanup
 */
export async function startServer({ env = {}, startTimeoutMs = 30_000 } = {}) {
  const bin = hearthBin();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'hearth-e2e-'));
  let current = await spawnHearth({ bin, listen: '127.0.0.1:0', dataDir, env, startTimeoutMs });
  const addr = current.addr;
  const port = Number(addr.split(':').pop());
  const server = {
    addr,
    port,
    url: `http://${addr}`,
    dataDir,
    get pid() {
      return current.child.pid;
    },
    async stop() {
      await stopChild(current.child);
      if (!process.env.E2E_KEEP_DATA) rmSync(dataDir, { recursive: true, force: true });
    },
    async kill() {
      current.child.kill('SIGKILL');
      await stopChild(current.child);
    },
    async restart({ downtime } = {}) {
      await stopChild(current.child);
      if (downtime) await downtime();
      // The old socket is closed, but retry briefly in case the port is not free yet.
      let lastError;
      for (let attempt = 0; attempt < 20; attempt++) {
        try {
          current = await spawnHearth({ bin, listen: addr, dataDir, env, startTimeoutMs });
          return server;
        } catch (err) {
          lastError = err;
          await new Promise((r) => setTimeout(r, 250));
        }
      }
      throw lastError;
    },
  };
  return server;
}
