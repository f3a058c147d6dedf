// The client policy's size limits as the request reader takes them: one mapping for HTTP/1.1 connections and for
// HTTP/2 streams, whose heads are read by the same reader (see h2.ts).
import type { ClientPolicy } from '../config/model.ts';
import type { ReaderLimits } from '../http/reader.ts';

export function requestLimits(policy: ClientPolicy): Partial<ReaderLimits> {
  return {
    maxRequestLineBytes: policy.requestLine,
    maxTargetBytes: policy.requestLine,
    maxFieldBytes: policy.fieldSize,
    maxHeaders: policy.fields || Infinity,
    maxHeadBytes: policy.headSize,
    maxBodyBytes: policy.bodySize || Infinity,
  };
}
