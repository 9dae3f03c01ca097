import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errorCode, parseListObjectsV2 } from './s3-xml';

describe('S3 XML answers', () => {
  it('reads a ListObjectsV2 page with its continuation token', () => {
    const xml = `<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>claws-abc</Name><Prefix>backups/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>
  <IsTruncated>true</IsTruncated>
  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
  <Contents><Key>backups/a&amp;b.tar</Key><LastModified>2024-05-01T10:00:00.000Z</LastModified>
    <ETag>&quot;abc&quot;</ETag><Size>1048576</Size><StorageClass>STANDARD</StorageClass></Contents>
  <Contents><Key>backups/c.tar</Key><LastModified>2024-05-02T10:00:00.000Z</LastModified>
    <Size>0</Size></Contents>
</ListBucketResult>`;
    assert.deepEqual(parseListObjectsV2(xml), {
      objects: [
        { key: 'backups/a&b.tar', bytes: 1048576, lastModified: new Date('2024-05-01T10:00:00.000Z') },
        { key: 'backups/c.tar', bytes: 0, lastModified: new Date('2024-05-02T10:00:00.000Z') },
      ],
      nextToken: '1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=',
    });
  });

  it('has no next token on the last page, and reads an empty one', () => {
    const xml = '<ListBucketResult><IsTruncated>false</IsTruncated><KeyCount>0</KeyCount></ListBucketResult>';
    assert.deepEqual(parseListObjectsV2(xml), { objects: [] });
  });

  it("reads an error's code", () => {
    assert.equal(errorCode('<Error><Code>NoSuchBucket</Code><Message>x</Message></Error>'), 'NoSuchBucket');
    assert.equal(errorCode(''), '');
  });
});
