// mount.mjs — run the real daemon in the foreground on a mountpoint, and take it down.
//
//   const m = await startMount({ source, mnt, options: ['latest_ttl=1'], env });
//   ... use m.mnt ...
//   m.assertNoUnexpectedLogs([/expected pattern/]);
//   await m.unmount();              // always, from an after() hook
//
// The daemon's stdout and stderr go to a file (never a pipe: a test blocked in a
// synchronous read of the mount must not be able to stall the daemon on a full pipe).
// Readiness is the mountpoint appearing in /proc/self/mountinfo while the process is alive;
// if it dies first, startMount throws with everything it printed.
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { LAKEMOUNT, FUSERMOUNT, requireBinary, removeTmpdir } from './env.mjs';

const active = new Set();
// Last resort if the test process exits with mounts still up (crash, uncaught error):
// lazy-unmount and kill, synchronously.
process.on('exit', () => {
	for (const m of active) {
		spawnSync(FUSERMOUNT, ['-uz', m.mnt], { stdio: 'ignore' });
		try { process.kill(m.proc.pid, 'SIGKILL'); } catch { /* gone */ }
	}
});

function unescapeMountinfo(s) {
	return s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
}

// Is a FUSE filesystem mounted exactly at mnt?
export function isFuseMounted(mnt) {
	const want = path.resolve(mnt);
	for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
		const f = line.split(' ');
		if (f.length < 10 || unescapeMountinfo(f[4]) !== want) continue;
		const dash = f.indexOf('-', 6);
		if (dash > 0 && f[dash + 1]?.startsWith('fuse')) return true;
	}
	return false;
}

const LEVEL_RE = /\b(error|warning):\s/;

export class Mount {
	constructor({ mnt, proc, logFile, args }) {
		this.mnt = mnt;
		this.proc = proc;
		this.logFile = logFile;
		this.args = args;
		this.exit = null; // { code, signal } once it exited
		this.unmounted = false;
		proc.on('exit', (code, signal) => { this.exit = { code, signal }; });
	}

	// Everything the daemon printed so far, as lines.
	lines() {
		let text = '';
		try { text = fs.readFileSync(this.logFile, 'utf8'); } catch { /* not yet */ }
		const l = text.split('\n');
		if (l[l.length - 1] === '') l.pop();
		return l;
	}

	text() {
		return this.lines().join('\n');
	}

	// A mark to look only at lines printed after it: m.lines().slice(mark).
	mark() {
		return this.lines().length;
	}

	// Lines matching re (string → substring), optionally only those after mark.
	grep(re, since = 0) {
		const test = typeof re === 'string' ? (s) => s.includes(re) : (s) => re.test(s);
		return this.lines().slice(since).filter(test);
	}

	// Wait until some line (after mark) satisfies pred; returns it, or null on timeout.
	async waitForLine(pred, { since = 0, timeoutMs = 3000 } = {}) {
		const test = pred instanceof RegExp ? (s) => pred.test(s) : pred;
		const deadline = Date.now() + timeoutMs;
		for (;;) {
			const hit = this.lines().slice(since).find(test);
			if (hit !== undefined) return hit;
			if (Date.now() > deadline) return null;
			await sleep(50);
		}
	}

	alive() {
		return this.exit === null;
	}

	// error:/warning: lines that match none of the expected patterns.
	unexpectedLogs(expected = []) {
		return this.lines().filter((l) => LEVEL_RE.test(l) && !expected.some((re) => (typeof re === 'string' ? l.includes(re) : re.test(l))));
	}

	assertNoUnexpectedLogs(expected = []) {
		const bad = this.unexpectedLogs(expected);
		if (bad.length) {
			const shown = bad.slice(0, 40).join('\n  ');
			throw new Error(`the daemon logged ${bad.length} unexpected error/warning line(s):\n  ${shown}` +
				(bad.length > 40 ? `\n  … (${bad.length - 40} more)` : ''));
		}
	}

	assertAlive() {
		if (!this.alive())
			throw new Error(`the daemon died during the test (code ${this.exit.code}, signal ${this.exit.signal}); it printed:\n${this.tail()}`);
	}

	tail(n = 60) {
		return this.lines().slice(-n).join('\n');
	}

	async waitExit(ms) {
		const deadline = Date.now() + ms;
		while (this.alive() && Date.now() < deadline) await sleep(25);
		return !this.alive();
	}

	// Unmount with fusermount3 -u and wait for the daemon to exit; as a last resort
	// kill -9 and fusermount3 -uz. Throws (after cleaning up) if the daemon had died
	// before, did not exit by itself, or exited with a failure status.
	async unmount() {
		if (this.unmounted) return;
		this.unmounted = true;
		const diedEarly = !this.alive() ? { ...this.exit } : null;
		let umountErr = '';
		if (isFuseMounted(this.mnt)) {
			for (let i = 0; i < 20; i++) {
				const r = spawnSync(FUSERMOUNT, ['-u', this.mnt], { encoding: 'utf8' });
				if (r.status === 0) { umountErr = ''; break; }
				umountErr = r.stderr.trim();
				await sleep(250); // EBUSY: something (DuckDB, a stream) still holds a file
			}
		}
		const exited = await this.waitExit(10_000);
		if (!exited) {
			try { process.kill(this.proc.pid, 'SIGKILL'); } catch { /* gone */ }
			await this.waitExit(5000);
		}
		if (isFuseMounted(this.mnt)) spawnSync(FUSERMOUNT, ['-uz', this.mnt], { stdio: 'ignore' });
		active.delete(this);
		if (diedEarly)
			throw new Error(`the daemon had died before unmount (code ${diedEarly.code}, signal ${diedEarly.signal}); it printed:\n${this.tail()}`);
		if (!exited)
			throw new Error(`the daemon did not exit within 10 s of fusermount3 -u${umountErr ? ` (${umountErr})` : ''}; killed it. Last lines:\n${this.tail(20)}`);
		if (this.exit.code !== 0)
			throw new Error(`the daemon exited with code ${this.exit.code} signal ${this.exit.signal} after unmount; last lines:\n${this.tail(20)}`);
	}
}

// Start `lakemount -f [-d] [-o opts] SOURCE MNT` and wait until it is mounted.
export async function startMount({ source, mnt, options = [], env = {}, debug = false, readyTimeoutMs = 30_000, logFile }) {
	requireBinary(LAKEMOUNT, 'the daemon (lakemount)');
	fs.mkdirSync(mnt, { recursive: true });
	if (isFuseMounted(mnt)) throw new Error(`${mnt} is already a FUSE mountpoint`);
	logFile = logFile || path.join(path.dirname(mnt), `${path.basename(mnt)}.daemon.log`);
	// Each mountpoint gets its own metadata cache beside it (never the user's default
	// one), shared by remounts at the same place, as a real remount would be.
	if (!options.some((o) => /^(cache_dir=|no_disk_cache$)/.test(o)))
		options = [...options, `cache_dir=${path.join(path.dirname(mnt), `${path.basename(mnt)}.cache`)}`];
	const args = ['-f'];
	if (debug) args.push('-d');
	if (options.length) args.push('-o', options.join(','));
	args.push(source, mnt);
	const fd = fs.openSync(logFile, 'w');
	const proc = spawn(LAKEMOUNT, args, { stdio: ['ignore', fd, fd], env: { ...process.env, ...env } });
	fs.closeSync(fd);
	const m = new Mount({ mnt, proc, logFile, args });
	active.add(m);
	const spawnError = new Promise((_, reject) => proc.on('error', reject));
	spawnError.catch(() => {});
	const deadline = Date.now() + readyTimeoutMs;
	for (;;) {
		if (isFuseMounted(mnt)) break;
		if (!m.alive()) {
			active.delete(m);
			throw new Error(`lakemount ${args.join(' ')} exited (code ${m.exit.code}, signal ${m.exit.signal}) before mounting; it printed:\n${m.text()}`);
		}
		if (Date.now() > deadline) {
			try { process.kill(proc.pid, 'SIGKILL'); } catch { /* gone */ }
			spawnSync(FUSERMOUNT, ['-uz', mnt], { stdio: 'ignore' });
			active.delete(m);
			throw new Error(`lakemount did not mount ${mnt} within ${readyTimeoutMs} ms; it printed:\n${m.text()}`);
		}
		await Promise.race([sleep(50), spawnError]);
	}
	return m;
}

// A describe's after(): unmount m (when it was mounted), then remove its scratch folder
// whatever the unmount said.
export async function unmountAndRemove(m, tmp) {
	try {
		await m?.unmount();
	} finally {
		removeTmpdir(tmp);
	}
}
