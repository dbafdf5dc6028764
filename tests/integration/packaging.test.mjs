// packaging.test.mjs — lakemount installed and operated like a Linux filesystem:
//   - `meson install --destdir` into a scratch root puts binaries, man pages, docs and the
//     systemd unit under the prefix;
//   - `--help`, lakemount(1) and docs/CONFIGURATION.md name every option src/opts.c parses
//     (read out of its fuse_opt table, so no option goes undocumented);
//   - `mount -t fuse.lakemount` through mount(8) → mount.fuse3 → the installed lakemount,
//     with fstab words, allow_other, uid=/gid=/umask= (inside a private mount namespace
//     whose /usr/local/sbin holds the installed binary: mount(8) drops PATH, and the test
//     must not touch the machine's own directories);
//   - fstab words given straight to the daemon; uid=/gid=/umask= in stat;
//   - SIGHUP keeps the daemon up and makes a new commit visible at once; SIGTERM unmounts
//     and exits 0; READY=1 / STOPPING=1 over $NOTIFY_SOCKET (systemd Type=notify);
//   - libfuse's own messages come out through lakemount's logger, one line each.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import readline from 'node:readline';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { BUILD, REPO, FUSERMOUNT, fuseSkipReason, loudSkip, makeTmpdir, removeTmpdir, generateLake } from './lib/env.mjs';
import { Mount, isFuseMounted } from './lib/mount.mjs';
import { publish, s3Upload, BACKEND } from './lib/backend.mjs';

const fuseSkip = fuseSkipReason();
const skip = fuseSkip ? loudSkip('packaging tests (mount -t, fstab, signals)', fuseSkip) : false;

function which(cmd) {
	for (const dir of (process.env.PATH || '').split(':')) {
		const p = path.join(dir || '.', cmd);
		try {
			fs.accessSync(p, fs.constants.X_OK);
			return p;
		} catch { /* next */ }
	}
	return null;
}

// Why `mount -t fuse.lakemount` cannot run here, or null.
function mountHelperSkipReason() {
	if (process.getuid() !== 0) return 'mount(8) of a FUSE type needs root';
	for (const c of ['mount', 'umount', 'unshare', 'mount.fuse3'])
		if (!which(c) && !fs.existsSync(`/sbin/${c}`) && !fs.existsSync(`/usr/sbin/${c}`)) return `${c} not found`;
	const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'true'], { encoding: 'utf8' });
	if (r.status !== 0) return `unshare --mount fails here: ${r.stderr.trim()}`;
	return null;
}

// Every option name the daemon's fuse_opt table (and its prefix matches) accepts, as
// `name` or `name=` — read from the source so that a new option cannot go undocumented.
export function parsedOptions() {
	const src = fs.readFileSync(path.join(REPO, 'src', 'opts.c'), 'utf8');
	const table = src.slice(src.indexOf('lm_opt_spec[]'), src.indexOf('FUSE_OPT_END'));
	const names = new Set();
	for (const m of table.matchAll(/(?:LM_OPT|FUSE_OPT_KEY|FUSE_OPT)\s*\(\s*"([^"]+)"/g))
		names.add(m[1].replace(/=%.*$/, '='));
	const proc = src.slice(src.indexOf('case FUSE_OPT_KEY_OPT:'));
	const prefixes = [...proc.slice(0, proc.indexOf('return 1;')).matchAll(/strncmp\(arg, "([^"]+)"/g)].map((m) => m[1]);
	return { names: [...names], prefixes };
}

// roff → plain text, enough to find option names in a man page's source.
function roffText(s) {
	return s.replace(/\\f[BIRP]/g, '').replace(/\\-/g, '-').replace(/\\&/g, '').replace(/\\e/g, '\\');
}

function mentions(text, name) {
	const esc = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
	const end = name.endsWith('=') || name.endsWith('-') ? '' : '(?![A-Za-z0-9_=])';
	return new RegExp(`(^|[^A-Za-z0-9_-])${esc}${end}`, 'm').test(text);
}

const commitName = (v) => `${String(v).padStart(20, '0')}.json`;

// Last resort if the test process exits with daemons still up (crash, killed runner).
const started = new Set();
process.on('exit', () => {
	for (const m of started) {
		if (!m.alive()) continue;
		spawnSync(FUSERMOUNT, ['-uz', m.mnt], { stdio: 'ignore' });
		try { process.kill(m.proc.pid, 'SIGKILL'); } catch { /* gone */ }
	}
});

// Start the installed lakemount in the foreground (like lib/mount.mjs startMount, with
// another binary) and wait for the mount.
async function startInstalled(bin, { source, mnt, options = [], env = {}, logFile }) {
	fs.mkdirSync(mnt, { recursive: true });
	logFile = logFile || `${mnt}.daemon.log`;
	const args = ['-f'];
	if (options.length) args.push('-o', options.join(','));
	args.push(source, mnt);
	const fd = fs.openSync(logFile, 'w');
	const proc = spawn(bin, args, { stdio: ['ignore', fd, fd], env: { ...process.env, ...env } });
	fs.closeSync(fd);
	const m = new Mount({ mnt, proc, logFile, args });
	started.add(m);
	const deadline = Date.now() + 30_000;
	while (!isFuseMounted(mnt)) {
		if (!m.alive()) throw new Error(`lakemount ${args.join(' ')} exited (code ${m.exit.code}) before mounting:\n${m.text()}`);
		if (Date.now() > deadline) {
			proc.kill('SIGKILL');
			throw new Error(`lakemount did not mount ${mnt} within 30 s:\n${m.text()}`);
		}
		await sleep(25);
	}
	return m;
}

describe(`packaging: install, mount -t, fstab, signals (${BACKEND})`, { skip, timeout: 300_000 }, () => {
	let tmp, root, prefix, bin, lake, expected, pub;
	const mounts = [];
	const table = () => expected.tables.sales;

	before(async () => {
		tmp = makeTmpdir('pkg');
		root = path.join(tmp, 'root');
		// --no-rebuild: install exactly the binaries the other suites test (LM_BUILD as built).
		const inst = spawnSync('meson', ['install', '-C', BUILD, '--no-rebuild', '--destdir', root, '--quiet'], { encoding: 'utf8' });
		assert.equal(inst.status, 0, `meson install -C ${BUILD} --destdir ${root} failed:\n${inst.stdout}${inst.stderr}`);
		const found = execFileSync('find', [root, '-path', '*/bin/lakemount', '-type', 'f'], { encoding: 'utf8' }).trim().split('\n')[0];
		assert.ok(found, `meson install put no bin/lakemount under ${root}`);
		bin = found;
		prefix = path.dirname(path.dirname(bin));
		lake = path.join(tmp, 'lake');
		expected = generateLake(lake, { seed: 5 });
		pub = await publish(lake, 'packaging');
	});

	after(async () => {
		for (const m of mounts) {
			try { await m.unmount(); } catch { /* reported by the test that owns it */ }
		}
		removeTmpdir(tmp);
	});

	it('meson install: binaries, man pages, docs and the systemd unit under the prefix', () => {
		for (const rel of ['bin/lakemount', 'bin/lmctl', 'share/man/man1/lakemount.1', 'share/man/man1/lmctl.1',
			'share/doc/lakemount/README.md', 'share/doc/lakemount/CONFIGURATION.md', 'share/doc/lakemount/SEMANTICS.md',
			'share/doc/lakemount/examples/lake.conf.example', 'share/doc/lakemount/examples/mnt-lake.mount'])
			assert.ok(fs.existsSync(path.join(prefix, rel)), `${rel} installed under ${prefix}`);
		const unit = execFileSync('find', [root, '-name', 'lakemount@.service'], { encoding: 'utf8' }).trim();
		assert.ok(unit, 'lakemount@.service installed');
		const text = fs.readFileSync(unit, 'utf8');
		const installedPrefix = prefix.slice(root.length);
		assert.match(text, new RegExp(`^ExecStart=${installedPrefix}/bin/lakemount -f -o \\$\\{OPTIONS\\} \\$\\{SOURCE\\} \\$\\{MOUNTPOINT\\}$`, 'm'));
		assert.match(text, /^Type=notify$/m);
		assert.match(text, /^Restart=on-failure$/m);
		assert.match(text, /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
		assert.doesNotMatch(text, /@[a-z]+@/, 'no unsubstituted @var@ left');
	});

	it('--version names lakemount and the libraries it runs with', () => {
		const out = execFileSync(bin, ['--version'], { encoding: 'utf8' });
		for (const re of [/^lakemount \d+\.\d+\.\d+$/m, /^libfuse 3\./m, /^libcurl \d/m, /^OpenSSL \d/m, /^LMDB /m])
			assert.match(out, re);
	});

	it('--help, lakemount(1) and CONFIGURATION.md list every option src/opts.c parses', () => {
		const { names, prefixes } = parsedOptions();
		assert.ok(names.length > 20 && names.includes('latest_ttl=') && names.includes('uid='), `parsed ${names.join(' ')}`);
		assert.ok(prefixes.includes('x-') && prefixes.includes('comment='), `prefixes ${prefixes.join(' ')}`);
		const help = execFileSync(bin, ['--help'], { encoding: 'utf8' });
		const man = roffText(fs.readFileSync(path.join(prefix, 'share/man/man1/lakemount.1'), 'utf8'));
		const conf = fs.readFileSync(path.join(prefix, 'share/doc/lakemount/CONFIGURATION.md'), 'utf8');
		const missing = [];
		for (const n of [...names, ...prefixes]) {
			for (const [what, text] of [['--help', help], ['lakemount(1)', man], ['CONFIGURATION.md', conf]]) {
				if (!mentions(text, n)) missing.push(`${n} not in ${what}`);
			}
		}
		assert.deepEqual(missing, [], 'every parsed option is documented');
		const ver = /version\s*:\s*'([^']+)'/.exec(fs.readFileSync(path.join(REPO, 'meson.build'), 'utf8'))[1];
		assert.match(man, new RegExp(`^\\.TH LAKEMOUNT 1 .*"lakemount ${ver.replace(/\./g, '\\.')}"`, 'm'), 'man page names the project version');
	});

	it('libfuse messages come out through the logger, one line each; bad options exit 2', () => {
		const r = spawnSync(bin, ['-f', '-o', 'no_such_option_xyz', pub.source, tmp], { encoding: 'utf8', env: { ...process.env, ...pub.env } });
		assert.equal(r.status, 2, r.stderr);
		assert.match(r.stderr, /^lakemount \d\d:\d\d:\d\d\.\d{3} error: fuse: unknown option\(s\): `-o no_such_option_xyz'$/m);
		const u = spawnSync(bin, ['-o', 'umask=99', pub.source, tmp], { encoding: 'utf8' });
		assert.equal(u.status, 2, 'umask must be octal');
	});

	it('mount -t fuse.lakemount (mount(8) → mount.fuse3) with fstab words, allow_other, uid/gid/umask', { timeout: 60_000 }, async (t) => {
		const reason = mountHelperSkipReason();
		if (reason) {
			t.skip(loudSkip('mount -t fuse.lakemount', reason));
			return;
		}
		const mnt = path.join(tmp, 'mnt-mount8');
		fs.mkdirSync(mnt, { recursive: true });
		const opts = ['_netdev', 'nofail', 'x-systemd.automount', 'comment=x', 'allow_other', 'uid=4321', 'gid=4322', 'umask=027', 'latest_ttl=2', ...pub.options];
		const sbin = path.join(tmp, 'sbin');
		fs.mkdirSync(sbin, { recursive: true });
		const file = expected.tables.sales.versions[0].files?.[0]?.path;
		const script = `
set -u
mount -t tmpfs tmpfs /usr/local/sbin
ln -s '${bin}' /usr/local/sbin/lakemount
mkdir -p /run/mount && mount -t tmpfs tmpfs /run/mount
mount -t fuse.lakemount '${pub.source}' '${mnt}' -o '${opts.join(',')}'
echo "MOUNT_RC=$?"
awk '$5 == "${mnt}"' /proc/self/mountinfo | sed 's/^/MOUNTINFO=/'
ls -1 '${mnt}/${table().path}' | sed 's/^/LS=/'
stat -c 'STAT=%a %u %g %F' '${mnt}/${table().path}/@v0' '${mnt}/${table().path}/@latest'
find '${mnt}/${table().path}/@v0' -type f | head -1 | xargs -r stat -c 'FSTAT=%a %u %g %F'
pid=$(pgrep -n -f 'lakemount .*${mnt}')
echo "PID=$pid"
tr '\\0' ' ' < /proc/$pid/cmdline | sed 's/^/CMDLINE=/'; echo
umount '${mnt}'
echo "UMOUNT_RC=$?"
for i in $(seq 200); do
  st=$(awk '{print $3}' /proc/$pid/stat 2>/dev/null || echo gone)
  [ "$st" = gone ] || [ "$st" = Z ] && break
  sleep 0.05
done
echo "DAEMON=$st"
awk '$5 == "${mnt}"' /proc/self/mountinfo | sed 's/^/AFTER=/'
`;
		const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script], {
			encoding: 'utf8', env: { ...process.env, ...pub.env }, timeout: 60_000,
		});
		const out = r.stdout;
		const get = (k) => out.split('\n').filter((l) => l.startsWith(`${k}=`)).map((l) => l.slice(k.length + 1));
		const ctx = `\nstdout:\n${out}\nstderr:\n${r.stderr}`;
		assert.equal(get('MOUNT_RC')[0], '0', `mount(8) failed${ctx}`);
		const mi = get('MOUNTINFO')[0] || '';
		assert.match(mi, / - fuse\.lakemount /, `fstype fuse.lakemount${ctx}`);
		assert.ok(mi.includes(` - fuse.lakemount ${pub.source.replace(/,/g, '\\054')} `) || mi.includes(pub.source), `source shown${ctx}`);
		assert.match(mi, /allow_other/, `allow_other reaches the kernel${ctx}`);
		assert.match(mi, /default_permissions/);
		assert.match(mi, /(^|\s|,)ro(,|\s)/, 'read-only');
		const ls = get('LS');
		assert.ok(ls.includes('@v0') && ls.includes('@latest'), `lists @v0${ctx}`);
		assert.deepEqual(ls.filter((n) => /^@v\d+$/.test(n)).length, table().versions.length);
		assert.deepEqual(get('STAT'), ['550 4321 4322 directory', '777 4321 4322 symbolic link'], ctx);
		if (file) assert.deepEqual(get('FSTAT'), ['440 4321 4322 regular file'], ctx);
		const cmd = get('CMDLINE')[0] || '';
		assert.ok(!/_netdev|nofail|x-systemd|comment=/.test(cmd), `mount(8) stripped the fstab-only words before the daemon: ${cmd}`);
		assert.equal(get('UMOUNT_RC')[0], '0', ctx);
		assert.ok(['gone', 'Z'].includes(get('DAEMON')[0]), `the daemon exits after umount${ctx}`);
		assert.deepEqual(get('AFTER'), []);
	});

	it('fstab words given straight to the daemon are accepted and ignored', async () => {
		const mnt = path.join(tmp, 'mnt-fstab');
		const m = await startInstalled(bin, {
			source: pub.source, mnt, env: pub.env,
			options: ['_netdev', 'nofail', 'x-systemd.automount', 'x-systemd.requires=network-online.target', 'comment=x',
				'X-mount.mkdir', 'defaults', 'auto', 'users', 'rw', 'dev', 'suid', 'relatime', 'nodiratime', 'noexec', ...pub.options],
		});
		mounts.push(m);
		const names = await fsp.readdir(path.join(mnt, table().path));
		assert.ok(names.includes('@v0') && names.includes('@latest'), names.join(' '));
		const mi = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === mnt);
		assert.match(mi, /\bro\b.*\bnosuid\b.*\bnodev\b.*\bnoexec\b/, `ro,nosuid,nodev kept, noexec passed on: ${mi}`);
		await m.unmount();
		m.assertNoUnexpectedLogs();
	});

	it('uid=/gid=/umask= show up in stat; defaults are the daemon\'s ids, 0555/0444', async () => {
		for (const [opts, want] of [
			[['uid=1234', 'gid=5678', 'umask=0077'], { uid: 1234, gid: 5678, dir: 0o500, file: 0o400 }],
			[[], { uid: process.getuid(), gid: process.getgid(), dir: 0o555, file: 0o444 }],
		]) {
			const mnt = path.join(tmp, `mnt-ids-${opts.length}`);
			const m = await startInstalled(bin, { source: pub.source, mnt, env: pub.env, options: [...opts, ...pub.options] });
			mounts.push(m);
			const v0 = path.join(mnt, table().path, '@v0');
			const d = await fsp.stat(v0);
			assert.deepEqual([d.uid, d.gid, d.mode & 0o7777], [want.uid, want.gid, want.dir], `@v0 with ${opts.join(',') || 'defaults'}`);
			const l = await fsp.lstat(path.join(mnt, table().path, '@latest'));
			assert.deepEqual([l.uid, l.gid, l.mode & 0o7777], [want.uid, want.gid, 0o777], '@latest symlink');
			const f = table().versions[0].files?.[0]?.path;
			if (f) {
				const s = await fsp.stat(path.join(v0, f));
				assert.deepEqual([s.uid, s.gid, s.mode & 0o7777], [want.uid, want.gid, want.file], `file ${f}`);
			}
			const root = await fsp.stat(mnt);
			assert.deepEqual([root.uid, root.gid], [want.uid, want.gid], 'mount root');
			await m.unmount();
			m.assertNoUnexpectedLogs();
		}
	});

	it('SIGHUP keeps the mount and shows a new commit at once; SIGTERM unmounts and exits 0', async () => {
		const mnt = path.join(tmp, 'mnt-signals');
		const m = await startInstalled(bin, { source: pub.source, mnt, env: pub.env, options: ['latest_ttl=3600', ...pub.options] });
		mounts.push(m);
		const tdir = path.join(mnt, table().path);
		const next = table().latest + 1;
		const before = await fsp.readdir(tdir);
		assert.ok(!before.includes(`@v${next}`));
		// Commit version `next`: only a commitInfo line (same files as the previous version).
		const commit = JSON.stringify({ commitInfo: { timestamp: Date.now(), operation: 'OPTIMIZE', readVersion: next - 1 } }) + '\n';
		if (pub.backend === 'local') {
			fs.writeFileSync(path.join(pub.source, table().path, '_delta_log', commitName(next)), commit);
		} else {
			const up = path.join(tmp, 'upload');
			fs.mkdirSync(path.join(up, '_delta_log'), { recursive: true });
			fs.writeFileSync(path.join(up, '_delta_log', commitName(next)), commit);
			s3Upload(up, `${pub.source}/${table().path}`);
		}
		assert.ok(!(await fsp.readdir(tdir)).includes(`@v${next}`), 'within latest_ttl the cached list is used');
		const mark = m.mark();
		process.kill(m.proc.pid, 'SIGHUP');
		assert.ok(await m.waitForLine(/SIGHUP: version lists expired/, { since: mark }), `SIGHUP logged:\n${m.tail()}`);
		m.assertAlive();
		assert.ok(isFuseMounted(mnt), 'still mounted after SIGHUP');
		const after = await fsp.readdir(tdir);
		assert.ok(after.includes(`@v${next}`), `@v${next} listed right after SIGHUP: ${after.join(' ')}`);
		assert.equal(await fsp.readlink(path.join(tdir, '@latest')), `@v${next}`);
		assert.ok((await fsp.readdir(path.join(tdir, `@v${next}`))).length > 0);
		// SIGTERM: clean unmount, status 0.
		m.unmounted = true;   // this test takes it down itself
		process.kill(m.proc.pid, 'SIGTERM');
		assert.ok(await m.waitExit(10_000), 'exits within 10 s of SIGTERM');
		assert.deepEqual(m.exit, { code: 0, signal: null }, m.tail());
		assert.ok(!isFuseMounted(mnt), 'mountpoint gone after SIGTERM');
		assert.ok(m.grep(/info: SIGTERM: unmounting/).length === 1, m.tail());
		m.assertNoUnexpectedLogs();
	});

	it('after SIGHUP the source root is listed again: names not looked up before still resolve', async () => {
		// SIGHUP expires every listing, the root folder's too; the re-listing must show the
		// same names (a lookup that was never made before must not answer ENOENT).
		const mnt = path.join(tmp, 'mnt-hup-root');
		const m = await startInstalled(bin, { source: pub.source, mnt, env: pub.env, options: ['latest_ttl=3600', ...pub.options] });
		mounts.push(m);
		const rootNames = (await fsp.readdir(mnt)).sort();
		const mark = m.mark();
		process.kill(m.proc.pid, 'SIGHUP');
		assert.ok(await m.waitForLine(/SIGHUP: version lists expired/, { since: mark }), m.tail());
		const plain = expected.plainFiles[0]?.path;
		if (plain) assert.ok((await fsp.stat(path.join(mnt, plain))).isFile(), `${plain} still resolves after SIGHUP`);
		assert.ok((await fsp.stat(path.join(mnt, table().path))).isDirectory(), `${table().path} still resolves after SIGHUP`);
		assert.deepEqual((await fsp.readdir(mnt)).sort(), rootNames, 'the root lists the same names after SIGHUP');
		await m.unmount();
		m.assertNoUnexpectedLogs();
	});

	if (BACKEND === 's3') it('SIGHUP re-reads S3 credentials from the profile file', async () => {
		// Keys in a credentials file (not the environment), so that SIGHUP has something to
		// re-read: break the secret + SIGHUP → listing fails; restore + SIGHUP → works.
		const env = { ...pub.env };
		const keys = { id: env.AWS_ACCESS_KEY_ID, secret: env.AWS_SECRET_ACCESS_KEY };
		delete env.AWS_ACCESS_KEY_ID;
		delete env.AWS_SECRET_ACCESS_KEY;
		delete env.AWS_SESSION_TOKEN;
		const credFile = path.join(tmp, 'aws-credentials');
		const writeCreds = (secret) => fs.writeFileSync(credFile, `[default]\naws_access_key_id = ${keys.id}\naws_secret_access_key = ${secret}\n`);
		writeCreds(keys.secret);
		const childEnv = { ...process.env, ...env, AWS_SHARED_CREDENTIALS_FILE: credFile, AWS_CONFIG_FILE: path.join(tmp, 'no-aws-config') };
		delete childEnv.AWS_ACCESS_KEY_ID;
		delete childEnv.AWS_SECRET_ACCESS_KEY;
		delete childEnv.AWS_SESSION_TOKEN;
		delete childEnv.AWS_PROFILE;
		const mnt = path.join(tmp, 'mnt-creds');
		fs.mkdirSync(mnt, { recursive: true });
		const logFile = `${mnt}.daemon.log`;
		const fd = fs.openSync(logFile, 'w');
		const args = ['-f', '-o', ['latest_ttl=3600', 'log_level=debug', ...pub.options].join(','), pub.source, mnt];
		const proc = spawn(bin, args, { stdio: ['ignore', fd, fd], env: childEnv });
		fs.closeSync(fd);
		const m = new Mount({ mnt, proc, logFile, args });
		started.add(m);
		mounts.push(m);
		for (let i = 0; i < 600 && !isFuseMounted(mnt) && m.alive(); i++) await sleep(50);
		assert.ok(isFuseMounted(mnt), m.text());
		assert.ok(m.grep(/credentials from profile 'default' in /).length, `credentials from the file:\n${m.tail()}`);
		const tdir = path.join(mnt, table().path);
		assert.ok((await fsp.readdir(tdir)).includes('@v0'));
		writeCreds('wrong-secret-0000000000000000000000000000');
		let mark = m.mark();
		process.kill(proc.pid, 'SIGHUP');
		assert.ok(await m.waitForLine(/SIGHUP: version lists expired/, { since: mark }), m.tail());
		// The next listing is signed with the broken secret (the mount keeps showing the
		// last good list, with a warning).
		await fsp.readdir(tdir).catch(() => {});
		assert.ok(await m.waitForLine(/403 SignatureDoesNotMatch/, { since: mark }), `broken secret in use after SIGHUP:\n${m.tail()}`);
		writeCreds(keys.secret);
		mark = m.mark();
		process.kill(proc.pid, 'SIGHUP');
		assert.ok(await m.waitForLine(/SIGHUP: version lists expired/, { since: mark }), m.tail());
		assert.ok((await fsp.readdir(tdir)).includes('@v0'), 'listing works after the secret is restored and SIGHUP');
		assert.ok(m.grep(/s3: GET .*_delta_log/, mark).length > 0, `the log was listed again:\n${m.tail()}`);
		// (an HTTP status followed by its code word: a bare /403/ also matches a PID in a key)
		assert.deepEqual(m.grep(/\b403 [A-Za-z]/, mark), [], 'no access denied once the secret is restored');
		await m.unmount();
		m.assertNoUnexpectedLogs([/SignatureDoesNotMatch|signature|secret|403|AccessDenied|InvalidAccessKeyId/i]);
	});

	it('SIGINT unmounts and exits 0 too', async () => {
		const mnt = path.join(tmp, 'mnt-sigint');
		const m = await startInstalled(bin, { source: pub.source, mnt, env: pub.env, options: pub.options });
		mounts.push(m);
		await fsp.readdir(mnt);
		m.unmounted = true;
		process.kill(m.proc.pid, 'SIGINT');
		assert.ok(await m.waitExit(10_000), 'exits within 10 s of SIGINT');
		assert.deepEqual(m.exit, { code: 0, signal: null }, m.tail());
		assert.ok(!isFuseMounted(mnt));
	});

	it('systemd notify: READY=1 once mounted, STOPPING=1 on SIGTERM (NOTIFY_SOCKET, no libsystemd)', async (t) => {
		const py = which('python3');
		if (!py) {
			t.skip(loudSkip('sd_notify test', 'python3 (the datagram receiver) is not on PATH'));
			return;
		}
		const sock = path.join(tmp, 'notify.sock');
		const recv = spawn(py, ['-u', '-c', `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("LISTENING", flush=True)
s.settimeout(60)
while True:
    msg = s.recv(4096).decode()
    print(msg.replace("\\n", "|"), flush=True)
    if "STOPPING=1" in msg:
        break
`, sock], { stdio: ['ignore', 'pipe', 'inherit'] });
		const lines = [];
		const waiters = [];
		readline.createInterface({ input: recv.stdout }).on('line', (l) => {
			lines.push({ l, mounted: isFuseMounted(path.join(tmp, 'mnt-notify')) });
			for (const w of waiters.splice(0)) w();
		});
		const waitFor = async (re, ms = 15_000) => {
			const deadline = Date.now() + ms;
			for (;;) {
				const hit = lines.find((x) => re.test(x.l));
				if (hit) return hit;
				if (Date.now() > deadline) return null;
				await Promise.race([new Promise((r) => waiters.push(r)), sleep(100)]);
			}
		};
		try {
			assert.ok(await waitFor(/^LISTENING$/), 'receiver up');
			const mnt = path.join(tmp, 'mnt-notify');
			const m = await startInstalled(bin, { source: pub.source, mnt, env: { ...pub.env, NOTIFY_SOCKET: sock }, options: pub.options });
			mounts.push(m);
			const ready = await waitFor(/READY=1/);
			assert.ok(ready, `READY=1 received; got ${JSON.stringify(lines)}`);
			assert.ok(ready.mounted, 'the mount was in place when READY=1 arrived');
			assert.match(ready.l, /STATUS=mounted on /);
			m.unmounted = true;
			process.kill(m.proc.pid, 'SIGTERM');
			assert.ok(await waitFor(/^STOPPING=1$/), `STOPPING=1 received; got ${JSON.stringify(lines)}`);
			assert.ok(await m.waitExit(10_000));
			assert.equal(m.exit.code, 0);
			m.assertNoUnexpectedLogs();
		} finally {
			recv.kill();
		}
	});
});
