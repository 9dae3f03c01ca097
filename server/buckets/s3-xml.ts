import type { ObjectInfo } from './types';

/**
 * The few S3 XML answers the store reads. S3's XML is flat and machine-written, so matching the
 * elements it names is enough, and spares a parser dependency.
 */

const decodeXml = (s: string) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCodePoint(Number(n)))
    .replace(/&#x([0-9a-fA-F]+);/g, (_, n: string) => String.fromCodePoint(parseInt(n, 16)))
    .replace(/&amp;/g, '&');

const element = (xml: string, name: string): string | undefined => {
  const m = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml);
  return m?.[1] === undefined ? undefined : decodeXml(m[1]);
};

/** The `<Code>` of an S3 error answer, or ''. */
export const errorCode = (xml: string) => element(xml, 'Code') ?? '';

export interface ListPage {
  objects: ObjectInfo[];
  /** Present when there is a next page to ask for. */
  nextToken?: string;
}

/** One page of a ListObjectsV2 answer. */
export function parseListObjectsV2(xml: string): ListPage {
  const objects: ObjectInfo[] = [];
  for (const m of xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
    const block = m[1] ?? '';
    const key = element(block, 'Key');
    if (key === undefined) continue;
    objects.push({
      key,
      bytes: Number(element(block, 'Size') ?? 0),
      lastModified: new Date(element(block, 'LastModified') ?? 0),
    });
  }
  const truncated = element(xml, 'IsTruncated') === 'true';
  const nextToken = truncated ? element(xml, 'NextContinuationToken') : undefined;
  return nextToken ? { objects, nextToken } : { objects };
}
