import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

/**
 * A bundle is a flat folder (an adapter: adapters.safetensors + adapter_config.json; a dataset: train.jsonl,
 * valid.jsonl, manifest.json) stored as one blob per file plus a small canonical JSON manifest listing each
 * file's name, sha256 and size. The bundle's id is the sha256 of its manifest bytes, so one hash names and
 * verifies the whole folder, and files shared between bundles are stored once. No archive format to parse.
 */
export const SHA256 = /^[0-9a-f]{64}$/;
export const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** 1,000 files of about 220 bytes each fit in about 220 KB; the store and its clients read no more than this. */
export const MAX_MANIFEST_BYTES = 1_048_576;

export const manifestSchema = z.strictObject({
  bundle: z.literal(1),
  files: z
    .array(
      z.strictObject({
        name: z.string().regex(FILE_NAME, { error: 'file names are [A-Za-z0-9._-], no folders' }),
        sha256: z.string().regex(SHA256),
        size: z.number().int().nonnegative(),
      }),
    )
    .min(1)
    .max(1_000)
    .refine((files) => files.every((f, i) => i === 0 || files[i - 1]!.name < f.name), {
      error: 'files must be sorted by name, without duplicates',
    }),
});
export type Manifest = z.infer<typeof manifestSchema>;

export function manifestBytes(manifest: Manifest): Buffer {
  return Buffer.from(`${JSON.stringify({ bundle: 1, files: manifest.files.map(({ name, sha256, size }) => ({ name, sha256, size })) })}\n`);
}

export function sha256Of(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Parses manifest bytes and checks they are in canonical form, so the id is unambiguous. */
export function parseManifest(bytes: Buffer): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new Error('bundle manifest is not JSON');
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`bundle manifest is invalid: ${parsed.error.issues[0]?.message}`);
  if (!manifestBytes(parsed.data).equals(bytes)) throw new Error('bundle manifest is not in canonical form');
  return parsed.data;
}

export async function hashFile(path: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

/** The manifest of a flat folder of regular files; anything else (sub-folders, links, odd names) is refused. */
export async function describeFolder(dir: string): Promise<Manifest> {
  const names = (await readdir(dir)).sort();
  const files: Manifest['files'] = [];
  for (const name of names) {
    const info = await lstat(join(dir, name));
    if (!info.isFile() || !FILE_NAME.test(name)) {
      throw new Error(`${join(dir, name)}: a bundle holds regular files named [A-Za-z0-9._-] only`);
    }
    files.push({ name, ...(await hashFile(join(dir, name))) });
  }
  if (files.length === 0) throw new Error(`${dir} is empty: nothing to publish`);
  return { bundle: 1, files };
}
