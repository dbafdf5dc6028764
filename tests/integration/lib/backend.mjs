// backend.mjs — where a test lake lives while it is mounted: a local directory
// (LM_TEST_BACKEND=local, the default) or an S3 bucket on 127.0.0.1
// (LM_TEST_BACKEND=s3, LM_S3_ENV=<env file written by tools/s3/start-rgw.sh>).
//
// publish(localDir, label) returns what startMount needs:
//   { backend, source, options, env, local }
// Tests always keep `local` (the directory the lake was built in) as the reference for
// expected bytes; with S3 the same tree is uploaded under a fresh prefix first.
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { BUILD } from './env.mjs';

export const BACKEND = (process.env.LM_TEST_BACKEND || 'local').toLowerCase();
if (!['local', 's3'].includes(BACKEND)) throw new Error(`LM_TEST_BACKEND must be local or s3, not ${BACKEND}`);

export const S3PUT = path.join(BUILD, 'tools', 's3', 'lm-s3put');

// KEY=VALUE lines (optionally `export KEY=VALUE`, optionally quoted); # comments.
export function readEnvFile(file) {
	const env = {};
	for (const raw of fs.readFileSync(file, 'utf8').split('\n')) {
		const line = raw.trim();
		if (!line || line.startsWith('#')) continue;
		const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
		if (!m) continue;
		let v = m[2].trim();
		if ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'"))) v = v.slice(1, -1);
		env[m[1]] = v;
	}
	return env;
}

let s3cfg;
function s3Config() {
	if (s3cfg) return s3cfg;
	const file = process.env.LM_S3_ENV;
	if (!file) throw new Error('LM_TEST_BACKEND=s3 needs LM_S3_ENV=<env file from tools/s3/start-rgw.sh>');
	const env = readEnvFile(file);
	for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'LM_S3_ENDPOINT', 'LM_S3_BUCKET'])
		if (!env[k]) throw new Error(`${file} does not set ${k}`);
	s3cfg = { env, endpoint: env.LM_S3_ENDPOINT, bucket: env.LM_S3_BUCKET };
	return s3cfg;
}

// The daemon's -o options for the S3 endpoint of the test bucket.
export function s3MountOptions() {
	return [`endpoint=${s3Config().endpoint}`, 'path_style'];
}

// THE upload adapter: copy the tree at localDir to url (s3://bucket/prefix). Adapt here
// when lm-s3put's command line settles.
export function s3Upload(localDir, url) {
	const { env } = s3Config();
	if (!fs.existsSync(S3PUT)) throw new Error(`S3 uploader not found at ${S3PUT} (build tools/s3 or set LM_BUILD)`);
	try {
		execFileSync(S3PUT, ['-o', s3MountOptions().join(','), localDir, url], {
			env: { ...process.env, ...env },
			stdio: ['ignore', 'pipe', 'pipe'],
			maxBuffer: 64 << 20,
		});
	} catch (e) {
		throw new Error(`${S3PUT} ${localDir} ${url} failed (status ${e.status}): ${e.stderr?.toString().trim() || e.message}`);
	}
}

let seq = 0;
export async function publish(localDir, label) {
	if (BACKEND === 'local') return { backend: 'local', source: localDir, options: [], env: {}, local: localDir };
	const { env, bucket } = s3Config();
	const prefix = `lm-it/${label}-${Date.now().toString(36)}-${process.pid}-${seq++}`;
	const url = `s3://${bucket}/${prefix}`;
	s3Upload(localDir, url);
	return { backend: 's3', source: url, options: s3MountOptions(), env, local: localDir };
}

// The source of one table for lmctl: a local path, or the table's URL under the prefix.
export function tableSource(pub, rel) {
	return pub.backend === 'local' ? path.join(pub.source, rel) : `${pub.source}/${rel}`;
}
