// lake.mjs — what a mount of a source tree must show outside the tables, and helpers
// over gen-lake.mjs's .expected.json.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import assert from 'node:assert/strict';
import { sortPaths, sha256File } from './fsx.mjs';

// Walk a local source tree the way the daemon must see it: a folder holding _delta_log/
// is a table (not descended into); other folders mirror; files are plain files.
export function sourceTree(root) {
	const folders = [], plainFiles = [], tables = [];
	const children = new Map(); // folder rel ('' = root) -> sorted child names
	(function rec(dir, rel) {
		const names = [];
		for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
			const r = rel ? `${rel}/${e.name}` : e.name;
			const abs = path.join(dir, e.name);
			names.push(e.name);
			if (e.isDirectory()) {
				if (fs.existsSync(path.join(abs, '_delta_log'))) tables.push(r);
				else { folders.push(r); rec(abs, r); }
			} else if (e.isFile()) {
				plainFiles.push({ rel: r, size: fs.statSync(abs).size });
			}
		}
		children.set(rel, sortPaths(names));
	})(root, '');
	return { folders, plainFiles, tables, children };
}

// Assert that the mount mirrors the folders and plain files of a local source tree:
// every folder lists the same names, folders/tables are directories, plain files have
// the same size and bytes.
export async function assertMirrors(mnt, src) {
	const tree = sourceTree(src);
	for (const [rel, names] of tree.children) {
		const got = sortPaths(await fsp.readdir(path.join(mnt, rel)));
		assert.deepEqual(got, names, `mount folder /${rel} lists what the source folder lists`);
	}
	for (const rel of [...tree.folders, ...tree.tables]) {
		const st = await fsp.lstat(path.join(mnt, rel));
		assert.ok(st.isDirectory(), `/${rel} is a directory`);
	}
	for (const f of tree.plainFiles) {
		const st = await fsp.lstat(path.join(mnt, f.rel));
		assert.ok(st.isFile(), `/${f.rel} is a regular file`);
		assert.equal(st.size, f.size, `/${f.rel} size`);
		assert.equal(await sha256File(path.join(mnt, f.rel)), await sha256File(path.join(src, f.rel)), `/${f.rel} bytes`);
	}
	return tree;
}

// Version names a table directory lists, as numbers (sorted), and its other entries.
export async function tableEntries(tableDir) {
	const names = await fsp.readdir(tableDir);
	const versions = names.filter((n) => /^@v\d+$/.test(n)).map((n) => Number(n.slice(2))).sort((a, b) => a - b);
	const others = names.filter((n) => !/^@v\d+$/.test(n));
	return { names, versions, others };
}
