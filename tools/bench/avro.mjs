// avro.mjs — Avro object container files for the Iceberg benchmark generators
// (iceberg-gen.mjs, check-iceberg.mjs): zigzag varints, strings, bytes, and the
// container framing (header with the schema JSON and a sync marker, blocks of records,
// codec null or deflate), plus the manifest-list schema both write.
import zlib from 'node:zlib';

// The manifest list of format v2, the fields the readers need (same as the unit tests'
// tests/unit/iceberg/avro_writer.h AW_MLIST_SCHEMA).
export const MLIST_SCHEMA = {
	type: 'record', name: 'manifest_file', fields: [
		{ name: 'manifest_path', type: 'string', 'field-id': 500 },
		{ name: 'manifest_length', type: 'long', 'field-id': 501 },
		{ name: 'partition_spec_id', type: 'int', 'field-id': 502 },
		{ name: 'content', type: 'int', 'field-id': 517 },
		{ name: 'sequence_number', type: 'long', 'field-id': 515 },
		{ name: 'min_sequence_number', type: 'long', 'field-id': 516 },
		{ name: 'added_snapshot_id', type: 'long', 'field-id': 503 },
	],
};

// A growing byte buffer with Avro's primitive encodings.
export class Out {
	constructor() { this.b = Buffer.alloc(1 << 16); this.n = 0; }
	need(k) {
		if (this.n + k <= this.b.length) return;
		const nb = Buffer.alloc(Math.max(this.b.length * 2, this.n + k));
		this.b.copy(nb, 0, 0, this.n);
		this.b = nb;
	}
	long(v) { // zigzag varint; exact for |v| < 2^52
		let z = v >= 0 ? v * 2 : -v * 2 - 1;
		this.need(10);
		while (z >= 128) { this.b[this.n++] = (z % 128) | 128; z = Math.floor(z / 128); }
		this.b[this.n++] = z;
	}
	bytes(buf) { this.long(buf.length); this.need(buf.length); buf.copy(this.b, this.n); this.n += buf.length; }
	str(s) { this.bytes(Buffer.from(s, 'utf8')); }
	raw(buf) { this.need(buf.length); buf.copy(this.b, this.n); this.n += buf.length; }
	done() { return this.b.subarray(0, this.n); }
}

// One container file: header (magic, metadata map, sync), then the records (an array of
// encoded Buffers) in blocks of perBlock, each deflated when codec is 'deflate'.
export function container(schema, meta, recs, sync, { codec = 'deflate', perBlock = 1000 } = {}) {
	const o = new Out();
	o.raw(Buffer.from('Obj\x01', 'latin1'));
	const m = { 'avro.schema': JSON.stringify(schema), 'avro.codec': codec, ...meta };
	o.long(Object.keys(m).length);
	for (const [k, v] of Object.entries(m)) { o.str(k); o.bytes(Buffer.from(v, 'utf8')); }
	o.long(0);
	o.raw(sync);
	for (let i = 0; i < recs.length; i += perBlock) {
		const part = recs.slice(i, i + perBlock);
		const body = Buffer.concat(part);
		const z = codec === 'deflate' ? zlib.deflateRawSync(body) : body;
		o.long(part.length);
		o.long(z.length);
		o.raw(z);
		o.raw(sync);
	}
	return o.done();
}
